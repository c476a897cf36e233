//! `/v1/messages`: send (one, a batch), list, show, cancel, resend.

use std::time::Instant;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use dialout_dialer::{
    CancelOutcome, MessageFilter, MessageId, PhoneNumber, RelatedObject, SendOptions, SendRequest,
    Sent, State as MsgState, Tag, json as dj,
};
use serde_json::{Value, json};

use super::{idempotency_key, instant};
use crate::auth::{Auth, READ, SEND};
use crate::body::Body;
use crate::problem::{FieldError, Problem};
use crate::schema::{BatchBody, SendBody};
use crate::state::AppState;

/// Most messages one batch may hold.
pub const MAX_BATCH: usize = 10_000;
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/messages", post(create).get(list))
        .route("/v1/messages/batch", post(batch))
        .route("/v1/messages/{id}", get(show))
        .route("/v1/messages/{id}/cancel", post(cancel))
        .route("/v1/messages/{id}/resend", post(resend))
}

/// The message JSON with `existing`.
pub(crate) fn sent_json(s: &Sent) -> Value {
    let mut v = dj::message(&s.message);
    v["existing"] = Value::Bool(s.existing);
    v
}

pub(crate) fn record(state: &AppState, s: &Sent, started: Instant) {
    if !s.existing {
        let m = &s.message;
        state
            .metrics
            .sent(&m.backend, m.state.name(), m.failed(), started.elapsed());
    }
}

fn request(b: SendBody, prefix: &str) -> Result<SendRequest, Problem> {
    let not_before = instant(&format!("{prefix}not_before"), b.not_before.as_deref())?;
    Ok(SendRequest {
        recipient: b.recipient,
        content: b.content,
        options: SendOptions {
            related: b.related,
            tag: b.tag,
            extra_data: b.extra_data.map(Value::Object),
            backend: b.backend,
            priority: b.priority,
            not_before,
            predictive: b.predictive,
            idempotency_key: b.idempotency_key,
            queued: b.queued,
            resent_from: None,
            allow_duplicate: b.allow_duplicate,
            time_zone: b.time_zone,
            gather: b.gather,
            machine: b.machine,
        },
    })
}

/// Sends one message.
#[utoipa::path(post, path = "/v1/messages", tag = "messages",
    request_body = SendBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key returns the first message (200, existing: true); other content with it is 409")),
    responses(
        (status = 201, description = "Stored (and published unless queued)", body = crate::schema::MessageOut),
        (status = 200, description = "The idempotency key matched an earlier message", body = crate::schema::MessageOut),
        (status = "default", description = "A problem", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["send"])))]
async fn create(
    State(state): State<AppState>,
    _auth: Auth<SEND>,
    headers: HeaderMap,
    Body(body): Body<SendBody>,
) -> Result<Response, Problem> {
    let header_key = idempotency_key(&headers)?;
    let mut req = request(body, "")?;
    match (&header_key, &req.options.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(Problem::invalid(
                "idempotency_key",
                "differs from the Idempotency-Key header",
            ));
        }
        (Some(_), None) => req.options.idempotency_key = header_key,
        _ => {}
    }
    let started = Instant::now();
    let sent = state.dialer.send(req).await?;
    record(&state, &sent, started);
    let status = if sent.existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(super::json(status, sent_json(&sent)))
}

/// Sends up to 10,000 messages, all or none.
#[utoipa::path(post, path = "/v1/messages/batch", tag = "messages",
    request_body = BatchBody,
    responses(
        (status = 201, description = "All stored", body = crate::schema::MessageItems),
        (status = "default", description = "A problem; an invalid message is 422 naming messages[INDEX].FIELD and nothing is stored", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["send"])))]
async fn batch(
    State(state): State<AppState>,
    _auth: Auth<SEND>,
    Body(body): Body<BatchBody>,
) -> Result<Response, Problem> {
    if body.messages.is_empty() || body.messages.len() > MAX_BATCH {
        return Err(Problem::invalid(
            "messages",
            format!("expected 1 to {MAX_BATCH} messages"),
        ));
    }
    let requests = body
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, b)| request(b, &format!("messages[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let sent = state.dialer.send_many(requests).await?;
    for s in &sent {
        record(&state, s, started);
    }
    let items: Vec<Value> = sent.iter().map(sent_json).collect();
    Ok(super::json(StatusCode::CREATED, json!({ "items": items })))
}

fn message_id(text: &str) -> Result<MessageId, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found(format!("no message {text:?}")))
}

