//! `dialout worker`: publishes due messages, takes in results and runs the status check
//! until SIGINT/SIGTERM, then finishes what it holds, releases its claims and exits 0.

use dialout_dialer::{Duration, WorkerOptions};
use tokio::signal::unix::{SignalKind, signal};

use super::context::{Context, print_json};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Publish what is due, take in results, run one status check, and exit (tests, cron).
    #[arg(long)]
    pub once: bool,
    /// Pause when nothing is due (default: delivery.interval, 1s).
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Between status checks (default: delivery.status_interval, 60s).
    #[arg(long, value_name = "DURATION")]
    pub status_interval: Option<String>,
    /// Run no status checks here (cron runs `dialout check-status`).
    #[arg(long)]
    pub no_status: bool,
    /// Messages claimed at a time (default: delivery.batch_size, 20).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
}

fn duration(flag: &str, text: &Option<String>) -> Result<Option<std::time::Duration>, Failure> {
    text.as_deref()
        .map(|t| {
            Duration::parse_positive(t)
                .map(Duration::as_std)
                .map_err(|e| Failure::usage(format!("invalid --{flag}: {e}")))
        })
        .transpose()
}

pub fn run(args: Args, g: &Global) -> Outcome {
    let options = WorkerOptions {
        once: args.once,
        interval: duration("interval", &args.interval)?,
        status_interval: duration("status-interval", &args.status_interval)?,
        no_status: args.no_status,
        batch_size: args.batch_size,
        ..Default::default()
    };
    if args.batch_size == Some(0) {
        return Err(Failure::usage("invalid --batch-size 0: must be at least 1"));
    }
    let ctx = Context::open(g)?;
    let worker = ctx.dialer.worker(options);
    let stats = ctx.block_on(async {
        // Installed before any work, so that a stop signal never kills a publish halfway.
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Failure::failed(format!("cannot handle SIGTERM: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Failure::failed(format!("cannot handle SIGINT: {e}")))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!("{name}: finishing what is held, then stopping");
            let _ = stop_tx.send(true);
        });
        tracing::info!(owner = worker.owner(), "worker started");
        // Webhook deliveries run beside the worker until the same stop (with --once: what
        // is due once the worker is done).
        let hooks = ctx.dialer.webhook_deliverer().map_err(Failure::failed)?;
        let hooks_stop = stop_rx.clone();
        let running = (!args.once).then(|| {
            let hooks = hooks.clone();
            tokio::spawn(async move { hooks.run(hooks_stop).await })
        });
        let stats = worker.run(stop_rx).await.map_err(Failure::failed);
        let hooks_done = match running {
            Some(task) => task.await.map_err(|e| e.to_string()),
            None => Ok(hooks.drain().await),
        };
        match hooks_done {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("webhook deliveries: {e}"),
            Err(e) => tracing::warn!("webhook deliveries stopped: {e}"),
        }
        stats
    })?;
    if g.json {
        let v = serde_json::to_value(&stats)
            .map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))?;
        return print_json(&v);
    }
    outln!(
        "worker stopped: {} claimed, {} recorded, {} status updates, {} failed checks, {} backend outages",
        stats.claimed,
        stats.recorded,
        stats.status_updates,
        stats.check_failures,
        stats.outages
    );
    Ok(())
}
