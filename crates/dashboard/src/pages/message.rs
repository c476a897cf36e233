//! One message: every field, its history, the backend's record; cancel and resend.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dialout_dialer::{CancelOutcome, MessageId, json};
use minijinja::context;

use crate::AppState;
use crate::pages::{dialer_error, row};
use crate::session::Session;

fn parse_id(app: &AppState, s: &Session, id: &str) -> Result<MessageId, Response> {
    id.parse().map_err(|_| {
        app.views
            .error(StatusCode::NOT_FOUND, s, &format!("no message {id}"))
    })
}

/// The message a cancel or resend form acts on, once its CSRF token and the `send` scope
/// are checked.
fn acting_on(
    app: &AppState,
    s: &Session,
    form: &HashMap<String, String>,
    id: &str,
    action: &str,
) -> Result<MessageId, Response> {
    s.check_csrf(form.get("_csrf"))
        .and_then(|_| may(s, action))?;
    parse_id(app, s, id)
}

/// Cancelling and resending need the `send` scope: a token without it is told so on a page
/// and never offered the button.
fn may(s: &Session, action: &str) -> Result<(), Response> {
    let what = match action {
        "cancel" => "Cancelling a message",
        _ => "Resending a message",
    };
    s.require_to(s.scopes.send, what, "send")
}

pub(crate) async fn page(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&app, &s, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (m, history) = match app.dialer.message_with_history(id).await {
        Ok(x) => x,
        Err(e) => return dialer_error(&app, &s, e),
    };
    let history: Vec<_> = history
        .iter()
        .map(|h| {
            let mut v = json::history(h);
            v["category"] = crate::render::category(h.to).into();
            v
        })
        .collect();
    let fields = json::message(&m);
    let fields: Vec<(String, String)> = fields
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => "—".to_string(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    let sender_data = serde_json::to_string_pretty(&m.extra_sender_data).unwrap_or_default();
    let details = app.dialer.backend_details(&m).await;
    app.views.ok(
        "message.html",
        &s,
        context! {
            nav => "messages",
            m => crate::render::val(row(&m)),
            fields,
            history => crate::render::val(&history),
            sender_data,
            documents => details.documents,
            audio => details.audio.is_some(),
            can_cancel => !m.is_final_state,
            can_resend => !m.state.is_unpublished(),
        },
    )
}

async fn confirm(app: AppState, s: Session, id: String, action: &'static str) -> Response {
    if let Err(r) = may(&s, action) {
        return r;
    }
    let id = match parse_id(&app, &s, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.dialer.message(id).await {
        Ok(Some(m)) => app.views.ok(
            "confirm.html",
            &s,
            context! { nav => "messages", action, m => crate::render::val(row(&m)) },
        ),
        Ok(None) => app
            .views
            .error(StatusCode::NOT_FOUND, &s, &format!("no message {id}")),
        Err(e) => dialer_error(&app, &s, e),
    }
}

pub(crate) async fn confirm_cancel(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    confirm(app, s, id, "cancel").await
}

pub(crate) async fn confirm_resend(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    confirm(app, s, id, "resend").await
}

pub(crate) async fn cancel(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match acting_on(&app, &s, &form, &id, "cancel") {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.dialer.cancel(id).await {
        Ok(CancelOutcome::TooLate { reason, .. }) => app.views.error(
            StatusCode::CONFLICT,
            &s,
            &format!("Too late to cancel: {reason}"),
        ),
        Ok(CancelOutcome::Unsupported { .. }) => app.views.error(
            StatusCode::CONFLICT,
            &s,
            "This message's backend cannot withdraw a message it has been handed.",
        ),
        Ok(_) => Redirect::to(&format!("/messages/{id}")).into_response(),
        Err(e) => dialer_error(&app, &s, e),
    }
}

pub(crate) async fn resend(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match acting_on(&app, &s, &form, &id, "resend") {
        Ok(id) => id,
        Err(r) => return r,
    };
    match app.dialer.resend(id).await {
        Ok(new) => Redirect::to(&format!("/messages/{}", new.id)).into_response(),
        Err(e) => dialer_error(&app, &s, e),
    }
}

/// The audio the backend played (or will play), for the page's player.
pub(crate) async fn audio(
    State(app): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&app, &s, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let m = match app.dialer.message(id).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return app
                .views
                .error(StatusCode::NOT_FOUND, &s, &format!("no message {id}"));
        }
        Err(e) => return dialer_error(&app, &s, e),
    };
    let Some(path) = app.dialer.backend_details(&m).await.audio else {
        return app
            .views
            .error(StatusCode::NOT_FOUND, &s, "this message has no audio file");
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (axum::http::header::CONTENT_TYPE, "audio/wav"),
                (axum::http::header::CACHE_CONTROL, "private, no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!("dashboard: cannot read audio {}: {e}", path.display());
            app.views
                .error(StatusCode::NOT_FOUND, &s, "the audio file cannot be read")
        }
    }
}
