//! `/v1/templates`: manage templates (admin), read them (read), send from one (send).

use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dialout_dialer::{NewTemplate, SendOptions, TemplateChange, TemplateRequest, json as dj};
use serde_json::{Value, json};

use super::{idempotency_key, instant};
use crate::auth::{ADMIN, Auth, READ, SEND};
use crate::body::Body;
use crate::problem::Problem;
use crate::routes::messages::{record, sent_json};
use crate::schema::{NewTemplateBody, TemplatePatch, TemplateSendBody};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/templates", get(list).post(create))
        .route(
            "/v1/templates/{slug}",
            get(show).patch(update).delete(remove),
        )
        .route("/v1/templates/{slug}/messages", post(send))
}

/// Every template, by slug.
#[utoipa::path(get, path = "/v1/templates", tag = "templates",
    responses(
        (status = 200, description = "The templates", body = crate::schema::TemplateList),
        (status = "default", description = "A problem", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
async fn list(State(state): State<AppState>, _auth: Auth<READ>) -> Result<Response, Problem> {
    let items: Vec<Value> = state
        .dialer
        .templates()
        .await?
        .iter()
        .map(dj::template)
        .collect();
    Ok(super::json(StatusCode::OK, json!({ "items": items })))
}

/// Stores a new template after checking its slug and body.
#[utoipa::path(post, path = "/v1/templates", tag = "templates",
    request_body = NewTemplateBody,
    responses(
        (status = 201, description = "Stored", body = crate::schema::TemplateOut),
        (status = "default", description = "A problem (409: the slug is taken; 422: invalid slug or body)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn create(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Body(b): Body<NewTemplateBody>,
) -> Result<Response, Problem> {
    let t = state
        .dialer
        .add_template(NewTemplate {
            slug: b.slug,
            body: b.body,
            active: b.active,
            allow_duplicates: b.allow_duplicates,
            interactive: crate::schema_interactive::interactive(b.gather, b.machine)?,
        })
        .await?;
    Ok(super::json(StatusCode::CREATED, dj::template(&t)))
}

/// One template.
#[utoipa::path(get, path = "/v1/templates/{slug}", tag = "templates",
    params(("slug" = String, Path)),
    responses(
        (status = 200, description = "The template", body = crate::schema::TemplateOut),
        (status = "default", description = "A problem (404: no such template)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
async fn show(
    State(state): State<AppState>,
    _auth: Auth<READ>,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let t = state.dialer.template(&slug).await?;
    Ok(super::json(StatusCode::OK, dj::template(&t)))
}

/// Changes a template's body or flags.
#[utoipa::path(patch, path = "/v1/templates/{slug}", tag = "templates",
    params(("slug" = String, Path)),
    request_body = TemplatePatch,
    responses(
        (status = 200, description = "The changed template", body = crate::schema::TemplateOut),
        (status = "default", description = "A problem", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn update(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(slug): Path<String>,
    Body(b): Body<TemplatePatch>,
) -> Result<Response, Problem> {
    let change = TemplateChange {
        body: b.body,
        active: b.active,
        allow_duplicates: b.allow_duplicates,
        gather: match b.gather {
            Some(spec) => Some(crate::schema_interactive::gather(spec)?),
            None => None,
        },
        machine: b.machine,
    };
    let t = state.dialer.update_template(&slug, change).await?;
    Ok(super::json(StatusCode::OK, dj::template(&t)))
}

/// Removes a template; messages sent from it keep its slug.
#[utoipa::path(delete, path = "/v1/templates/{slug}", tag = "templates",
    params(("slug" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = "default", description = "A problem (404: no such template)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])))]
async fn remove(
    State(state): State<AppState>,
    _auth: Auth<ADMIN>,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    state.dialer.remove_template(&slug).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Renders the template with `context` and sends the result, unless the template refuses
/// (inactive, or a duplicate its rule forbids: 409 with the reason).
#[utoipa::path(post, path = "/v1/templates/{slug}/messages", tag = "templates",
    params(
        ("slug" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "As for POST /v1/messages"),
    ),
    request_body = TemplateSendBody,
    responses(
        (status = 201, description = "Stored (and published unless queued)", body = crate::schema::MessageOut),
        (status = 200, description = "The idempotency key matched an earlier message", body = crate::schema::MessageOut),
        (status = "default", description = "A problem (404: no such template; 409: the template refused)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["send"])))]
async fn send(
    State(state): State<AppState>,
    _auth: Auth<SEND>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Body(b): Body<TemplateSendBody>,
) -> Result<Response, Problem> {
    let request = TemplateRequest {
        recipient: b.recipient,
        slug,
        context: b.context.map(Value::Object).unwrap_or(Value::Null),
        options: SendOptions {
            related: b.related,
            tag: b.tag,
            extra_data: b.extra_data.map(Value::Object),
            backend: b.backend,
            priority: b.priority,
            not_before: instant("not_before", b.not_before.as_deref())?,
            predictive: b.predictive,
            idempotency_key: idempotency_key(&headers)?,
            queued: b.queued,
            resent_from: None,
            allow_duplicate: b.allow_duplicate,
            time_zone: b.time_zone,
            gather: b.gather,
            machine: b.machine,
        },
    };
    let started = Instant::now();
    let sent = state.dialer.send_template(request).await?;
    record(&state, &sent, started);
    let status = if sent.existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(super::json(status, sent_json(&sent)))
}
