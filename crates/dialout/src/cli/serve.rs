//! `dialout serve`: the HTTP API, the dashboard and, unless `--no-worker`, the worker and
//! the webhook deliveries, in one process. On SIGTERM/SIGINT it stops accepting, finishes
//! the requests in flight, lets the worker release its claims, and exits 0.

use std::sync::Arc;

use dialout_dashboard::{DashboardOptions, Scopes, TokenCheck};
use dialout_dialer::{Dialer, Scope, WorkerOptions};
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
    let dashboard = DashboardOptions {
        secure_cookies: config.http.secure_cookies(),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(dialer, listen, options, dashboard, args.no_worker))
}

async fn serve(
    dialer: Arc<Dialer>,
    listen: String,
    options: dialout_server::Options,
    dashboard: DashboardOptions,
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
    // The dashboard's paths (`/`, `/messages*`, `/templates*`, `/webhooks*`, `/sign-*`,
    // `/assets/*`) and the API's (`/v1/*`, `/healthz`, `/readyz`, `/metrics`, `/docs`,
    // `/openapi.json`, `/audio/*`) are disjoint; axum panics at start-up if they ever clash.
    let tokens = Arc::new(DialerTokens(dialer.clone()));
    let app = dialout_server::router(dialer.clone(), options)
        .merge(dialout_dashboard::router(dialer, tokens, dashboard));
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

/// The dashboard's sign-in over the API's tokens: the same scopes, and a revoked token is
/// unknown here too, which ends its sessions at their next check.
struct DialerTokens(Arc<Dialer>);

#[async_trait::async_trait]
impl TokenCheck for DialerTokens {
    async fn scopes(&self, token: &str) -> Option<Scopes> {
        match self.0.authenticate(token).await {
            Ok(Some(t)) => {
                if let Err(e) = self.0.touch_token(&t.name).await {
                    tracing::warn!(token = t.name, "cannot record the token's use: {e}");
                }
                Some(Scopes {
                    read: t.allows(Scope::Read),
                    send: t.allows(Scope::Send),
                    admin: t.allows(Scope::Admin),
                })
            }
            Ok(None) => None,
            Err(e) => {
                // Refusing is the safe answer; the user can sign in again once the store is back.
                tracing::error!("dashboard sign-in: cannot check the token: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_backends::{Backends, Dummy};

    #[test]
    fn tokens_map_to_dashboard_scopes_and_a_revoked_one_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let store = dialout_store::open(&url).unwrap();
        let backends = Backends::single(Arc::new(Dummy::new("dummy")));
        let dialer = Arc::new(Dialer::new(store, backends));
        let check = DialerTokens(dialer.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let support = dialer
                .create_token("support", &[Scope::Read])
                .await
                .unwrap();
            let ops = dialer
                .create_token("ops", &[Scope::Read, Scope::Send, Scope::Admin])
                .await
                .unwrap();
            let app = dialer.create_token("app", &[Scope::Send]).await.unwrap();
            let s = |read, send, admin| Some(Scopes { read, send, admin });
            assert_eq!(check.scopes(&support.secret).await, s(true, false, false));
            assert_eq!(check.scopes(&ops.secret).await, s(true, true, true));
            assert_eq!(check.scopes(&app.secret).await, s(false, true, false));
            assert_eq!(check.scopes("dlo_nonsense").await, None);
            dialer.revoke_token("support").await.unwrap();
            assert_eq!(check.scopes(&support.secret).await, None);
        });
    }
}
