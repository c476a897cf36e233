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

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) if err.use_stderr() => {
            // One line that names the option and the reason; the full text is in `--help`.
            let text = err.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("dialout: {first}");
            return ExitCode::from(2);
        }
        Err(err) => {
            // --help and --version go to stdout.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
    };
    cli::init_logging(args.global.verbose, args.global.quiet);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("dialout: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
