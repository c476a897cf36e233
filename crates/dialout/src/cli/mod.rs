//! One module per command. Each has an `Args` struct (clap) and a `run` function.

pub mod asterisk;
pub mod call;
pub mod callfile;
pub mod check_status;
pub mod context;
pub mod doctor;
pub mod message_actions;
pub mod messages;
pub mod send;
pub mod template;
pub mod view;
pub mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Place automated voice calls through Asterisk call files or a dialer backend.
#[derive(Debug, Parser)]
#[command(name = "dialout", version, about, long_about = None)]
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
    #[command(subcommand)]
    Callfile(callfile::Command),
    /// Store a dialer message and hand it to a backend.
    Send(send::Args),
    /// Render a stored template into a dialer message and send it.
    SendTemplate(send::TemplateArgs),
    /// Manage message templates.
    #[command(subcommand)]
    Template(template::Command),
    /// List, show, cancel and resend dialer messages.
    #[command(subcommand)]
    Messages(messages::Command),
    /// Publish due messages and track their results until stopped (SIGINT/SIGTERM).
    Worker(worker::Args),
    /// Ask the backends about sent messages that are not final yet (for cron).
    CheckStatus(check_status::Args),
    /// Asterisk helpers.
    #[command(subcommand)]
    Asterisk(asterisk::Command),
    /// Check a configuration against this machine and say what to fix.
    Doctor(doctor::Args),
}

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Invalid input: exit code 2, nothing was stored.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
    /// Any other failure: exit code 1.
    pub fn failed(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
    /// A template refused to send: exit code 3.
    pub fn refused(message: impl std::fmt::Display) -> Self {
        Self {
            code: 3,
            message: message.to_string(),
        }
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

/// Logs go to stderr so that stdout carries only what was asked for.
pub fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
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
