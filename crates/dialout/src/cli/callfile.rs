//! `dialout callfile show`: read a call file (pending or archived) the way Asterisk does.

use std::fmt::Write as _;
use std::path::PathBuf;

use dialout_callfile::{Action, Outcome as Status, Parsed, parse};

use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Parse a call file (pending, or archived from outgoing_done) and print it.
    Show {
        /// The call file.
        file: PathBuf,
    },
}

pub fn run(cmd: Command, g: &Global) -> Outcome {
    match cmd {
        Command::Show { file } => show(file, g),
    }
}

fn show(file: PathBuf, g: &Global) -> Outcome {
    let bytes =
        std::fs::read(&file).map_err(|e| Failure::failed(format!("{}: {e}", file.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let parsed = parse(&text).map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
    if g.json {
        let mut v = serde_json::to_value(&parsed).map_err(Failure::failed)?;
        v["finished"] = parsed.is_finished().into();
        outln!("{v}");
    } else {
        out!("{}", human(&parsed));
    }
    Ok(())
}

fn human(p: &Parsed) -> String {
    let mut s = String::new();
    let c = &p.call;
    let mut line = |k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(s, "{k:<14}{v}");
    };
    line("channel", &c.channel());
    if let Some(v) = c.callerid() {
        line("callerid", &v);
    }
    for (n, v) in c.variables() {
        line("set", &format!("{n}={v}"));
    }
    if let Some(v) = c.account() {
        line("account", &v);
    }
    if let Some(v) = c.wait_time() {
        line("wait_time", &v);
    }
    if let Some(v) = c.retry_time() {
        line("retry_time", &v);
    }
    if let Some(v) = c.max_retries() {
        line("max_retries", &v);
    }
    if let Some(v) = c.codecs() {
        line("codecs", &v);
    }
    if let Some(v) = c.always_delete() {
        line("always_delete", &v);
    }
    if let Some(v) = c.early_media() {
        line("early_media", &v);
    }
    match &p.action {
        Action::Application { app, data } => {
            line("application", app);
            line("data", data);
        }
        Action::Context {
            context,
            extension,
            priority,
        } => {
            line("context", context);
            line("extension", extension);
            line("priority", priority);
        }
    }
    line("archive", &p.archive);
    for a in &p.attempts {
        line(
            "attempt",
            &format!("{:?} #{} pid {} at {}", a.kind, a.attempt, a.pid, a.at),
        );
    }
    let status = match p.status {
        Some(Status::Completed) => "Completed (answered)".to_string(),
        Some(Status::Expired) => "Expired (every attempt failed)".to_string(),
        Some(Status::Failed) => "Failed (file unreadable or invalid)".to_string(),
        None if p.archive && !p.attempts.is_empty() => {
            "not finished (no Status line yet)".to_string()
        }
        None => "pending".to_string(),
    };
    line("status", &status);
    for (n, l) in &p.ignored {
        line("ignored", &format!("line {n}: {l}"));
    }
    s
}
