//! `dialout doctor`: checks the Asterisk backends of a configuration against this machine.

use dialout_dialer::{check_ami_backends, check_asterisk_backends};

use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check only this backend (default: every backend of kind "asterisk" or "ami").
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
}

pub fn run(args: Args, g: &Global) -> Outcome {
    let config = super::context::load_config(g)?;
    let mut reports = check_asterisk_backends(&config, args.backend.as_deref());
    if config.backends.values().any(|b| b.settings.kind() == "ami") {
        // The AMI checks talk to Asterisk over the network.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
        reports.extend(rt.block_on(check_ami_backends(&config, args.backend.as_deref())));
    }
    if reports.is_empty() {
        return Err(Failure::failed(match &args.backend {
            Some(b) => format!("no backend {b:?} of kind \"asterisk\" or \"ami\" in the configuration"),
            None => "no backend of kind \"asterisk\" in the configuration (--config FILE, DIALOUT_CONFIG or ./dialout.toml): add [backends.NAME] with kind = \"asterisk\"".into(),
        }));
    }
    if g.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&reports).map_err(|e| Failure::failed(e.to_string()))?
        );
    } else {
        for r in &reports {
            outln!("backend {}:", r.backend);
            for c in &r.checks {
                if c.ok {
                    outln!("  ok    {}", c.what);
                } else {
                    outln!("  FAIL  {}", c.what);
                    if let Some(fix) = &c.fix {
                        outln!("        fix: {fix}");
                    }
                }
            }
        }
    }
    let failed: usize = reports
        .iter()
        .map(|r| r.checks.iter().filter(|c| !c.ok).count())
        .sum();
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "doctor: {failed} problem(s) to fix"
        )))
    }
}
