//! One module per endpoint group; each gives a `router()` merged in `lib.rs`.

pub mod audio;
pub mod dnc;
pub mod docs;
pub mod health;
pub mod messages;
pub mod metrics;
pub mod recipients;
pub mod templates;
pub mod webhooks;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::Value;

use crate::problem::Problem;

/// A JSON response with its status.
pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// An optional RFC 3339 instant of the request, or 422 naming `field`.
pub(crate) fn instant(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, Problem> {
    text.map(|t| {
        t.parse::<Timestamp>().map_err(|_| {
            Problem::invalid(
                field,
                format!("{t:?} is not an RFC 3339 instant such as 2026-05-01T09:00:00Z"),
            )
        })
    })
    .transpose()
}

/// The `Idempotency-Key` header, when given.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| Problem::invalid("Idempotency-Key", "expected visible ASCII"))
        })
        .transpose()
}
