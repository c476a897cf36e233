//! The dashboard: server-rendered pages over the [`Dialer`], mounted by `dialout serve` at
//! `/`. Sign-in takes an API token, checked through [`TokenCheck`] (implemented by the
//! server over its token store), and turns it into a server-side session.

// Refusals are ready HTTP responses, made at most once per request: boxing them buys nothing.
#![allow(clippy::result_large_err)]

mod assets;
mod auth;
mod csv_export;
mod filters;
mod pages;
mod render;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use dialout_dialer::Dialer;

pub use session::Scopes;

/// Answers which scopes an API token has; None for an unknown or revoked token.
#[async_trait::async_trait]
pub trait TokenCheck: Send + Sync + 'static {
    async fn scopes(&self, token: &str) -> Option<Scopes>;
}

#[derive(Debug, Clone)]
pub struct DashboardOptions {
    /// Mark the session cookie `Secure`: set when the dashboard is reached over HTTPS
    /// (behind a TLS proxy).
    pub secure_cookies: bool,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// How often a session's token is checked again (a revoked token ends its sessions).
    pub recheck_token: Duration,
    /// Rows per page of the messages table.
    pub page_size: usize,
    /// How often the messages table refreshes itself, in seconds.
    pub poll_seconds: u32,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        DashboardOptions {
            secure_cookies: false,
            session_idle: Duration::from_secs(8 * 3600),
            recheck_token: Duration::from_secs(60),
            page_size: 50,
            poll_seconds: 5,
        }
    }
}

pub(crate) struct App {
    pub dialer: Arc<Dialer>,
    pub auth: Arc<dyn TokenCheck>,
    pub opts: DashboardOptions,
    pub sessions: session::Sessions,
    pub views: Arc<render::Views>,
}

pub(crate) type AppState = Arc<App>;

/// The dashboard's routes, to be merged into the server's router at `/`. Every page but
/// the sign-in page and the static assets (no data in them) needs a session.
pub fn router(dialer: Arc<Dialer>, auth: Arc<dyn TokenCheck>, opts: DashboardOptions) -> Router {
    let app = Arc::new(App {
        dialer,
        auth,
        opts,
        sessions: session::Sessions::default(),
        views: Arc::new(render::Views::new()),
    });
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/messages", get(pages::messages::page))
        .route("/messages/rows", get(pages::messages::rows))
        .route("/messages.csv", get(csv_export::export))
        .route("/messages/{id}", get(pages::message::page))
        .route("/messages/{id}/audio", get(pages::message::audio))
        .route(
            "/messages/{id}/cancel",
            get(pages::message::confirm_cancel).post(pages::message::cancel),
        )
        .route(
            "/messages/{id}/resend",
            get(pages::message::confirm_resend).post(pages::message::resend),
        )
        .route(
            "/templates",
            get(pages::templates::list).post(pages::templates::create),
        )
        .route("/templates/new", get(pages::templates::new_form))
        .route("/templates/preview", post(pages::templates::preview))
        .route(
            "/templates/{slug}",
            get(pages::templates::edit_form).post(pages::templates::save),
        )
        .route(
            "/templates/{slug}/active",
            post(pages::templates::set_active),
        )
        .route("/webhooks", get(pages::webhooks::list))
        .route("/webhooks/{id}", get(pages::webhooks::endpoint))
        .route(
            "/webhooks/{id}/replay-failed",
            post(pages::webhooks::replay_failed),
        )
        .route(
            "/webhooks/deliveries/{id}/replay",
            post(pages::webhooks::replay),
        )
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/assets/{name}", get(assets::serve))
        .with_state(app)
}
