//! `dialout import-pymess DATABASE_URL`: moves django-pymess 0.7's dialer templates and
//! messages (with their related objects) into dialout's database, reading pymess's
//! read-only. Rows that cannot be mapped are reported one by one and the rest is imported;
//! importing again stores nothing twice.

use std::collections::HashMap;

use dialout_dialer::pymess::{self, BackendMap, Mapping, Refused};
use dialout_dialer::{Imported, State};
use serde_json::json;

use super::context::{Context, load_config, print_json};
use super::{Failure, Global, Outcome};

/// Messages read, mapped and stored per transaction.
const BATCH: usize = 10_000;
/// Refused rows listed on stderr without --json (all of them are in the JSON summary).
const SHOWN: usize = 50;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Reads pymess_dialertemplate, pymess_dialermessage and pymess_dialermessagerelatedobject \
(related objects become app_label.model:ID through django_content_type). Each message keeps \
its state code, times, tag, extra data, extra sender data, template slug and link, priority \
and send attempts; its dialout id is a UUID made of its created_at and its pymess id. \
Messages not final in pymess are finished by dialout's worker (WAITING, ERROR_RETRY) or its \
status check (sent ones): see \"Moving from pymess\" in the README.

Exit status: 0 when every row was imported or was there already; 1 when some rows were \
refused (each is listed with its pymess id and why; the others were imported).")]
pub struct Args {
    /// The pymess database, opened read-only: sqlite:///path/to/db.sqlite3 or
    /// postgres://USER@HOST/DATABASE.
    #[arg(value_name = "DATABASE_URL")]
    pub url: String,
    /// Messages of pymess backend CLASS (its full Python path or class name) go to the
    /// configured backend NAME. Without it, DaktelaDialerBackend goes to the one backend of
    /// kind daktela, DummyDialerBackend to the one of kind dummy, and messages no backend
    /// handled yet to the default backend.
    #[arg(long = "backend", value_name = "CLASS=NAME")]
    pub backends: Vec<String>,
    /// Store pymess state CODE, which dialout has no state for (12 HANGUP_BY_DIALER, 13
    /// HANGUP_BY_CUSTOMER), as STATE (a name or code); without it such messages are refused.
    #[arg(long = "state", value_name = "CODE=STATE")]
    pub states: Vec<String>,
    /// The zone of times stored without one (SQLite; Django's TIME_ZONE when it had
    /// USE_TZ = False).
    #[arg(long = "time-zone", value_name = "ZONE", default_value = "UTC")]
    pub time_zone: String,
}

fn pairs(option: &str, given: &[String]) -> Result<Vec<(String, String)>, Failure> {
    given
        .iter()
        .map(|p| match p.split_once('=') {
            Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                Ok((a.trim().to_string(), b.trim().to_string()))
            }
            _ => Err(Failure::usage(format!(
                "{option}: expected {} such as {}, not {p:?}",
                if option == "--state" {
                    "CODE=STATE"
                } else {
                    "CLASS=NAME"
                },
                if option == "--state" {
                    "12=UNANSWERED"
                } else {
                    "DaktelaDialerBackend=daktela"
                }
            ))),
        })
        .collect()
}

fn states(given: &[String]) -> Result<HashMap<i64, State>, Failure> {
    pairs("--state", given)?
        .into_iter()
        .map(|(code, state)| {
            let code: i64 = code.parse().map_err(|_| {
                Failure::usage(format!("--state {code}={state}: {code:?} is not a number"))
            })?;
            let state: State = state
                .parse()
                .map_err(|e| Failure::usage(format!("--state {code}={state}: {e}")))?;
            Ok((code, state))
        })
        .collect()
}

