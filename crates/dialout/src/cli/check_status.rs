use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _g: &Global) -> Outcome {
    Err(Failure::failed("not implemented yet"))
}
