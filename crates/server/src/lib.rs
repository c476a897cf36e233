//! dialout's HTTP API (`dialout serve`): an axum [`Router`] over a [`Dialer`], which is all it
//! calls. One module per endpoint group under `routes/`; errors are RFC 9457 problems.

mod auth;
mod body;
mod metrics;
mod openapi;
mod problem;
mod routes;
mod schema;
mod schema_interactive;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use dialout_dialer::Dialer;

pub use problem::Problem;
use state::AppState;

/// Bodies larger than this are refused (413).
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Options {
    /// Serve `/metrics` (no token needed).
    pub metrics: bool,
    pub body_limit: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            metrics: true,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// The whole API.
pub fn router(dialer: Arc<Dialer>, options: Options) -> Router {
    let state = AppState {
        dialer,
        metrics: Default::default(),
        touched: Default::default(),
    };
    let mut app = Router::new()
        .merge(routes::messages::router())
        .merge(routes::templates::router())
        .merge(routes::webhooks::router())
        .merge(routes::dnc::router())
        .merge(routes::recipients::router())
        .merge(routes::audio::router())
        .merge(routes::health::router())
        .merge(routes::docs::router());
    if options.metrics {
        app = app.merge(routes::metrics::router());
    }
    app.fallback(|| async { Problem::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this endpoint does not take this method",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(DefaultBodyLimit::max(options.body_limit))
        .with_state(state)
}

/// Counts each request by route (its pattern, not the path: ids would make endless series).
async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let response = next.run(req).await;
    state
        .metrics
        .request(&route, &method, response.status().as_u16());
    response
}

/// Serves `app` until `shutdown` completes, then stops accepting and finishes the requests in
/// flight before returning.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
