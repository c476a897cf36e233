//! `dialout call`: build a call file from options, then spool it (or print it).
//!
//! Options are taken as text and checked here so that a bad value gives exit code 2 and one
//! line naming the option, before anything is written.

use std::path::PathBuf;

use dialout_callfile::{Action, BuildError, Call, CallFile, Field, LineLimit, SpoolError};
use dialout_dialer::Duration;
use jiff::Timestamp;

use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Channel to dial, Tech/Destination (e.g. SIP/flowroute/18002223333).
    #[arg(long, value_name = "TECH/DEST")]
    pub channel: Option<String>,
    /// Application to run on answer (with --data).
    #[arg(long, value_name = "APP")]
    pub application: Option<String>,
    /// Data (arguments) of the application.
    #[arg(long, value_name = "DATA")]
    pub data: Option<String>,
    /// Dialplan context to enter on answer (with --extension, --priority).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Extension in the context (default s).
    #[arg(long, value_name = "EXTEN")]
    pub extension: Option<String>,
    /// Priority in the extension (default 1).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub priority: Option<String>,
    /// Caller id, kept as given: "Name" <number>, or a number.
    #[arg(long, value_name = "CALLERID")]
    pub callerid: Option<String>,
    /// Channel variable NAME=VALUE (repeatable; order kept).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Account code (reaches the CDR).
    #[arg(long, value_name = "CODE")]
    pub account: Option<String>,
    /// Seconds to ring per attempt (≥ 1): 45, or a duration such as 1m.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub wait_time: Option<String>,
    /// Seconds between attempts (≥ 1): 300, or a duration such as 5m.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub retry_time: Option<String>,
    /// Retries after the first attempt (≥ 0).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_retries: Option<String>,
    /// Codecs allowed for the call, comma-separated (e.g. ulaw,alaw).
    #[arg(long, value_name = "LIST")]
    pub codecs: Option<String>,
    /// yes or no: delete the file after the call (Asterisk's default: yes).
    #[arg(long, value_name = "yes|no")]
    pub always_delete: Option<String>,
    /// Treat early media as an answer (context action only).
    #[arg(long)]
    pub early_media: bool,
    /// Keep the finished file in outgoing_done with its Status line.
    #[arg(long)]
    pub archive: bool,
    /// Dial at this instant: RFC 3339 with an offset (2030-12-01T01:00:00+01:00).
    #[arg(long, value_name = "INSTANT")]
    pub at: Option<String>,
    /// Dial after this long (90s, 15m, 1h30m, 1 day, 2d, P1D; a day is 24 hours).
    #[arg(long = "in", value_name = "DURATION", allow_hyphen_values = true)]
    pub in_: Option<String>,
    /// Owner of the spooled file (the Asterisk user; needs root or CAP_CHOWN).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Group of the spooled file (default: the user's group).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// File mode, octal (default 600; group bits allowed, never world).
    #[arg(long, value_name = "OCTAL")]
    pub mode: Option<String>,
    /// Asterisk's spool directory.
    #[arg(long, env = "DIALOUT_SPOOL_DIR", value_name = "DIR", default_value = dialout_callfile::DEFAULT_SPOOL_DIR)]
    pub spool_dir: PathBuf,
    /// Staging directory, on the spool directory's filesystem (default: SPOOL_DIR/.dialout-staging).
    #[arg(long, value_name = "DIR")]
    pub tempdir: Option<PathBuf>,
    /// File name in the spool directory (default: a unique name).
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
    /// Longest line: 255 (any Asterisk) or 1022 (Asterisk ≥ 13.15).
    #[arg(long, value_name = "255|1022")]
    pub max_line: Option<String>,
    /// Allow dialplan functions as --var names (CDR(userfield)=x); Asterisk evaluates them.
    #[arg(long)]
    pub allow_set_functions: bool,
    /// Write the call file to stdout and spool nothing.
    #[arg(long)]
    pub print: bool,
}

