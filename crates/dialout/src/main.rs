//! The `dialout` command line. Thin: parsing and printing here, the work in the library crates.

/// `println!` for command output: a reader that went away (`dialout ... | head`) ends the
/// command quietly instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for command output; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!($($arg)*)) };
}

mod cli;

use std::process::ExitCode;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) => return usage_error(err),
    };
    let json = args.global.json;
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if json {
                eprintln!("{}", failure.to_json());
            } else {
                eprintln!("dialout: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// What clap refused, said as clap means it: `--help` and `--version` on stdout (exit 0); a
/// bare `dialout` or `dialout messages` prints the help (exit 2); a bad value is one line
/// naming the option; anything else (a missing argument, a misspelt option) keeps clap's
/// usage and suggestions. With `--json` anywhere on the line, the error is a JSON object.
fn usage_error(err: clap::Error) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let text = err.render().to_string();
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprint!("{text}");
        return ExitCode::from(2);
    }
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    if std::env::args().any(|a| a == "--json") {
        let failure = cli::Failure::usage(first).with_field(invalid_arg(&err));
        eprintln!("{}", failure.to_json());
        return ExitCode::from(2);
    }
    match err.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => eprintln!("dialout: {first}"),
        _ => {
            let rest = text.split_once('\n').map_or("", |(_, r)| r);
            eprint!("dialout: {first}\n{rest}");
        }
    }
    ExitCode::from(2)
}

/// The option clap names in its error (`--priority`), without its value placeholder.
fn invalid_arg(err: &clap::Error) -> Option<String> {
    match err.get(ContextKind::InvalidArg)? {
        ContextValue::String(s) => s.split_whitespace().next().map(str::to_string),
        ContextValue::Strings(v) => v
            .first()
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_string),
        _ => None,
    }
}
