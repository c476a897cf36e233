//! `/v1/webhooks` (admin): subscribe URLs to message events, test them, look at their
//! deliveries and replay them; the same as `dialout webhook ...`.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dialout_dialer::webhooks::{self, Replay};
use serde_json::{Value, json};

use super::instant;
use crate::auth::{ADMIN, Auth};
use crate::body::Body;
use crate::problem::Problem;
use crate::schema::{NewWebhookBody, ReplayBody, WebhookPatch};
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks", get(list).post(create))
        .route("/v1/webhooks/replay", post(replay))
        .route(
            "/v1/webhooks/{id}",
            axum::routing::patch(change).delete(remove),
        )
        .route("/v1/webhooks/{id}/test", post(test))
        .route("/v1/webhooks/{id}/deliveries", get(deliveries))
}

/// Ids are numbers; anything else names no endpoint.
fn endpoint_id(text: &str) -> Result<i64, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found(format!("no webhook endpoint {text:?}")))
}

/// Every endpoint (never its secret).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = crate::schema::WebhookList),
        (status = "default", description = "A problem", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn list(State(state): State<AppState>, _auth: Auth<ADMIN>) -> Result<Response, Problem> {
    let items: Vec<Value> = state
        .dialer
        .webhooks()
        .await?
        .iter()
        .map(webhooks::endpoint_json)
        .collect();
    Ok(super::json(StatusCode::OK, json!({ "items": items })))
}

/// Subscribes a URL; the answer carries the signing secret, shown only this once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    request_body = NewWebhookBody,
    responses(
        (status = 201, description = "Stored; `secret` signs every delivery", body = crate::schema::WebhookCreated),
        (status = "default", description = "A problem (422: invalid URL, event type or tag; 409: an endpoint already posts to this URL)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn create(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Body(b): Body<NewWebhookBody>,
) -> Result<Response, Problem> {
    let (ep, secret) = state.dialer.add_webhook(&b.url, b.events, b.tag).await?;
    let mut v = webhooks::endpoint_json(&ep);
    v["secret"] = Value::String(secret.0);
    Ok(super::json(StatusCode::CREATED, v))
}

/// Turns an endpoint on again (after a 410 Gone: it gets the events of changes from now on;
/// replay what failed meanwhile) or off (its pending deliveries fail).
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The endpoint as it is now", body = crate::schema::WebhookOut),
        (status = "default", description = "A problem (404: no such endpoint; 422: invalid body)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn change(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(id): Path<String>,
    Body(b): Body<WebhookPatch>,
) -> Result<Response, Problem> {
    let ep = state
        .dialer
        .set_webhook_active(endpoint_id(&id)?, b.active)
        .await?;
    Ok(super::json(StatusCode::OK, webhooks::endpoint_json(&ep)))
}

/// Removes an endpoint; its pending deliveries are dropped.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    responses(
        (status = 204, description = "Removed"),
        (status = "default", description = "A problem (404: no such endpoint)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn remove(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    state.dialer.remove_webhook(endpoint_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Posts a `webhook.test` event to the endpoint now; the delivery as it stands afterwards
/// (`pending` with a retry planned when the receiver did not take it).
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    responses(
        (status = 200, description = "The test delivery", body = crate::schema::DeliveryOut),
        (status = "default", description = "A problem (404: no such endpoint)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn test(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let d = state.dialer.test_webhook(endpoint_id(&id)?).await?;
    Ok(super::json(StatusCode::OK, webhooks::delivery_json(&d)))
}

/// An endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint id"),
        ("failed" = Option<bool>, Query, description = "Only those given up"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "At most this many, default 100"),
    ),
    responses(
        (status = 200, description = "The deliveries", body = crate::schema::DeliveryList),
        (status = "default", description = "A problem (404: no such endpoint)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn deliveries(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(pairs) = query.map_err(|e| Problem::invalid("query", e.body_text()))?;
    let (mut failed, mut limit) = (false, DEFAULT_LIMIT);
    for (k, v) in pairs {
        match k.as_str() {
            "failed" => {
                failed = v
                    .parse()
                    .map_err(|_| Problem::invalid("failed", "expected true or false"))?
            }
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::invalid("limit", format!("expected 1 to {MAX_LIMIT}"))
                    })?
            }
            _ => return Err(Problem::invalid(k, "unknown query parameter")),
        }
    }
    let items: Vec<Value> = state
        .dialer
        .webhook_deliveries(endpoint_id(&id)?, failed, limit)
        .await?
        .iter()
        .map(webhooks::delivery_json)
        .collect();
    Ok(super::json(StatusCode::OK, json!({ "items": items })))
}

/// Queues deliveries again: one by id (whatever its state), or every one given up (failed)
/// at or after an instant. Nothing is queued when one of them belongs to a disabled
/// endpoint (409): enable it first.
#[utoipa::path(post, path = "/v1/webhooks/replay", tag = "webhooks",
    request_body = ReplayBody,
    responses(
        (status = 200, description = "How many were queued again", body = crate::schema::ReplayOut),
        (status = "default", description = "A problem (404: no such delivery; 409: a delivery of a disabled endpoint; 422: not exactly one of delivery_id, failed_since)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn replay(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Body(b): Body<ReplayBody>,
) -> Result<Response, Problem> {
    let which = match (
        b.delivery_id,
        instant("failed_since", b.failed_since.as_deref())?,
    ) {
        (Some(id), None) => Replay::Id(id),
        (None, Some(at)) => Replay::FailedSince(at),
        _ => {
            return Err(Problem::invalid(
                "body",
                "give exactly one of delivery_id and failed_since",
            ));
        }
    };
    let n = state.dialer.replay_webhooks(which).await?;
    Ok(super::json(StatusCode::OK, json!({ "replayed": n })))
}