/// A message with its state history.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "The message id")),
    responses(
        (status = 200, description = "The message, with `history`", body = crate::schema::MessageOut),
        (status = "default", description = "A problem (404: no such message)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
async fn show(
    State(state): State<AppState>,
    _auth: Auth<READ>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = message_id(&id)?;
    let (m, history) = state.dialer.message_with_history(id).await?;
    let mut v = dj::message(&m);
    v["history"] = Value::Array(history.iter().map(dj::history).collect());
    Ok(super::json(StatusCode::OK, v))
}

/// Cancels a message: one never published never will be; one handed over is withdrawn where
/// its backend still can.
#[utoipa::path(post, path = "/v1/messages/{id}/cancel", tag = "messages",
    params(("id" = String, Path, description = "The message id")),
    responses(
        (status = 200, description = "Cancelled or withdrawn", body = crate::schema::CancelOut),
        (status = "default", description = "A problem (409: final already, too late, or the backend cannot withdraw)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["send"])))]
async fn cancel(
    State(state): State<AppState>,
    _auth: Auth<SEND>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = message_id(&id)?;
    let out = state.dialer.cancel(id).await?;
    let (outcome, detail) = match &out {
        CancelOutcome::Cancelled { .. } => ("cancelled", "it had not been published".to_string()),
        CancelOutcome::Withdrawn { .. } => ("withdrawn", "the backend withdrew it".to_string()),
        CancelOutcome::TooLate { reason, .. } => ("too_late", reason.clone()),
        CancelOutcome::Unsupported { message } => (
            "unsupported",
            format!("backend {:?} cannot withdraw messages", message.backend),
        ),
    };
    if !out.stopped() {
        return Err(Problem::conflict(format!(
            "message {id} not cancelled ({outcome}): {detail}"
        )));
    }
    Ok(super::json(
        StatusCode::OK,
        json!({ "outcome": outcome, "detail": detail, "message": dj::message(out.message()) }),
    ))
}

/// Sends a message again as a new one linked to it (`resent_from`).
#[utoipa::path(post, path = "/v1/messages/{id}/resend", tag = "messages",
    params(("id" = String, Path, description = "The message id")),
    responses(
        (status = 201, description = "The new message", body = crate::schema::MessageOut),
        (status = "default", description = "A problem (409: the message is still waiting)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["send"])))]
async fn resend(
    State(state): State<AppState>,
    _auth: Auth<SEND>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = message_id(&id)?;
    let m = state.dialer.resend(id).await?;
    Ok(super::json(StatusCode::CREATED, dj::message(&m)))
}

/// The query of `GET /v1/messages`.
#[derive(Default)]
struct ListQuery {
    filter: MessageFilter,
    recipient: Option<PhoneNumber>,
    limit: usize,
}

fn list_query(pairs: Vec<(String, String)>) -> Result<ListQuery, Problem> {
    let mut q = ListQuery {
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    let mut errors = Vec::new();
    for (k, v) in pairs {
        let bad = |m: String| FieldError {
            field: k.clone(),
            message: m,
        };
        match k.as_str() {
            "state" => match MsgState::parse(&v) {
                Some(s) => q.filter.state = Some(s),
                None => errors.push(bad(format!(
                    "unknown state {v:?}: expected a state name or its code ({}; any case)",
                    MsgState::ALL.map(|s| s.name()).join(", ")
                ))),
            },
            "tag" => match Tag::new(&v) {
                Ok(t) => q.filter.tag = Some(t),
                Err(e) => errors.push(bad(e.to_string())),
            },
            "answer" => q.filter.answer = Some(v),
            "related" => match v.parse::<RelatedObject>() {
                Ok(r) => q.filter.related = Some(r),
                Err(e) => errors.push(bad(e.to_string())),
            },
            "since" => match instant("since", Some(&v)) {
                Ok(t) => q.filter.created_since = t,
                Err(p) => errors.extend(p.errors),
            },
            "recipient" => match PhoneNumber::parse(&v, None) {
                Ok(p) => q.recipient = Some(p),
                // A `+` left unencoded in a query string arrives as a space.
                Err(e) if v.starts_with(' ') => errors.push(bad(format!(
                    "{e}; a \"+\" in a URL query stands for a space: write it as %2B (recipient=%2B{})",
                    v.trim_start()
                ))),
                Err(e) => errors.push(bad(e.to_string())),
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => errors.push(bad(format!("expected 1 to {MAX_LIMIT}"))),
            },
            "cursor" => match v.parse::<MessageId>() {
                Ok(id) => q.filter.before = Some(id),
                Err(_) => errors.push(bad("not a cursor this API returned".into())),
            },
            _ => errors.push(bad("unknown query parameter".into())),
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        let mut p = Problem::invalid(errors[0].field.clone(), errors[0].message.clone());
        p.errors = errors;
        Err(p)
    }
}

/// Messages, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/messages", tag = "messages",
    params(
        ("state" = Option<String>, Query, description = "A state name or its pymess code (READY, ANSWERED_COMPLETE, 20, ...; any case)"),
        ("tag" = Option<String>, Query),
        ("related" = Option<String>, Query, description = "TYPE:ID"),
        ("since" = Option<String>, Query, description = "Created at or after this RFC 3339 instant"),
        ("recipient" = Option<String>, Query, description = "E.164"),
        ("answer" = Option<String>, Query, description = "Only messages whose callee's keys got this label (a gather's `answers`)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Page size, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page", body = crate::schema::MessageList),
        (status = "default", description = "A problem", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
async fn list(
    State(state): State<AppState>,
    _auth: Auth<READ>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(pairs) = query.map_err(|e| Problem::invalid("query", e.body_text()))?;
    let ListQuery {
        mut filter,
        recipient,
        limit,
    } = list_query(pairs)?;
    filter.recipient = recipient.map(|r| r.as_str().to_string());
    filter.limit = Some(limit);
    let page = state.dialer.messages(filter).await?;
    let (items, next) = (page.messages, page.next);
    let items: Vec<Value> = items.iter().map(dj::message).collect();
    Ok(super::json(
        StatusCode::OK,
        json!({ "items": items, "next_cursor": next.map(|id| id.to_string()) }),
    ))
}
