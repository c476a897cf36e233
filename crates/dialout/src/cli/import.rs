//! `dialout import FILE.csv`: a campaign from a spreadsheet. Every row is checked first;
//! with bad rows and no `--skip-invalid` nothing is stored. Then the rows are stored queued
//! for the worker, in chunks of one transaction each, every row under an idempotency key
//! made of the file's hash and its line: importing the same file again stores nothing twice.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dialout_dialer::{ImportPlan, ImportRow, ImportSpec, JsonMap, RowError};
use serde_json::json;

use super::context::{Context, print_json, send_failure};
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
}

/// Where each value of a row comes from.
struct Columns {
    recipient: usize,
    content: Option<usize>,
    /// Template variable -> column.
    variables: Vec<(String, usize)>,
}

impl Columns {
    fn new(a: &Args, headers: &csv::StringRecord) -> Result<Self, Failure> {
        use super::csv_input::column;
        let recipient = column(headers, &a.recipient_column, "--recipient-column")?;
        if a.template.is_none() {
            let name = a.content_column.as_deref().unwrap_or("content");
            return Ok(Columns {
                recipient,
                content: Some(column(headers, name, "--content-column")?),
                variables: Vec::new(),
            });
        }
        let variables = if a.columns.is_empty() {
            headers
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != recipient)
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
            recipient,
            content: None,
            variables,
        })
    }

    fn row(&self, line: u64, r: &csv::StringRecord) -> ImportRow {
        let field = |i: usize| r.get(i).unwrap_or_default();
        let mut context = JsonMap::new();
        for (name, i) in &self.variables {
            context.insert(name.clone(), field(*i).into());
        }
        ImportRow {
            line,
            recipient: field(self.recipient).to_string(),
            content: self.content.map(field).unwrap_or_default().to_string(),
            context,
        }
    }
}

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
    let (mut reader, _) = super::csv_input::open(&a.file)?;
    let headers = reader
        .headers()
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?
        .clone();
    let columns = Columns::new(a, &headers)?;
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

/// Parses the whole file into chunks for [`chunks`]; the number of rows.
fn parse(
    reader: &mut csv::Reader<Box<dyn Read + Send>>,
    columns: &Columns,
    path: &Path,
    tx: std::sync::mpsc::SyncSender<Parsed>,
) -> Result<u64, Failure> {
    let (mut rows, mut errors, mut count) = (Vec::with_capacity(CHUNK), Vec::new(), 0u64);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                count += 1;
                let line = record.position().map_or(0, |p| p.line());
                rows.push(columns.row(line, &record));
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                count += 1;
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    line,
                    recipient: String::new(),
                    reason: "not UTF-8 text: save the file as UTF-8".into(),
                });
            }
            Err(e) => return Err(Failure::usage(format!("{}: {e}", path.display()))),
        }
        if rows.len() == CHUNK {
            let chunk = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK));
            let sent = (chunk, std::mem::take(&mut errors), reader.position().byte());
            if tx.send(sent).is_err() {
                // The consumer stopped on an error of its own.
                return Ok(count);
            }
        }
    }
    let _ = tx.send((rows, errors, reader.position().byte()));
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
        chunks(&a, &bar, |mut chunk, _| {
            chunk.retain(|r| !bad.contains(&r.line));
            if chunk.is_empty() {
                return Ok(());
            }
            let done = ctx
                .block_on(ctx.dialer.import_store(&plan, chunk))
                .map_err(send_failure)?;
            stored += done.stored;
            existing += done.existing;
            Ok(())
        })?;
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
            eprintln!("... and {} more bad rows", errors.len() - 20);
        }
        let verb = if a.dry_run {
            "checked (dry run, nothing stored)".to_string()
        } else if refused {
            "checked, nothing stored".to_string()
        } else {
            format!("stored {stored}, already stored {existing}")
        };
        outln!("{rows} rows: {} bad; {verb} in {secs:.1} s", errors.len());
    }
    if refused {
        let report = a
            .report
            .as_ref()
            .map(|p| format!(" (listed in {})", p.display()))
            .unwrap_or_default();
        return Err(Failure::usage(format!(
            "{} bad rows{report}: nothing stored; fix them or pass --skip-invalid",
            errors.len()
        )));
    }
    Ok(())
}
