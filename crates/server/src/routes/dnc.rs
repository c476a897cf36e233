//! `/v1/dnc`: the do-not-call list, as `dialout dnc ...`. Reading needs `read`, changes
//! `admin`. Numbers are read as recipients are and answered in E.164.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dialout_dialer::DncEntry;
use serde_json::{Value, json};

use super::instant;
use crate::auth::{ADMIN, Auth, READ};
use crate::body::Body;
use crate::problem::{FieldError, Problem};
use crate::schema::{DncImportBody, NewDncBody};
use crate::state::AppState;

/// Numbers one import may carry.
const MAX_IMPORT: usize = 100_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/dnc", get(list).post(add))
        .route("/v1/dnc/import", post(import))
        .route("/v1/dnc/{number}", get(check).delete(remove))
}

fn entry_json(e: &DncEntry) -> Value {
    json!({
        "number": e.number.as_str(),
        "reason": e.reason,
        "until": e.until.map(|t| t.to_string()),
        "added_at": e.added_at.to_string(),
    })
}

/// Every entry, expired ones included, by number.
#[utoipa::path(get, path = "/v1/dnc", tag = "dnc",
    responses(
        (status = 200, description = "The entries", body = crate::schema::DncList),
        (status = "default", description = "A problem", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
async fn list(State(state): State<AppState>, _auth: Auth<READ>) -> Result<Response, Problem> {
    let items: Vec<Value> = state
        .dialer
        .dnc_list()
        .await?
        .iter()
        .map(entry_json)
        .collect();
    Ok(super::json(StatusCode::OK, json!({ "items": items })))
}

/// Lists a number (or replaces its entry): sends to it are refused with 409, and messages
/// already queued for it end in `error` before they are published.
#[utoipa::path(post, path = "/v1/dnc", tag = "dnc",
    request_body = NewDncBody,
    responses(
        (status = 201, description = "Listed", body = crate::schema::DncOut),
        (status = "default", description = "A problem (422: unreadable number, reason too long, `until` in the past)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn add(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Body(b): Body<NewDncBody>,
) -> Result<Response, Problem> {
    let until = instant("until", b.until.as_deref())?;
    let e = state.dialer.dnc_add(&b.number, b.reason, until).await?;
    Ok(super::json(StatusCode::CREATED, entry_json(&e)))
}

/// Whether a send to the number would be refused now, with its entry (also when expired).
#[utoipa::path(get, path = "/v1/dnc/{number}", tag = "dnc",
    params(("number" = String, Path, description = "A phone number (E.164, or national with the configured region)")),
    responses(
        (status = 200, description = "The check", body = crate::schema::DncCheckOut),
        (status = "default", description = "A problem (422: unreadable number)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
async fn check(
    State(state): State<AppState>,
    _auth: Auth<READ>,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    let c = state.dialer.dnc_check(&number).await?;
    Ok(super::json(
        StatusCode::OK,
        json!({
            "number": c.number.as_str(),
            "listed": c.listed,
            "entry": c.entry.as_ref().map(entry_json),
        }),
    ))
}

/// Takes a number off the list.
#[utoipa::path(delete, path = "/v1/dnc/{number}", tag = "dnc",
    params(("number" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = "default", description = "A problem (404: not listed; 422: unreadable number)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn remove(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(number): Path<String>,
) -> Result<Response, Problem> {
    if state.dialer.dnc_remove(&number).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found(format!(
            "{number} is not on the do-not-call list"
        )))
    }
}

/// Lists many numbers in one transaction, all with the same reason and end. With an
/// unreadable number nothing is stored (422 naming each), unless `skip_invalid`.
#[utoipa::path(post, path = "/v1/dnc/import", tag = "dnc",
    request_body = DncImportBody,
    responses(
        (status = 200, description = "Stored", body = crate::schema::DncImportOut),
        (status = "default", description = "A problem (422: unreadable numbers, nothing stored)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn import(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Body(b): Body<DncImportBody>,
) -> Result<Response, Problem> {
    if b.numbers.len() > MAX_IMPORT {
        return Err(Problem::invalid(
            "numbers",
            format!("at most {MAX_IMPORT} numbers at once"),
        ));
    }
    let until = instant("until", b.until.as_deref())?;
    let out = state
        .dialer
        .dnc_import(b.numbers, b.reason, until, b.skip_invalid)
        .await?;
    if !out.invalid.is_empty() && !b.skip_invalid {
        let errors: Vec<FieldError> = out
            .invalid
            .iter()
            .map(|(i, _, why)| FieldError {
                field: format!("numbers[{i}]"),
                message: why.clone(),
            })
            .collect();
        let mut p = Problem::invalid(errors[0].field.clone(), errors[0].message.clone());
        p.detail = format!(
            "{} unreadable numbers, nothing stored (pass skip_invalid to store the others)",
            errors.len()
        );
        p.errors = errors;
        return Err(p);
    }
    let skipped: Vec<Value> = out
        .invalid
        .iter()
        .map(|(i, text, why)| json!({ "index": i, "number": text, "reason": why }))
        .collect();
    Ok(super::json(
        StatusCode::OK,
        json!({ "added": out.added, "updated": out.updated, "skipped": skipped }),
    ))
}