fn option_of(field: Field) -> &'static str {
    match field {
        Field::Channel => "--channel",
        Field::CallerId => "--callerid",
        Field::Variable => "--var",
        Field::Account => "--account",
        Field::WaitTime => "--wait-time",
        Field::RetryTime => "--retry-time",
        Field::MaxRetries => "--max-retries",
        Field::Codecs => "--codecs",
        Field::AlwaysDelete => "--always-delete",
        Field::EarlyMedia => "--early-media",
        Field::Action => "--application/--context",
        Field::Application => "--application",
        Field::Data => "--data",
        Field::Context => "--context",
        Field::Extension => "--extension",
        Field::Priority => "--priority",
        Field::Archive => "--archive",
        Field::Filename => "--filename",
        Field::Mode => "--mode",
        Field::User => "--user",
        Field::Group => "--group",
        Field::SpoolDir => "--spool-dir",
        Field::StagingDir => "--tempdir",
    }
}

fn usage(option: &str, reason: impl std::fmt::Display) -> Failure {
    Failure::usage(format!(
        "{option}: {}",
        reason.to_string().replace('\n', " ")
    ))
}

fn build_failure(e: BuildError) -> Failure {
    match e {
        BuildError::Missing(f) => usage(option_of(f), "required"),
        BuildError::Invalid(v) => usage(option_of(v.field), v.reason),
    }
}

/// A call-file time: whole seconds, written as a number (`45`) or a duration (`1m`).
fn seconds(option: &str, v: &Option<String>) -> Result<Option<u32>, Failure> {
    v.as_deref()
        .map(|s| {
            let d = Duration::parse_or_seconds(s).map_err(|e| usage(option, e))?;
            d.whole_secs()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| usage(option, format!("{s:?} is not a whole number of seconds")))
        })
        .transpose()
}

fn number(option: &str, v: &Option<String>) -> Result<Option<u32>, Failure> {
    v.as_deref()
        .map(|s| {
            s.parse::<u32>().map_err(|_| {
                if s.trim_start().starts_with('-') {
                    usage(option, format!("{s:?} is negative"))
                } else {
                    usage(option, format!("{s:?} is not a whole number"))
                }
            })
        })
        .transpose()
}

fn schedule(a: &Args) -> Result<Option<Timestamp>, Failure> {
    match (&a.at, &a.in_) {
        (Some(_), Some(_)) => Err(usage("--at", "give --at or --in, not both")),
        (Some(at), None) => at.parse::<Timestamp>().map(Some).map_err(|e| {
            usage("--at", format!("{at:?} is not an RFC 3339 instant with an offset (2030-12-01T01:00:00+01:00): {e}"))
        }),
        (None, Some(d)) => {
            // Days count as 24 hours (an interval, not a calendar date).
            let dur: Duration = d.parse().map_err(|e| usage("--in", e))?;
            Timestamp::now()
                .checked_add(dur.as_signed())
                .map(Some)
                .map_err(|e| usage("--in", e))
        }
        (None, None) => Ok(None),
    }
}

