//! `/v1/recipients/{number}`: access to and erasure of everything stored about a number,
//! as `dialout export` and `dialout erase`. Both need `admin`: an export gathers all of a
//! person's data at once, and an erasure cannot be undone.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::auth::{ADMIN, Auth};
use crate::problem::Problem;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/recipients/{number}", get(export).delete(erase))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EraseQuery {
    /// Also put the number on the do-not-call list.
    #[serde(default)]
    pub and_block: bool,
}

/// Everything stored about the number: its messages with their history (erased ones
/// included, found by the keyed hash), its do-not-call entry, the webhook deliveries
/// about its messages and the erasures recorded for it.
#[utoipa::path(get, path = "/v1/recipients/{number}", tag = "recipients",
    params(("number" = String, Path, description = "A phone number (E.164 with + written %2B, or national with the configured region)")),
    responses(
        (status = 200, description = "What is stored", body = crate::schema::RecipientExport),
        (status = "default", description = "A problem (422: unreadable number)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn export(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let v = state.dialer.export_recipient(&number).await?;
    Ok(super::json(StatusCode::OK, v))
}

/// Erases every trace of the number at once: messages not final are cancelled first, then
/// every message's recipient (replaced by a keyed hash), content, data and history reasons,
/// its backends' files and its webhook payloads. The erasure is recorded with the token's
/// name, the hash and the count, never the number.
#[utoipa::path(delete, path = "/v1/recipients/{number}", tag = "recipients",
    params(("number" = String, Path, description = "A phone number (E.164 with + written %2B, or national with the configured region)"), EraseQuery),
    responses(
        (status = 200, description = "Erased", body = crate::schema::ErasedOut),
        (status = "default", description = "A problem (422: unreadable number)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn erase(
    State(state): State<AppState>,
    auth: Auth<ADMIN>,
    Path(number): Path<String>,
    query: Result<Query<EraseQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| Problem::invalid("and_block", e.body_text()))?;
    let by = format!("token:{}", auth.0.name);
    let done = state
        .dialer
        .erase_recipient(&number, &by, q.and_block)
        .await?;
    let v = serde_json::to_value(&done)
        .map_err(|e| Problem::internal(format!("cannot write the answer: {e}")))?;
    Ok(super::json(StatusCode::OK, v))
}
