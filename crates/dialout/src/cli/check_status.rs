//! `dialout check-status` (for cron): asks every backend about its sent, non-final messages
//! inside the status window, makes final those past it. Exits 1 when a backend as a whole
//! could not be asked (nothing is counted against its messages then).

use dialout_dialer::StatusRun;

use super::context::{Context, print_json};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, g: &Global) -> Outcome {
    let ctx = Context::open_existing(g)?;
    let run = ctx
        .block_on(ctx.dialer.check_status())
        .map_err(Failure::failed)?;
    if g.json {
        let v = serde_json::to_value(&run)
            .map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))?;
        print_json(&v)?;
    } else {
        print_human(&run);
    }
    let down: Vec<String> = run
        .backends
        .iter()
        .filter_map(|b| b.outage.as_ref().map(|o| format!("{}: {o}", b.backend)))
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "status check incomplete, no message was counted against: {}",
            down.join("; ")
        )))
    }
}

fn print_human(run: &StatusRun) {
    for b in &run.backends {
        match &b.outage {
            Some(o) => outln!(
                "{}: UNAVAILABLE ({o}); {} messages not checked",
                b.backend,
                b.checked
            ),
            None => outln!(
                "{}: {} checked, {} updated, {} failed checks, {} past the window",
                b.backend,
                b.checked,
                b.updated.len(),
                b.failures.len(),
                b.expired.len()
            ),
        }
        for u in &b.updated {
            outln!(
                "  {}  {} ({}){}",
                u.id,
                u.state,
                u.state.code(),
                if u.is_final { ", final" } else { "" }
            );
        }
        for f in &b.failures {
            let fate = if f.made_final {
                "made final".to_string()
            } else {
                format!("keeps {}", f.state)
            };
            outln!(
                "  {}  ERROR_UPDATE ({}): check {} failed: {}; {fate}",
                f.id,
                dialout_dialer::State::ErrorUpdate.code(),
                f.check_failures,
                f.error
            );
        }
        for e in &b.expired {
            outln!(
                "  {}  {} ({}), final: {}",
                e.id,
                e.state,
                e.state.code(),
                e.reason
            );
        }
        for w in &b.warnings {
            outln!("  warning: {w}");
        }
    }
}
