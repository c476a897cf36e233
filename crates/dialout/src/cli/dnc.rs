//! `dialout dnc add|remove|list|check|import`: the do-not-call list.

use std::path::PathBuf;

use dialout_dialer::{DncEntry, Error};
use serde_json::json;

use super::context::{Context, parse_instant, print_json};
use super::csv_input::count;
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
    /// Store the readable numbers and skip the unreadable ones (they are still listed);
    /// default: one unreadable number and nothing is stored.
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
        for (i, text, why) in &done.invalid {
            eprintln!("line {}: {text}: {why}", lines[*i]);
        }
        outln!(
            "{} added, {} updated{}",
            count(done.added as u64, "number", "numbers"),
            done.updated,
            if stored { "" } else { "; nothing stored" }
        );
    }
    if !stored {
        return Err(Failure::usage(format!(
            "{}: nothing stored (fix {} or pass --skip-invalid to store the readable numbers \
             and skip {})",
            count(
                invalid.len() as u64,
                "unreadable number",
                "unreadable numbers"
            ),
            if invalid.len() == 1 { "it" } else { "them" },
            if invalid.len() == 1 {
                "this one"
            } else {
                "these"
            }
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
            if n.is_empty() || n.starts_with('#') {
                continue;
            }
            if numbers.is_empty() {
                refuse_csv_without_column(a, n)?;
            }
            numbers.push(n.to_string());
            lines.push(i as u64 + 1);
        }
        return Ok((numbers, lines));
    };
    let (mut reader, sep) = super::csv_input::open(&a.file)?;
    let headers = reader
        .headers()
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?
        .clone();
    reader.get_mut().record_line();
    let at = super::csv_input::column(&headers, column, "--column")?;
    let mut record = csv::StringRecord::new();
    let mut last_line = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = reader.get_mut().record_line();
                last_line = line;
                if record.len() > headers.len() {
                    let why = super::csv_input::too_many_fields(record.len(), headers.len(), sep);
                    return Err(Failure::usage(format!(
                        "{} line {line}: {why}; nothing stored",
                        a.file.display()
                    )));
                }
                let n = record.get(at).unwrap_or_default().trim();
                if !n.is_empty() {
                    numbers.push(n.to_string());
                    lines.push(line);
                }
            }
            Err(e) => return Err(Failure::usage(format!("{}: {e}", a.file.display()))),
        }
    }
    if reader.get_ref().ended_in_quotes() {
        return Err(Failure::usage(format!(
            "{} line {last_line}: {}; nothing stored",
            a.file.display(),
            super::csv_input::UNCLOSED_QUOTE
        )));
    }
    Ok((numbers, lines))
}

/// Without `--column` every line is a number; a first line with `,`, `;` or a tab (never in
/// a number) is a CSV header: name its columns, and the one that looks like phone numbers.
fn refuse_csv_without_column(a: &ImportArgs, first: &str) -> Result<(), Failure> {
    if !first.contains([',', ';', '\t']) {
        return Ok(());
    }
    let sep = if first.contains('\t') {
        b'\t'
    } else {
        super::csv_input::separator(first.as_bytes())
    };
    let cells = |line: &str| -> Vec<String> {
        line.split(sep as char)
            .map(|c| c.trim().trim_matches('"').trim().to_string())
            .collect()
    };
    let headers = cells(first);
    let hint = std::fs::read_to_string(&a.file)
        .ok()
        .and_then(|text| {
            let second = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .nth(1)?
                .to_string();
            let values = cells(&second);
            let phone = values.iter().position(|v| looks_like_a_number(v))?;
            headers.get(phone).cloned()
        })
        .unwrap_or_else(|| "HEADER".into());
    Err(Failure::usage(format!(
        "{}: the first line looks like a CSV header ({}), not a number: name the column \
         with the numbers, e.g. --column {}",
        a.file.display(),
        headers.join(", "),
        shell_word(&hint)
    ))
    .with_field(Some("--column".into())))
}

/// Digits with the usual punctuation of a phone number, at least six digits.
fn looks_like_a_number(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    digits >= 6
        && v.chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
}

fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        w.to_string()
    } else {
        format!("\"{w}\"")
    }
}
