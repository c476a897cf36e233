//! RFC 9457 problem details (`application/problem+json`): every error the API answers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dialout_dialer::TemplateError;
use dialout_dialer::webhooks::WebhookError;
use dialout_dialer::{Error, InvalidInput, Screened, SendError};
use serde::Serialize;
use utoipa::ToSchema;

/// Seconds a client should wait before retrying after a database outage.
const RETRY_AFTER_SECS: &str = "5";

/// An error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For invalid input: each field at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as a path into the request (`messages[3].recipient`), or the header or
    /// query parameter.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("https://dialout.dev/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 422 naming one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            format!("{field}: {message}"),
        );
        p.errors.push(FieldError { field, message });
        p
    }

    pub fn unauthorized(detail: &str) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// The database is unreachable or failing: the client should retry.
    pub fn outage(detail: impl std::fmt::Display) -> Self {
        tracing::warn!("database unavailable: {detail}");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is unavailable; retry later",
        )
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("request failed: {detail}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed on the server; see its log",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// The request field an invalid input is about.
fn field_of(e: &InvalidInput) -> String {
    match e {
        InvalidInput::Recipient(_) => "recipient".into(),
        InvalidInput::Content(_) => "content".into(),
        InvalidInput::Tag(_) => "tag".into(),
        InvalidInput::Related(_) => "related".into(),
        InvalidInput::Priority(_) => "priority".into(),
        InvalidInput::Backend { .. } => "backend".into(),
        InvalidInput::Json { field, .. } if field.contains("context") => "context".into(),
        InvalidInput::Json { .. } => "extra_data".into(),
        InvalidInput::IdempotencyKey(_) | InvalidInput::IdempotencyConflict { .. } => {
            "idempotency_key".into()
        }
        InvalidInput::TimeZone(_) => "time_zone".into(),
        InvalidInput::UnknownTemplate(_) => "slug".into(),
        InvalidInput::Template(TemplateError::Slug(_)) => "slug".into(),
        InvalidInput::Template(_) => "context".into(),
        InvalidInput::Gather(_) => "gather".into(),
        InvalidInput::Interactive { field, .. } => (*field).into(),
        InvalidInput::InBatch { index, error } => format!("messages[{index}].{}", field_of(error)),
        // Kinds added later default to the body as a whole.
        #[allow(unreachable_patterns)]
        _ => "body".into(),
    }
}

/// The message of an invalid input, without the batch index (the field names it).
fn message_of(e: &InvalidInput) -> String {
    match e {
        InvalidInput::InBatch { error, .. } => message_of(error),
        other => other.to_string(),
    }
}

impl From<SendError> for Problem {
    fn from(e: SendError) -> Self {
        if e.is_outage() {
            return Problem::outage(e);
        }
        match e {
            SendError::Invalid(InvalidInput::IdempotencyConflict { .. }) => {
                let mut p = Problem::conflict(e.to_string());
                p.kind = "https://dialout.dev/problems/idempotency-conflict".into();
                p
            }
            SendError::Invalid(InvalidInput::UnknownTemplate(slug)) => {
                Problem::not_found(format!("no template {slug:?}"))
            }
            SendError::Invalid(i) => {
                let mut p = Problem::invalid(field_of(&i), message_of(&i));
                p.detail = i.to_string();
                p
            }
            SendError::NotAllowed(s) => not_allowed(&s),
            SendError::Refused(r) => {
                let mut p = Problem::conflict(format!("not sent: {r}"));
                p.kind = "https://dialout.dev/problems/template-refused".into();
                p
            }
            other => Problem::internal(other),
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        if e.is_outage() {
            return Problem::outage(e);
        }
        match &e {
            Error::NoMessage(_) | Error::NoTemplate(_) | Error::NoToken(_) => {
                Problem::not_found(e.to_string())
            }
            Error::TemplateExists(_) | Error::TokenExists(_) | Error::Refused { .. } => {
                Problem::conflict(e.to_string())
            }
            Error::InvalidTemplate(t @ TemplateError::Slug(_)) => {
                Problem::invalid("slug", t.to_string())
            }
            Error::InvalidTemplate(t) => Problem::invalid("body", t.to_string()),
            Error::NothingToChange => Problem::invalid("body", e.to_string()),
            Error::InvalidTokenName(_) => Problem::invalid("name", e.to_string()),
            Error::NoScope => Problem::invalid("scopes", e.to_string()),
            Error::InvalidNumber(_) => Problem::invalid("number", e.to_string()),
            Error::InvalidDnc(m) if m.contains("until") => Problem::invalid("until", m.clone()),
            Error::InvalidDnc(m) => Problem::invalid("reason", m.clone()),
            _ => Problem::internal(e),
        }
    }
}

/// 409 for a recipient the rules refuse (do-not-call, cap, duplicate); `rule` in the type.
fn not_allowed(s: &Screened) -> Problem {
    let rule = match s {
        Screened::DoNotCall { .. } => "do-not-call",
        Screened::CapReached { .. } => "cap-reached",
        Screened::Duplicate { .. } => "duplicate",
    };
    let mut p = Problem::conflict(format!("not sent: {s}"));
    p.kind = format!("https://dialout.dev/problems/{rule}");
    p
}

impl From<WebhookError> for Problem {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Invalid(m) => {
                let field = if m.contains("URL") {
                    "url"
                } else if m.contains("event type") {
                    "events"
                } else if m.contains("tag") {
                    "tag"
                } else {
                    "body"
                };
                Problem::invalid(field, m)
            }
            WebhookError::NoEndpoint(_) | WebhookError::NoDelivery(_) => {
                Problem::not_found(e.to_string())
            }
            WebhookError::Disabled(_) | WebhookError::Duplicate { .. } => {
                Problem::conflict(e.to_string())
            }
            WebhookError::Store(s) => Problem::from(Error::Store(s)),
            WebhookError::Stopped(_) => Problem::internal(e),
        }
    }
}
