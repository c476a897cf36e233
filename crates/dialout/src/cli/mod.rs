//! One module per command. Each has an `Args` struct (clap) and a `run` function.

pub mod asterisk;
pub mod call;
pub mod callfile;
pub mod check_status;
pub mod context;
pub mod csv_input;
pub mod dnc;
pub mod doctor;
pub mod import;
pub mod import_pymess;
pub mod interactive;
pub mod message_actions;
pub mod messages;
pub mod privacy;
pub mod send;
pub mod serve;
pub mod template;
pub mod token;
pub mod view;
pub mod webhook;
pub mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Place automated voice calls through Asterisk call files or a dialer backend.
#[derive(Debug, Parser)]
#[command(name = "dialout", version, about, long_about = None, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Configuration file (TOML). Default: ./dialout.toml when it exists.
    #[arg(long, global = true, env = "DIALOUT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://... Default: sqlite://dialout.db
    #[arg(long, global = true, env = "DIALOUT_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// Print machine-readable JSON on stdout instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write an Asterisk call file and spool it (or print it with --print).
    Call(Box<call::Args>),
    /// Inspect call files.
    #[command(subcommand, arg_required_else_help = true)]
    Callfile(callfile::Command),
    /// Store a dialer message and hand it to a backend.
    ///
    /// Outside the recipient's calling hours (`[delivery.calling_hours]`, in the zone of
    /// --time-zone, else of the number) the message waits (WAITING) for the next window.
    Send(send::Args),
    /// Render a stored template into a dialer message and send it.
    SendTemplate(send::TemplateArgs),
    /// Manage message templates.
    #[command(subcommand, arg_required_else_help = true)]
    Template(template::Command),
    /// List, show, cancel and resend dialer messages.
    #[command(subcommand, arg_required_else_help = true)]
    Messages(messages::Command),
    /// Publish due messages and track their results until stopped (SIGINT/SIGTERM).
    ///
    /// A message is published only inside its recipient's calling hours
    /// (`[delivery.calling_hours]`); outside them it waits for the next window, and a retry
    /// is moved into one.
    Worker(worker::Args),
    /// Ask the backends about sent messages that are not final yet (for cron).
    CheckStatus(check_status::Args),
    /// Asterisk helpers.
    #[command(subcommand, arg_required_else_help = true)]
    Asterisk(asterisk::Command),
    /// Check a configuration against this machine and say what to fix.
    Doctor(doctor::Args),
    /// The do-not-call list: numbers never called.
    #[command(subcommand, arg_required_else_help = true)]
    Dnc(dnc::Command),
    /// Store a campaign from a CSV file (one message per row), checked row by row first.
    Import(import::Args),
    /// Move django-pymess 0.7's dialer templates and messages into this database.
    ///
    /// Reads the pymess database read-only; importing again stores nothing twice.
    ImportPymess(import_pymess::Args),
    /// Serve the HTTP API (and run the worker) until stopped (SIGINT/SIGTERM).
    Serve(serve::Args),
    /// Manage the HTTP API's tokens.
    #[command(subcommand, arg_required_else_help = true)]
    Token(token::Command),
    /// Webhooks: endpoints that hear about every state change, and their deliveries.
    #[command(subcommand, arg_required_else_help = true)]
    Webhook(webhook::Command),
    /// Erase every trace of a number: its messages (not final ones cancelled first), their
    /// audio, call files, reports and webhook payloads; the erasure is recorded without it.
    Erase(privacy::EraseArgs),
    /// Everything stored about a number, as JSON.
    Export(privacy::ExportArgs),
    /// How long personal data is kept (`[retention]`).
    #[command(subcommand, arg_required_else_help = true)]
    Retention(privacy::RetentionCommand),
}

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    /// The option or configuration key at fault, where one is.
    pub field: Option<String>,
}

impl Failure {
    fn with_code(code: u8, message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        // Most messages start with the option they are about (`--context: ...`).
        let field = message
            .strip_prefix("invalid ")
            .unwrap_or(&message)
            .split([':', ' '])
            .next()
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_string);
        Self {
            code,
            message,
            field,
        }
    }
    /// Invalid input: exit code 2, nothing was stored.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self::with_code(2, message)
    }
    /// Any other failure: exit code 1.
    pub fn failed(message: impl std::fmt::Display) -> Self {
        Self::with_code(1, message)
    }
    /// A template refused to send: exit code 3.
    pub fn refused(message: impl std::fmt::Display) -> Self {
        Self::with_code(3, message)
    }

    pub fn with_field(mut self, field: Option<String>) -> Self {
        if field.is_some() {
            self.field = field;
        }
        self
    }

    /// `{"error": {"kind", "message", "field"}}`, what `--json` prints on stderr.
    pub fn to_json(&self) -> String {
        let kind = match self.code {
            2 => "invalid_input",
            3 => "refused",
            _ => "failed",
        };
        serde_json::json!({
            "error": { "kind": kind, "message": self.message, "field": self.field }
        })
        .to_string()
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::failed(format!("{err:#}"))
    }
}

pub type Outcome = Result<(), Failure>;

pub fn run(cli: Cli) -> Outcome {
    let g = &cli.global;
    match cli.command {
        Command::Call(a) => call::run(*a, g),
        Command::Callfile(c) => callfile::run(c, g),
        Command::Send(a) => send::run(a, g),
        Command::SendTemplate(a) => send::run_template(a, g),
        Command::Template(c) => template::run(c, g),
        Command::Messages(c) => messages::run(c, g),
        Command::Worker(a) => worker::run(a, g),
        Command::CheckStatus(a) => check_status::run(a, g),
        Command::Asterisk(c) => asterisk::run(c, g),
        Command::Doctor(a) => doctor::run(a, g),
        Command::Dnc(c) => dnc::run(c, g),
        Command::Erase(a) => privacy::erase(a, g),
        Command::Export(a) => privacy::export(a, g),
        Command::Retention(c) => privacy::retention(c, g),
        Command::Import(a) => import::run(a, g),
        Command::ImportPymess(a) => import_pymess::run(a, g),
        Command::Serve(a) => serve::run(a, g),
        Command::Token(c) => token::run(c, g),
        Command::Webhook(c) => webhook::run(c, g),
    }
}

/// Writes command output to stdout. A closed pipe means the reader has what it wanted: exit 0
/// at once; any other write error is a failure (exit 1).
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("dialout: cannot write to stdout: {err}");
        std::process::exit(1);
    }
}

/// Logs go to stderr so that stdout carries only what was asked for. A command a person runs
/// says only what went wrong (`warn`); the long-running worker says what it does (`info`).
pub fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let g = &cli.global;
    let base = match cli.command {
        Command::Worker(_) | Command::Serve(_) => 2,
        _ => 1,
    };
    let default = match (g.quiet, g.verbose.saturating_add(base)) {
        (true, _) => "error",
        (false, 1) => "warn",
        (false, 2) => "info",
        (false, 3) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("DIALOUT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}
