//! Webhooks: the endpoints, each one's recent deliveries and failures, and replay.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dialout_dialer::Dialer;
use dialout_dialer::webhooks::{Delivery, Replay, WebhookError, delivery_json, endpoint_json};
use minijinja::context;
use serde_json::Value;

use crate::AppState;
use crate::session::Session;

/// How many deliveries each list shows, newest first.
const RECENT: usize = 50;
/// Failures counted per endpoint; more read as "1000+".
const FAILURES_COUNTED: usize = 1000;

fn webhook_error(app: &AppState, s: &Session, e: WebhookError) -> Response {
    if matches!(e, WebhookError::Disabled(_)) {
        app.views.error(StatusCode::CONFLICT, s, &e.to_string())
    } else if e.is_caller_error() {
        app.views.error(StatusCode::NOT_FOUND, s, &e.to_string())
    } else {
        tracing::error!("dashboard: {e}");
        app.views.error(
            StatusCode::SERVICE_UNAVAILABLE,
            s,
            "The database failed; see the server's log. Try again shortly.",
        )
    }
}

/// Failed (given up) deliveries of every endpoint: (endpoints, failures, capped).
pub(crate) async fn failure_count(d: &Dialer) -> Result<(usize, usize, bool), WebhookError> {
    let endpoints = d.webhooks().await?;
    let (mut n, mut capped) = (0, false);
    for e in &endpoints {
        let f = d
            .webhook_deliveries(e.id, true, FAILURES_COUNTED)
            .await?
            .len();
        capped |= f >= FAILURES_COUNTED;
        n += f;
    }
    Ok((endpoints.len(), n, capped))
}

fn delivery_row(d: &Delivery) -> Value {
    let mut v = delivery_json(d);
    v["category"] = Value::from(match v["state"].as_str() {
        Some("delivered") => "ok",
        Some("failed") => "fail",
        _ => "wait",
    });
    v
}

pub(crate) async fn list(State(app): State<AppState>, s: Session) -> Response {
    let d = &app.dialer;
    let endpoints = match d.webhooks().await {
        Ok(e) => e,
        Err(e) => return webhook_error(&app, &s, e),
    };
    let mut rows = Vec::with_capacity(endpoints.len());
    for e in &endpoints {
        let failed = match d.webhook_deliveries(e.id, true, FAILURES_COUNTED).await {
            Ok(f) => f.len(),
            Err(err) => return webhook_error(&app, &s, err),
        };
        let mut v = endpoint_json(e);
        v["failed"] = Value::from(if failed >= FAILURES_COUNTED {
            format!("{FAILURES_COUNTED}+")
        } else {
            failed.to_string()
        });
        rows.push(v);
    }
    app.views.ok(
        "webhooks.html",
        &s,
        context! { nav => "webhooks", endpoints => crate::render::val(&rows) },
    )
}

pub(crate) async fn endpoint(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let d = &app.dialer;
    let found = match d.webhooks().await {
        Ok(list) => list.into_iter().find(|e| e.id == id),
        Err(e) => return webhook_error(&app, &s, e),
    };
    let Some(ep) = found else {
        return webhook_error(&app, &s, WebhookError::NoEndpoint(id));
    };
    let (recent, failed) = match tokio::try_join!(
        d.webhook_deliveries(id, false, RECENT),
        d.webhook_deliveries(id, true, RECENT),
    ) {
        Ok(x) => x,
        Err(e) => return webhook_error(&app, &s, e),
    };
    let rows = |list: &[Delivery]| list.iter().map(delivery_row).collect::<Vec<_>>();
    app.views.ok(
        "webhook.html",
        &s,
        context! {
            nav => "webhooks",
            ep => crate::render::val(endpoint_json(&ep)),
            recent => crate::render::val(rows(&recent)),
            failed => crate::render::val(rows(&failed)),
            replayed => q.get("replayed").and_then(|n| n.parse::<usize>().ok()),
        },
    )
}

/// Queues one delivery again, whatever its state.
pub(crate) async fn replay(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = s
        .check_csrf(form.get("_csrf"))
        .and_then(|_| s.require(s.scopes.admin, "admin"))
    {
        return r;
    }
    let d = &app.dialer;
    let endpoint = match d.webhook_delivery(id).await {
        Ok(del) => del.endpoint_id,
        Err(e) => return webhook_error(&app, &s, e),
    };
    match d.replay_webhooks(Replay::Id(id)).await {
        Ok(n) => Redirect::to(&format!("/webhooks/{endpoint}?replayed={n}")).into_response(),
        Err(e) => webhook_error(&app, &s, e),
    }
}

/// Queues every failed delivery of one endpoint again (the newest, up to the counted limit).
pub(crate) async fn replay_failed(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = s
        .check_csrf(form.get("_csrf"))
        .and_then(|_| s.require(s.scopes.admin, "admin"))
    {
        return r;
    }
    let d = &app.dialer;
    let failed = match d.webhook_deliveries(id, true, FAILURES_COUNTED).await {
        Ok(f) => f,
        Err(e) => return webhook_error(&app, &s, e),
    };
    let mut n = 0;
    for del in failed {
        match d.replay_webhooks(Replay::Id(del.id)).await {
            Ok(k) => n += k,
            // Replayed and already delivered or removed meanwhile: nothing to do.
            Err(WebhookError::NoDelivery(_)) => {}
            Err(e) => return webhook_error(&app, &s, e),
        }
    }
    Redirect::to(&format!("/webhooks/{id}?replayed={n}")).into_response()
}
