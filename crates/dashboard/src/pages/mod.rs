//! One module per page.

pub(crate) mod message;
pub(crate) mod messages;
pub(crate) mod overview;
pub(crate) mod templates;
pub(crate) mod webhooks;

use axum::http::StatusCode;
use axum::response::Response;
use dialout_dialer::{Message, json};
use serde_json::Value;

use crate::AppState;
use crate::render::category;
use crate::session::Session;

/// A message as the pages show it: its JSON form plus how its state reads.
pub(crate) fn row(m: &Message) -> Value {
    let mut v = json::message(m);
    v["category"] = Value::from(category(m.state));
    let short: String = m.content.chars().take(60).collect();
    v["content_short"] = Value::from(if short.len() < m.content.len() {
        format!("{short}…")
    } else {
        short
    });
    v["related_text"] = Value::from(
        m.related
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );
    v
}

/// A failed Dialer call as a page: the caller's mistake as 4xx with its words; a store or
/// backend failure as 503 without internals.
pub(crate) fn dialer_error(app: &AppState, s: &Session, e: dialout_dialer::Error) -> Response {
    if e.is_caller_error() {
        let status = match e {
            dialout_dialer::Error::NoMessage(_) | dialout_dialer::Error::NoTemplate(_) => {
                StatusCode::NOT_FOUND
            }
            _ => StatusCode::CONFLICT,
        };
        app.views.error(status, s, &e.to_string())
    } else {
        tracing::error!("dashboard: {e}");
        app.views.error(
            StatusCode::SERVICE_UNAVAILABLE,
            s,
            "The database or a backend failed; see the server's log. Try again shortly.",
        )
    }
}
