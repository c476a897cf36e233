//! Page templates (embedded) and the headers every page carries.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use dialout_dialer::State;
use minijinja::{Environment, Value};

use crate::session::Session;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("overview.html", include_str!("../templates/overview.html")),
    ("messages.html", include_str!("../templates/messages.html")),
    ("rows.html", include_str!("../templates/rows.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("confirm.html", include_str!("../templates/confirm.html")),
    (
        "templates.html",
        include_str!("../templates/templates.html"),
    ),
    (
        "template_form.html",
        include_str!("../templates/template_form.html"),
    ),
    ("preview.html", include_str!("../templates/preview.html")),
    ("webhooks.html", include_str!("../templates/webhooks.html")),
    ("webhook.html", include_str!("../templates/webhook.html")),
    ("error.html", include_str!("../templates/error.html")),
];

// Scripts only from the dashboard itself; Chart.js sets inline styles on its canvas.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

#[derive(Debug)]
pub(crate) struct Views {
    env: Environment<'static>,
}

impl Views {
    pub(crate) fn new() -> Self {
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("dashboard template {name}: {e}"));
        }
        Views { env }
    }

    /// Renders a page for a signed-in user (the session gives the CSRF token and scopes).
    pub(crate) fn page(
        &self,
        status: StatusCode,
        name: &str,
        session: Option<&Session>,
        ctx: Value,
    ) -> Response {
        let session_ctx = session.map(|s| {
            minijinja::context! { csrf => s.csrf.clone(), scopes => crate::render::val(s.scopes) }
        });
        let full = minijinja::context! { session => session_ctx, ..ctx };
        match self.env.get_template(name).and_then(|t| t.render(full)) {
            Ok(html) => (
                status,
                [
                    (header::CONTENT_SECURITY_POLICY, CSP),
                    (header::CACHE_CONTROL, "no-store"),
                    (header::X_FRAME_OPTIONS, "DENY"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::REFERRER_POLICY, "same-origin"),
                ],
                Html(html),
            )
                .into_response(),
            Err(e) => {
                tracing::error!("dashboard template {name} failed: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
            }
        }
    }

    pub(crate) fn ok(&self, name: &str, session: &Session, ctx: Value) -> Response {
        self.page(StatusCode::OK, name, Some(session), ctx)
    }

    /// An error page: what went wrong, in words.
    pub(crate) fn error(&self, status: StatusCode, session: &Session, message: &str) -> Response {
        self.page(
            status,
            "error.html",
            Some(session),
            minijinja::context! {
                status => status.as_u16(),
                reason => status.canonical_reason().unwrap_or_default(),
                message,
            },
        )
    }
}

/// How a state reads at a glance (the CSS colour); the state's name is always shown too.
pub(crate) fn category(s: State) -> &'static str {
    match s {
        State::AnsweredComplete | State::AnsweredPartial | State::Done => "ok",
        State::Error
        | State::ErrorUpdate
        | State::Unreachable
        | State::Declined
        | State::Unanswered => "fail",
        State::Waiting | State::ErrorRetry | State::Rescheduled | State::RescheduledByDialer => {
            "wait"
        }
        _ => "busy",
    }
}

/// Any serializable value as a template value.
pub(crate) fn val<T: serde::Serialize>(t: T) -> Value {
    Value::from(minijinja::value::Serde(t))
}
