use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not implemented yet.
    Todo,
}

pub fn run(_cmd: Command, _g: &Global) -> Outcome {
    Err(Failure::failed("not implemented yet"))
}
