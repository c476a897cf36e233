//! `dialout asterisk ...`: helpers for wiring dialout to a PBX.

use std::io::Write;

use dialout_dialer::backends::asterisk::{DEFAULT_CONTEXT, DIALPLAN};

use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the dialplan dialout ships (dialplan/dialout.conf) for extensions.conf.
    Dialplan(DialplanArgs),
}

#[derive(Debug, clap::Args)]
pub struct DialplanArgs {
    /// Name the context differently (the backend's `context` key must match).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

pub fn run(cmd: Command, _g: &Global) -> Outcome {
    match cmd {
        Command::Dialplan(a) => {
            let text = match a.context {
                None => DIALPLAN.to_string(),
                Some(c) => {
                    if c.is_empty()
                        || !c
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
                    {
                        return Err(Failure::usage(format!(
                            "--context: {c:?} is not a context name (letters, digits, - _ .)"
                        )));
                    }
                    DIALPLAN.replace(&format!("[{DEFAULT_CONTEXT}]"), &format!("[{c}]"))
                }
            };
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| Failure::failed(format!("writing to stdout: {e}")))
        }
    }
}
