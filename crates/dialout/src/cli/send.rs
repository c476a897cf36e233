use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {}

#[derive(Debug, clap::Args)]
pub struct TemplateArgs {}

pub fn run(_args: Args, _g: &Global) -> Outcome {
    Err(Failure::failed("not implemented yet"))
}

pub fn run_template(_args: TemplateArgs, _g: &Global) -> Outcome {
    Err(Failure::failed("not implemented yet"))
}
