//! `dialout import FILE.csv`: a campaign from a spreadsheet. Every row is checked first;
//! with bad rows and no `--skip-invalid` nothing is stored. Then the rows are stored queued
//! for the worker, in chunks of one transaction each, every row under an idempotency key
//! made of the file's hash and its line: importing the same file again stores nothing twice.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dialout_dialer::{
    ImportPlan, ImportRow, ImportSpec, ImportStored, JsonMap, RowError, SendError,
};
use serde_json::json;

use super::context::{Context, print_json, send_failure};
use super::csv_input::{Input, count};
use super::{Failure, Global, Outcome};

/// Rows per check and per stored transaction.
const CHUNK: usize = 10_000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CSV file, with a header line.
    pub file: PathBuf,
    /// Render each row from this template; its variables are the row's columns.
    #[arg(long, value_name = "SLUG", conflicts_with = "content_column")]
    pub template: Option<String>,
    /// The column with the text to read aloud (default: `content`).
    #[arg(long = "content-column", value_name = "C")]
    pub content_column: Option<String>,
    /// The column with the phone number.
    #[arg(
        long = "recipient-column",
        value_name = "C",
        default_value = "recipient"
    )]
    pub recipient_column: String,
    /// Template variable NAME from column HEADER; repeat for more. Without any, every
    /// column but the recipient's is a variable of its own name.
    #[arg(long = "column", value_name = "NAME=HEADER", requires = "template")]
    pub columns: Vec<String>,
    /// A mark stored with every message of the file.
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
    /// Check every row and report; store nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Store the good rows even when some are bad (they are reported).
    #[arg(long = "skip-invalid")]
    pub skip_invalid: bool,
    /// Write the bad rows here (CSV: line, recipient, reason).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Every row's gather and machine policy (a row's `gather` and `machine` columns
    /// replace them).
    #[command(flatten)]
    pub ask: super::interactive::Ask,
}

/// Where each value of a row comes from.
struct Columns {
    /// Fields in the header line: a row with more is bad (a separator that should have been
    /// quoted cut a field in two).
    width: usize,
    sep: u8,
    recipient: usize,
    content: Option<usize>,
    /// Template variable -> column.
    variables: Vec<(String, usize)>,
    /// The `gather` and `machine` columns, when the header has them.
    gather: Option<usize>,
    machine: Option<usize>,
}

impl Columns {
    fn new(a: &Args, headers: &csv::StringRecord, sep: u8) -> Result<Self, Failure> {
        use super::csv_input::column;
        let recipient = column(headers, &a.recipient_column, "--recipient-column")?;
        let named = |n: &str| headers.iter().position(|h| h.trim() == n);
        let (gather, machine) = (named(GATHER), named(MACHINE));
        if a.template.is_none() {
            let name = a.content_column.as_deref().unwrap_or("content");
            return Ok(Columns {
                width: headers.len(),
                sep,
                recipient,
                content: Some(column(headers, name, "--content-column")?),
                variables: Vec::new(),
                gather,
                machine,
            });
        }
        let variables = if a.columns.is_empty() {
            headers
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != recipient && Some(*i) != gather && Some(*i) != machine)
                .map(|(i, h)| (h.trim().to_string(), i))
                .collect()
        } else {
            a.columns
                .iter()
                .map(|pair| {
                    let (name, header) = pair.split_once('=').ok_or_else(|| {
                        Failure::usage(format!("--column: expected NAME=HEADER, got {pair:?}"))
                    })?;
                    Ok((
                        name.trim().to_string(),
                        column(headers, header, "--column")?,
                    ))
                })
                .collect::<Result<_, Failure>>()?
        };
        Ok(Columns {
            width: headers.len(),
            sep,
            recipient,
            content: None,
            variables,
            gather,
            machine,
        })
    }

    fn row(&self, line: u64, r: &csv::StringRecord) -> Result<ImportRow, RowError> {
        let field = |i: usize| r.get(i).unwrap_or_default();
        if r.len() > self.width {
            return Err(RowError {
                line,
                recipient: field(self.recipient).to_string(),
                reason: super::csv_input::too_many_fields(r.len(), self.width, self.sep),
            });
        }
        let mut context = JsonMap::new();
        for (name, i) in &self.variables {
            context.insert(name.clone(), field(*i).into());
        }
        Ok(ImportRow {
            line,
            recipient: field(self.recipient).to_string(),
            content: self.content.map(field).unwrap_or_default().to_string(),
            context,
            gather: self.gather.map(|i| field(i).to_string()),
            machine: self.machine.map(|i| field(i).to_string()),
        })
    }
}

