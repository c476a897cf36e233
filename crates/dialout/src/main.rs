//! The `dialout` command line. Thin: parsing and printing here, the work in the library crates.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.global.verbose, args.global.quiet);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("dialout: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
