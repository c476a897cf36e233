//! `dialout asterisk ...`: helpers for wiring dialout to a PBX.

use std::io::Write;

use dialout_dialer::{ami_dialplan, asterisk_dialplan};

use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the dialplan dialout ships (dialplan/dialout.conf, or dialout-ami.conf with
    /// --ami) for extensions.conf.
    Dialplan(DialplanArgs),
}

#[derive(Debug, clap::Args)]
pub struct DialplanArgs {
    /// Name the context differently (the backend's `context` key must match).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The dialplan of the AMI backend (kind = "ami"): UserEvents and AstDB instead of report files.
    #[arg(long)]
    pub ami: bool,
}

pub fn run(cmd: Command, _g: &Global) -> Outcome {
    match cmd {
        Command::Dialplan(a) => {
            let text = if a.ami {
                ami_dialplan(a.context.as_deref())
            } else {
                asterisk_dialplan(a.context.as_deref())
            }
            .map_err(|e| Failure::usage(format!("--context: {e}")))?;
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| Failure::failed(format!("writing to stdout: {e}")))
        }
    }
}