/// Columns of an interactive call, read in either mode (never template variables).
const GATHER: &str = "gather";
const MACHINE: &str = "machine";

/// The file's SHA-256 (hex, first 128 bits): the idempotency keys' prefix.
fn file_hash(path: &Path) -> Result<String, Failure> {
    use sha2::Digest;
    let cannot = |e: std::io::Error| Failure::usage(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(cannot)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A progress bar over the file's bytes, on a terminal only and never with --json.
fn progress(g: &Global, path: &Path, what: &'static str) -> indicatif::ProgressBar {
    let on = !g.json && !g.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !on {
        return indicatif::ProgressBar::hidden();
    }
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{msg:9} [{bar:40}] {percent:>3}% {binary_bytes}/{binary_total_bytes} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what);
    bar
}

/// Reads the file in chunks of rows, handing each to `each`; rows that cannot be read
/// (not UTF-8, say) are errors of their own. The file is parsed on a thread of its own,
/// a chunk or two ahead of `each`.
fn chunks(
    a: &Args,
    bar: &indicatif::ProgressBar,
    mut each: impl FnMut(Vec<ImportRow>, &mut Vec<RowError>) -> Result<(), Failure>,
) -> Result<(u64, Vec<RowError>), Failure> {
    let (mut reader, sep) = super::csv_input::open(&a.file)?;
    let headers = reader
        .headers()
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?
        .clone();
    reader.get_mut().record_line();
    let columns = Columns::new(a, &headers, sep)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Parsed>(2);
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || parse(&mut reader, &columns, &a.file, tx));
        let mut errors = Vec::new();
        let mut outcome = Ok(());
        for (rows, unreadable, byte) in rx.iter() {
            errors.extend(unreadable);
            bar.set_position(byte);
            if outcome.is_ok() && !rows.is_empty() {
                outcome = each(rows, &mut errors);
            }
            if outcome.is_err() {
                break;
            }
        }
        drop(rx);
        let count = parser
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        outcome?;
        bar.finish_and_clear();
        Ok((count, errors))
    })
}

/// A chunk of rows, the rows of it that could not be read, and how far into the file it ends.
type Parsed = (Vec<ImportRow>, Vec<RowError>, u64);

/// Parses the whole file into chunks for [`chunks`]; the number of rows. The last row read
/// is held back until the next is read: at the end of the file it is bad if the file ended
/// inside its quotes.
fn parse(
    reader: &mut csv::Reader<Input>,
    columns: &Columns,
    path: &Path,
    tx: std::sync::mpsc::SyncSender<Parsed>,
) -> Result<u64, Failure> {
    let (mut rows, mut errors, mut count) = (Vec::with_capacity(CHUNK + 1), Vec::new(), 0u64);
    let mut record = csv::StringRecord::new();
    // Whether the last record read is the last of `rows` (else a bad row).
    let mut last_in_rows = false;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                count += 1;
                let line = reader.get_mut().record_line();
                last_in_rows = match columns.row(line, &record) {
                    Ok(row) => {
                        rows.push(row);
                        true
                    }
                    Err(bad) => {
                        errors.push(bad);
                        false
                    }
                };
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                count += 1;
                let line = reader.get_mut().record_line();
                errors.push(RowError {
                    line,
                    recipient: String::new(),
                    reason: "not UTF-8 text: save the file as UTF-8".into(),
                });
                last_in_rows = false;
            }
            Err(e) => return Err(Failure::usage(format!("{}: {e}", path.display()))),
        }
        if rows.len() > CHUNK {
            let held = rows.pop();
            let chunk = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK + 1));
            rows.extend(held);
            let sent = (
                chunk,
                std::mem::take(&mut errors),
                reader.get_ref().bytes_read(),
            );
            if tx.send(sent).is_err() {
                // The consumer stopped on an error of its own.
                return Ok(count);
            }
        }
    }
    if reader.get_ref().ended_in_quotes() {
        if last_in_rows && let Some(row) = rows.pop() {
            errors.push(RowError {
                line: row.line,
                recipient: row.recipient,
                reason: super::csv_input::UNCLOSED_QUOTE.into(),
            });
        } else if let Some(bad) = errors.last_mut() {
            bad.reason = format!("{}; {}", bad.reason, super::csv_input::UNCLOSED_QUOTE);
        }
    }
    let _ = tx.send((rows, errors, reader.get_ref().bytes_read()));
    Ok(count)
}

