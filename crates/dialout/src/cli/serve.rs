//! `dialout serve`: the HTTP API and, unless `--no-worker`, the worker and the webhook
//! delivery loop, in one process. On SIGTERM/SIGINT it stops accepting, finishes the
//! requests in flight, lets the worker release its claims, and exits 0.

use std::sync::Arc;

use dialout_dialer::{Dialer, WorkerOptions};
use tokio::signal::unix::{SignalKind, signal};

use super::context::load_config;
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// HOST:PORT to listen on (default: [http] listen, DIALOUT_HTTP_LISTEN, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Serve the API only; a `dialout worker` elsewhere publishes queued messages and
    /// delivers webhooks.
    #[arg(long)]
    pub no_worker: bool,
}

pub fn run(args: Args, g: &Global) -> Outcome {
    let config = load_config(g)?;
    let listen = args
        .listen
        .clone()
        .unwrap_or_else(|| config.http.listen().to_string());
    let dialer = Dialer::open(&config).map_err(|e| {
        if e.is_config() {
            Failure::usage(e)
        } else {
            Failure::failed(e)
        }
    })?;
    let dialer = Arc::new(dialer.with_group_commit());
    let options = dialout_server::Options {
        metrics: config.http.metrics(),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(dialer, listen, options, args.no_worker))
}

async fn serve(
    dialer: Arc<Dialer>,
    listen: String,
    options: dialout_server::Options,
    no_worker: bool,
) -> Outcome {
    // Installed before anything starts, so that a stop signal is never the default kill.
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| Failure::failed(format!("cannot handle SIGTERM: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| Failure::failed(format!("cannot handle SIGINT: {e}")))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| Failure::usage(format!("--listen {listen}: cannot listen: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::failed(format!("cannot read the listening address: {e}")))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!("{name}: finishing requests in flight, then stopping");
        let _ = stop_tx.send(true);
    });
    // Deliveries go with the worker: `--no-worker` means another process does both.
    let hooks = match no_worker {
        true => None,
        false => Some(dialer.webhook_deliverer().map_err(Failure::failed)?),
    };
    let hooks = hooks.map(|hooks| {
        let stop = stop_rx.clone();
        tokio::spawn(async move { hooks.run(stop).await })
    });
    let worker = (!no_worker).then(|| {
        let worker = dialer.worker(WorkerOptions::default());
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            tracing::info!(owner = worker.owner(), "worker started");
            worker.run(stop).await
        })
    });
    let app = dialout_server::router(dialer, options);
    tracing::info!("listening on http://{addr}");
    let mut server_stop = stop_rx;
    let shutdown = async move {
        let _ = server_stop.wait_for(|s| *s).await;
    };
    let served = dialout_server::serve(listener, app, shutdown).await;
    if let Some(worker) = worker {
        match worker.await {
            Ok(Ok(stats)) => tracing::info!(
                claimed = stats.claimed,
                recorded = stats.recorded,
                "worker stopped"
            ),
            Ok(Err(e)) => return Err(Failure::failed(format!("worker failed: {e}"))),
            Err(e) => return Err(Failure::failed(format!("worker failed: {e}"))),
        }
    }
    if let Some(hooks) = hooks {
        match hooks.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("webhook deliveries: {e}"),
            Err(e) => tracing::warn!("webhook deliveries stopped: {e}"),
        }
    }
    served.map_err(|e| Failure::failed(format!("server failed: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}
