//! `dialout dnc add|remove|list|check|import`: the do-not-call list.

use std::path::PathBuf;

use dialout_dialer::{DncEntry, Error};
use serde_json::json;

use super::context::{Context, parse_instant, print_json};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List a number: sends to it are refused, queued messages to it end in ERROR.
    Add(AddArgs),
    /// Take a number off the list.
    Remove { number: String },
    /// Every entry, expired ones too.
    List,
    /// Whether a number is listed now: exit 0 when it may be called, 3 when it is listed.
    Check { number: String },
    /// List the numbers of a file: one per line, or a column of a CSV file (--column).
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    pub number: String,
    /// Why (one line); shown when a send is refused.
    #[arg(long, value_name = "T")]
    pub reason: Option<String>,
    /// Listed until this instant (RFC 3339, or a duration from now: `30 days`); default: for good.
    #[arg(long, value_name = "INSTANT")]
    pub until: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// The file is CSV with a header line; the numbers are in this column.
    #[arg(long, value_name = "HEADER")]
    pub column: Option<String>,
    #[arg(long, value_name = "T")]
    pub reason: Option<String>,
    #[arg(long, value_name = "INSTANT")]
    pub until: Option<String>,
    /// List the readable numbers even when some are not; default: nothing is stored.
    #[arg(long = "skip-invalid")]
    pub skip_invalid: bool,
}

/// Exit 2 for what the caller got wrong (an unreadable number, a bad reason), 1 otherwise.
fn failure(e: Error) -> Failure {
    if e.is_caller_error() {
        Failure::usage(e)
    } else {
        Failure::failed(e)
    }
}

fn entry_line(e: &DncEntry) -> String {
    let mut line = e.number.to_string();
    if let Some(r) = &e.reason {
        line.push_str(&format!("  {r}"));
    }
    if let Some(u) = e.until {
        line.push_str(&format!("  (until {u})"));
    }
    line
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))
}

pub fn run(cmd: Command, g: &Global) -> Outcome {
    // Adding creates the database; anything else works on what is stored.
    let ctx = match cmd {
        Command::Add(_) | Command::Import(_) => Context::records(g)?,
        _ => Context::existing(g)?,
    };
    let dialer = &ctx.dialer;
    match cmd {
        Command::Add(a) => {
            let until = a
                .until
                .as_deref()
                .map(|u| parse_instant("--until", u, true))
                .transpose()?;
            let e = ctx
                .block_on(dialer.dnc_add(&a.number, a.reason, until))
                .map_err(failure)?;
            if g.json {
                return print_json(&to_json(&e)?);
            }
            outln!("listed {}", entry_line(&e));
        }
        Command::Remove { number } => {
            let removed = ctx.block_on(dialer.dnc_remove(&number)).map_err(failure)?;
            if g.json {
                return print_json(&json!({ "number": number, "removed": removed }));
            }
            if !removed {
                return Err(Failure::usage(format!(
                    "{number} is not on the do-not-call list"
                )));
            }
            outln!("removed {number}");
        }
        Command::List => {
            let all = ctx.block_on(dialer.dnc_list()).map_err(failure)?;
            if g.json {
                return print_json(&to_json(&all)?);
            }
            for e in &all {
                outln!("{}", entry_line(e));
            }
        }
        Command::Check { number } => {
            let c = ctx.block_on(dialer.dnc_check(&number)).map_err(failure)?;
            if g.json {
                print_json(&to_json(&c)?)?;
            } else if !c.listed {
                outln!("{} may be called", c.number);
            }
            if let Some(e) = c.entry.as_ref().filter(|_| c.listed) {
                return Err(Failure::refused(e.refusal()));
            }
        }
        Command::Import(a) => return import(&ctx, a, g),
    }
    Ok(())
}

fn import(ctx: &Context, a: ImportArgs, g: &Global) -> Outcome {
    let until = a
        .until
        .as_deref()
        .map(|u| parse_instant("--until", u, true))
        .transpose()?;
    let (numbers, lines) = read_numbers(&a)?;
    let done = ctx
        .block_on(
            ctx.dialer
                .dnc_import(numbers, a.reason, until, a.skip_invalid),
        )
        .map_err(failure)?;
    let invalid: Vec<_> = done
        .invalid
        .iter()
        .map(|(i, text, why)| json!({ "line": lines[*i], "number": text, "reason": why }))
        .collect();
    let stored = invalid.is_empty() || a.skip_invalid;
    if g.json {
        print_json(&json!({
            "added": done.added, "updated": done.updated, "invalid": invalid, "stored": stored,
        }))?;
    } else {
        for i in &invalid {
            eprintln!("line {}: {}: {}", i["line"], i["number"], i["reason"]);
        }
        outln!(
            "{} numbers added, {} updated{}",
            done.added,
            done.updated,
            if stored { "" } else { "; nothing stored" }
        );
    }
    if !stored {
        return Err(Failure::usage(format!(
            "{} unreadable numbers: nothing stored (pass --skip-invalid to list the others)",
            invalid.len()
        )));
    }
    Ok(())
}

/// The numbers of the file with the line each is on.
fn read_numbers(a: &ImportArgs) -> Result<(Vec<String>, Vec<u64>), Failure> {
    let (mut numbers, mut lines) = (Vec::new(), Vec::new());
    let Some(column) = &a.column else {
        let text = std::fs::read_to_string(&a.file)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", a.file.display())))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for (i, line) in text.lines().enumerate() {
            let n = line.trim();
            if !n.is_empty() && !n.starts_with('#') {
                numbers.push(n.to_string());
                lines.push(i as u64 + 1);
            }
        }
        return Ok((numbers, lines));
    };
    let (mut reader, _) = super::csv_input::open(&a.file)?;
    let headers = reader
        .headers()
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?
        .clone();
    let at = super::csv_input::column(&headers, column, "--column")?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let n = record.get(at).unwrap_or_default().trim();
                if !n.is_empty() {
                    numbers.push(n.to_string());
                    lines.push(record.position().map_or(0, |p| p.line()));
                }
            }
            Err(e) => return Err(Failure::usage(format!("{}: {e}", a.file.display()))),
        }
    }
    Ok((numbers, lines))
}
