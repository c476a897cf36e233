//! What the dialer commands share: configuration, the store, the `Dialer`, an async runtime,
//! parsing of instants and `KEY=VALUE` pairs, and printing.

use std::future::Future;

use dialout_dialer::{Config, Dialer, Duration, InvalidInput, OpenError, SendError, TemplateError};
use jiff::Timestamp;
use serde_json::Value;

use super::{Failure, Global};

/// Reads the configuration (`--config`, `DIALOUT_CONFIG`, or `./dialout.toml` when present),
/// the environment overrides, then `--database`. A bad configuration is invalid input (2).
pub fn load_config(g: &Global) -> Result<Config, Failure> {
    Config::resolve(g.config.as_deref(), g.database.as_deref()).map_err(Failure::usage)
}

pub struct Context {
    pub dialer: Dialer,
    // Declared last: dropped after the store, outside any async context.
    runtime: tokio::runtime::Runtime,
}

impl Context {
    /// The database and every configured backend.
    pub fn open(g: &Global) -> Result<Context, Failure> {
        let config = load_config(g)?;
        Self::with(Dialer::open(&config))
    }

    /// The database only, for commands that read or edit stored data (`messages list`,
    /// `template ...`): they work even where a backend could not start (no espeak-ng, no
    /// spool directory).
    pub fn records(g: &Global) -> Result<Context, Failure> {
        let config = load_config(g)?;
        Self::with(Dialer::open_without_backends(&config))
    }

    /// As [`records`](Self::records), for a command that works on stored data (lists,
    /// shows, edits or removes): a SQLite file that does not exist is an error saying where
    /// it looked, never created empty.
    pub fn existing(g: &Global) -> Result<Context, Failure> {
        let config = load_config(g)?;
        must_exist(&config)?;
        Self::with(Dialer::open_without_backends(&config))
    }

    /// As [`open`](Self::open) (with the backends), when the database must exist already.
    pub fn open_existing(g: &Global) -> Result<Context, Failure> {
        let config = load_config(g)?;
        must_exist(&config)?;
        Self::with(Dialer::open(&config))
    }

    fn with(dialer: Result<Dialer, OpenError>) -> Result<Context, Failure> {
        let dialer = dialer.map_err(|e| {
            if e.is_config() {
                Failure::usage(e)
            } else {
                Failure::failed(e)
            }
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
        Ok(Context { dialer, runtime })
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

/// A SQLite database a command would only read must be there: opening it would create an
/// empty one in the wrong directory and answer "no message" as if that were the truth.
fn must_exist(config: &Config) -> Result<(), Failure> {
    let url = config.database_url();
    let Some(path) = config.sqlite_file() else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let source = if config.database_url.is_some() {
        format!("database_url {url:?}")
    } else {
        format!("the default database_url {url:?}, relative to the current directory")
    };
    Err(Failure::usage(format!(
        "no database at {} ({source}): nothing has been stored there. Run dialout in the directory that holds your dialout.db, or name it with --database sqlite:///path/to/dialout.db (or DIALOUT_DATABASE_URL, or database_url in dialout.toml)",
        shown.display()
    )))
}

/// Exit codes for `send` and `send-template`: 2 invalid input, 3 refused, 1 the rest.
pub fn send_failure(e: SendError) -> Failure {
    match e {
        SendError::Invalid(i) => {
            let field = cli_field(&i).map(str::to_string);
            Failure::usage(i).with_field(field)
        }
        SendError::Refused(r) => Failure::refused(format!("not sent: {r}")),
        SendError::NotAllowed(r) => Failure::refused(format!("not sent: {r}")),
        other => Failure::failed(other),
    }
}

/// The argument of `send`/`send-template` an invalid input is about, as the user typed it
/// (`--json` reports it as `field`).
fn cli_field(e: &InvalidInput) -> Option<&'static str> {
    Some(match e {
        InvalidInput::Recipient(_) => "RECIPIENT",
        InvalidInput::Content(_) => "CONTENT",
        InvalidInput::Tag(_) => "--tag",
        InvalidInput::Related(_) => "--related",
        InvalidInput::Priority(_) => "--priority",
        InvalidInput::Backend { .. } => "--backend",
        InvalidInput::Json { field, .. } if field.contains("context") => "--context",
        InvalidInput::Json { .. } => "--extra",
        InvalidInput::IdempotencyKey(_) | InvalidInput::IdempotencyConflict { .. } => {
            "--idempotency-key"
        }
        InvalidInput::TimeZone(_) => "--time-zone",
        InvalidInput::UnknownTemplate(_) | InvalidInput::Template(TemplateError::Slug(_)) => "SLUG",
        InvalidInput::Template(_) => "--context",
        other => return super::interactive::cli_field(other),
    })
}

/// `--priority`: a number, said in words when it is not one.
pub fn parse_priority(text: &str) -> Result<i64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("expected 1 (highest), 2 or 3 (the default), not {text:?}"))
}

/// An RFC 3339 instant (`2026-05-01T09:00:00Z`, `2026-05-01T11:00:00+02:00`) or a duration
/// (`90s`, `15m`, `2h`, `1 day`, `P1D`) counted from now, `forward` into the future or back.
/// `option` names the flag in the error.
pub fn parse_instant(option: &str, text: &str, forward: bool) -> Result<Timestamp, Failure> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    // A leading '-' reverses the direction: `--at -5m` is five minutes ago.
    let (body, forward) = match text.trim().strip_prefix('-') {
        Some(rest) => (rest, !forward),
        None => (text.trim(), forward),
    };
    let d: Duration = body.parse().map_err(|_| {
        Failure::usage(format!(
            "{option}: invalid instant {text:?}: expected RFC 3339 such as 2026-05-01T09:00:00Z, or a duration such as 15m, 2h or 1 day"
        ))
    })?;
    let now = Timestamp::now();
    let t = if forward {
        now.checked_add(d.as_signed())
    } else {
        now.checked_sub(d.as_signed())
    };
    t.map_err(|e| Failure::usage(format!("{option}: {text:?}: {e}")))
}

/// `KEY=VALUE` pairs (string values) over an optional JSON object.
pub fn key_values(
    what: &str,
    pairs: &[String],
    json: Option<&str>,
) -> Result<Option<Value>, Failure> {
    let mut map = match json {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(Failure::usage(format!(
                    "invalid --{what}-json: expected a JSON object"
                )));
            }
            Err(e) => return Err(Failure::usage(format!("invalid --{what}-json: {e}"))),
        },
        None => serde_json::Map::new(),
    };
    for pair in pairs {
        match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                map.insert(k.to_string(), Value::String(v.to_string()));
            }
            _ => {
                return Err(Failure::usage(format!(
                    "invalid --{what} {pair:?}: expected KEY=VALUE"
                )));
            }
        }
    }
    Ok((json.is_some() || !pairs.is_empty()).then_some(Value::Object(map)))
}

pub fn print_json(v: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}