fn write_report(path: &Path, errors: &[RowError]) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::failed(format!("cannot write the report {}: {e}", path.display()))
    };
    // Phone numbers: readable by their owner only.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| cannot(&e))?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(["line", "recipient", "reason"])
        .map_err(|e| cannot(&e))?;
    for e in errors {
        w.write_record([e.line.to_string().as_str(), &e.recipient, &e.reason])
            .map_err(|e| cannot(&e))?;
    }
    w.flush().map_err(|e| cannot(&e))
}

pub fn run(a: Args, g: &Global) -> Outcome {
    let source_hash = file_hash(&a.file)?;
    let ctx = Context::open(g)?;
    let spec = ImportSpec {
        template: a.template.clone(),
        tag: a.tag.clone(),
        source_hash,
        gather: a.ask.spec()?,
        machine: a.ask.machine,
    };
    let plan: Arc<ImportPlan> = Arc::new(
        ctx.block_on(ctx.dialer.import_plan(spec))
            .map_err(send_failure)?,
    );
    let started = std::time::Instant::now();

    let bar = progress(g, &a.file, "checking");
    let (rows, mut errors) = chunks(&a, &bar, |chunk, errors| {
        let found = ctx
            .block_on(ctx.dialer.import_check(&plan, chunk))
            .map_err(send_failure)?;
        errors.extend(found);
        Ok(())
    })?;
    errors.sort_by_key(|e| e.line);
    if let Some(path) = &a.report {
        write_report(path, &errors)?;
    }
    let refused = !errors.is_empty() && !a.skip_invalid;
    let (mut stored, mut existing) = (0usize, 0usize);
    if !refused && !a.dry_run {
        let bad: HashSet<u64> = errors.iter().map(|e| e.line).collect();
        let bar = progress(g, &a.file, "storing");
        // A chunk's messages are made while the chunk before is stored (in its own
        // transaction, on a thread of the store's): at most one chunk waits, and a chunk is
        // stored only after the one before it is.
        let mut storing: Option<tokio::task::JoinHandle<Result<ImportStored, SendError>>> = None;
        let mut tally = |done: Result<ImportStored, SendError>| -> Result<(), Failure> {
            let done = done.map_err(send_failure)?;
            stored += done.stored;
            existing += done.existing;
            Ok(())
        };
        let wait = |handle: tokio::task::JoinHandle<_>| {
            ctx.block_on(handle)
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        };
        // The task runs whenever the runtime runs (in `block_on`, as the next chunk is made).
        let runtime = ctx.block_on(async { tokio::runtime::Handle::current() });
        let read = chunks(&a, &bar, |mut chunk, _| {
            chunk.retain(|r| !bad.contains(&r.line));
            if chunk.is_empty() {
                return Ok(());
            }
            let made = ctx.block_on(ctx.dialer.import_prepare(&plan, chunk));
            if let Some(before) = storing.take() {
                tally(wait(before))?;
            }
            let (dialer, batch) = (ctx.dialer.clone(), made.map_err(send_failure)?);
            storing = Some(runtime.spawn(async move { dialer.import_insert(batch).await }));
            Ok(())
        });
        if let Some(last) = storing.take() {
            tally(wait(last))?;
        }
        read?;
    }
    let secs = started.elapsed().as_secs_f64();
    if g.json {
        print_json(&json!({
            "rows": rows,
            "invalid": errors.len(),
            "stored": stored,
            "existing": existing,
            "dry_run": a.dry_run,
            "seconds": (secs * 1000.0).round() / 1000.0,
            "errors": errors,
        }))?;
    } else {
        for e in errors.iter().take(20) {
            eprintln!("line {}: {}", e.line, e.reason);
        }
        if errors.len() > 20 {
            eprintln!(
                "... and {} more",
                count(errors.len() as u64 - 20, "bad row", "bad rows")
            );
        }
        let verb = if a.dry_run {
            "checked (dry run, nothing stored)".to_string()
        } else if refused {
            "checked, nothing stored".to_string()
        } else {
            format!("stored {stored}, already stored {existing}")
        };
        outln!(
            "{}: {} bad; {verb} in {secs:.1} s",
            count(rows, "row", "rows"),
            errors.len()
        );
    }
    if refused {
        let report = a
            .report
            .as_ref()
            .map(|p| format!(" (listed in {})", p.display()))
            .unwrap_or_default();
        return Err(Failure::usage(format!(
            "{}{report}: nothing stored; fix {} or pass --skip-invalid to store the good rows",
            count(errors.len() as u64, "bad row", "bad rows"),
            if errors.len() == 1 { "it" } else { "them" }
        )));
    }
    Ok(())
}