/// A progress bar over the messages, on a terminal only and never with --json or --quiet.
fn progress(g: &Global, len: u64) -> indicatif::ProgressBar {
    let on = !g.json && !g.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !on {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "importing [{bar:40}] {pos}/{len} messages, {per_sec}, eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// A page of messages mapped: those to store, those refused, and how many rows it had.
type Mapped = (Vec<pymess::ImportedMessage>, Vec<Refused>, u64);

/// Reads every page after the other, maps it and hands it on; stops early when the writer
/// has stopped. The pages the writer is done with come back on `spent` to be freed here,
/// on the thread that allocated them.
fn read_pages(
    source: &mut dyn pymess::PymessSource,
    mapping: &Mapping,
    tx: std::sync::mpsc::SyncSender<Mapped>,
    spent: std::sync::mpsc::Receiver<Vec<pymess::ImportedMessage>>,
) -> Result<(), dialout_dialer::pymess::SourceError> {
    let mut after = i64::MIN;
    loop {
        while let Ok(page) = spent.try_recv() {
            drop(page);
        }
        let rows = source.messages_after(after, BATCH)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = match last {
            Ok(m) => m.id,
            Err(u) => u.id.parse().unwrap_or(i64::MAX),
        };
        let n = rows.len() as u64;
        let (messages, refused) = mapping.messages(rows);
        if tx.send((messages, refused, n)).is_err() {
            return Ok(());
        }
    }
}

/// Per table: imported, already there, refused.
#[derive(Default)]
struct Tally {
    templates: Imported,
    messages: Imported,
    refused: Vec<Refused>,
}

impl Tally {
    fn refused_in(&self, table: &str) -> usize {
        self.refused.iter().filter(|r| r.table == table).count()
    }
}

pub fn run(a: Args, g: &Global) -> Outcome {
    let config = load_config(g)?;
    let backends = BackendMap::from_config(&config, &pairs("--backend", &a.backends)?)
        .map_err(Failure::usage)?;
    let states = states(&a.states)?;
    let zone = jiff::tz::TimeZone::get(&a.time_zone)
        .map_err(|e| Failure::usage(format!("--time-zone {:?}: {e}", a.time_zone)))?;
    let shown_url = pymess::redact_url(&a.url);
    let cannot_read = |e: &dyn std::fmt::Display| {
        Failure::failed(format!("cannot read the pymess database {shown_url}: {e}"))
    };
    let mut source = pymess::open_source(&a.url, zone).map_err(|e| cannot_read(&e))?;
    let ctx = Context::records(g)?;
    let started = std::time::Instant::now();
    let mut tally = Tally::default();

    let templates = source.templates().map_err(|e| cannot_read(&e))?;
    let slugs: Vec<String> = templates
        .iter()
        .filter_map(|t| t.as_ref().ok().map(|t| t.slug.clone()))
        .collect();
    let (done, refused) = ctx
        .block_on(ctx.dialer.import_pymess_templates(templates))
        .map_err(Failure::failed)?;
    tally.templates = done;
    tally.refused.extend(refused);
    let mapping = Mapping {
        backends,
        states,
        default_region: config.default_region.clone(),
        templates: ctx
            .block_on(ctx.dialer.template_ids(slugs))
            .map_err(Failure::failed)?,
    };

    let total = source.count().map_err(|e| cannot_read(&e))?;
    let bar = progress(g, total);
    // Pages are read and mapped on a thread of their own, a page or two ahead of the writes.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Mapped>(2);
    let (give_back, spent) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_pages(source.as_mut(), &mapping, tx, spent));
        let mut outcome = Ok(());
        for (messages, refused, n) in rx.iter() {
            tally.refused.extend(refused);
            match ctx.block_on(ctx.dialer.import_pymess_messages(messages)) {
                Ok((done, page)) => {
                    tally.messages.imported += done.imported;
                    tally.messages.existing += done.existing;
                    // Freed by the reader (or here, once it has finished).
                    let _ = give_back.send(page);
                }
                Err(e) => {
                    outcome = Err(Failure::failed(e));
                    break;
                }
            }
            bar.inc(n);
        }
        drop(rx);
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        outcome?;
        read.map_err(|e| cannot_read(&e))
    })?;
    bar.finish_and_clear();
    report(g, &tally, &shown_url, started.elapsed().as_secs_f64())?;
    if tally.refused.is_empty() {
        Ok(())
    } else {
        let listed = if g.json {
            "in the JSON summary"
        } else {
            "above"
        };
        Err(Failure::failed(format!(
            "{} pymess rows refused (listed {listed}, with their ids and why); the rest was imported",
            tally.refused.len()
        )))
    }
}

fn report(g: &Global, t: &Tally, url: &str, secs: f64) -> Outcome {
    let table = |done: &Imported, name: &str| json!({ "imported": done.imported, "existing": done.existing, "refused": t.refused_in(name) });
    if g.json {
        return print_json(&json!({
            "source": url,
            "tables": {
                pymess::TEMPLATES: table(&t.templates, pymess::TEMPLATES),
                pymess::MESSAGES: table(&t.messages, pymess::MESSAGES),
            },
            "refused": t.refused,
            "seconds": (secs * 1000.0).round() / 1000.0,
        }));
    }
    for r in t.refused.iter().take(SHOWN) {
        eprintln!("refused: {} {}: {}", r.table, r.id, r.reason);
    }
    if t.refused.len() > SHOWN {
        eprintln!(
            "... and {} more refused rows (--json lists them all)",
            t.refused.len() - SHOWN
        );
    }
    for (name, done) in [
        (pymess::TEMPLATES, &t.templates),
        (pymess::MESSAGES, &t.messages),
    ] {
        outln!(
            "{name}: {} imported, {} already there, {} refused",
            done.imported,
            done.existing,
            t.refused_in(name)
        );
    }
    outln!("in {secs:.1} s");
    Ok(())
}