fn build(a: &Args) -> Result<CallFile, Failure> {
    let channel = a
        .channel
        .as_deref()
        .ok_or_else(|| usage("--channel", "required"))?;
    let mut b = Call::builder().channel(channel);
    if let Some(v) = &a.callerid {
        b = b.callerid(v);
    }
    for v in &a.vars {
        let (n, val) = v
            .split_once('=')
            .ok_or_else(|| usage("--var", format!("{v:?} is not NAME=VALUE")))?;
        b = b.var(n, val);
    }
    if let Some(v) = &a.account {
        b = b.account(v);
    }
    if let Some(v) = seconds("--wait-time", &a.wait_time)? {
        b = b.wait_time(v);
    }
    if let Some(v) = seconds("--retry-time", &a.retry_time)? {
        b = b.retry_time(v);
    }
    if let Some(v) = number("--max-retries", &a.max_retries)? {
        b = b.max_retries(v);
    }
    if let Some(v) = &a.codecs {
        b = b.codecs(v);
    }
    if let Some(v) = &a.always_delete {
        b = b.always_delete(match v.as_str() {
            "yes" => true,
            "no" => false,
            _ => return Err(usage("--always-delete", format!("{v:?} is not yes or no"))),
        });
    }
    if a.early_media {
        b = b.early_media(true);
    }
    let call = b.build().map_err(build_failure)?;

    let action = match (&a.application, &a.context) {
        (Some(_), Some(_)) => {
            return Err(usage(
                "--application",
                "give --application or --context, not both",
            ));
        }
        (None, None) => return Err(usage("--application/--context", "one of them is required")),
        (Some(app), None) => {
            if a.extension.is_some() || a.priority.is_some() {
                return Err(usage(
                    "--extension",
                    "--extension and --priority go with --context",
                ));
            }
            Action::application(app, a.data.clone().unwrap_or_default())
        }
        (None, Some(ctx)) => {
            if a.data.is_some() {
                return Err(usage("--data", "--data goes with --application"));
            }
            let priority = number("--priority", &a.priority)?.unwrap_or(1);
            Action::context(
                ctx,
                a.extension.clone().unwrap_or_else(|| "s".into()),
                priority,
            )
        }
    };

    let mut cf = CallFile::builder()
        .call(call)
        .action(action)
        .archive(a.archive)
        .spool_dir(&a.spool_dir)
        .allow_set_functions(a.allow_set_functions);
    if let Some(m) = &a.max_line {
        let limit = m.parse().ok().and_then(LineLimit::from_bytes);
        cf = cf.line_limit(
            limit.ok_or_else(|| usage("--max-line", format!("{m:?} is not 255 or 1022")))?,
        );
    }
    if let Some(m) = &a.mode {
        let mode = u32::from_str_radix(m.trim_start_matches("0o"), 8)
            .map_err(|_| usage("--mode", format!("{m:?} is not an octal mode")))?;
        cf = cf.mode(mode);
    }
    if let Some(v) = &a.user {
        cf = cf.user(v);
    }
    if let Some(v) = &a.group {
        cf = cf.group(v);
    }
    if let Some(v) = &a.tempdir {
        cf = cf.staging_dir(v);
    }
    if let Some(v) = &a.filename {
        cf = cf.filename(v);
    }
    cf.build().map_err(build_failure)
}

fn spool_failure(e: SpoolError) -> Failure {
    let msg = e.to_string();
    match &e {
        SpoolError::NoSuchUser { .. } => usage("--user", msg.trim_start_matches("user: ")),
        SpoolError::NoSuchGroup { .. } => usage("--group", msg.trim_start_matches("group: ")),
        SpoolError::InvalidTime { .. } => usage("--at/--in", msg.trim_start_matches("at: ")),
        SpoolError::CrossFilesystem { .. } => {
            usage("--tempdir", msg.trim_start_matches("staging_dir: "))
        }
        SpoolError::AlreadyExists { .. } => {
            usage("--filename", msg.trim_start_matches("filename: "))
        }
        SpoolError::MissingDir { field, .. } => usage(
            option_of(*field),
            msg.trim_start_matches(&format!("{field}: ")),
        ),
        SpoolError::NoPermissionToChown { .. } => {
            Failure::failed(format!("--user: {}", msg.trim_start_matches("user: ")))
        }
        SpoolError::SpoolDirPermission { field, .. } => Failure::failed(format!(
            "{}: {}",
            option_of(*field),
            msg.trim_start_matches(&format!("{field}: "))
        )),
        _ => Failure::failed(msg),
    }
}

pub fn run(args: Args, g: &Global) -> Outcome {
    let cf = build(&args)?;
    let at = schedule(&args)?;
    if args.print {
        out!("{}", cf.render());
        return Ok(());
    }
    let path = cf.spool(at).map_err(spool_failure)?;
    if g.json {
        let out = serde_json::json!({ "path": path, "at": at.map(|t| t.to_string()) });
        outln!("{out}");
    } else {
        outln!("{}", path.display());
    }
    Ok(())
}
