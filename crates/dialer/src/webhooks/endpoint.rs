//! What the webhook commands take and give: their error, the JSON form of endpoints and
//! deliveries, and the check of an endpoint's URL.

use serde_json::{Value, json};

use dialout_store::error::StoreError;
use dialout_store::webhooks::{Delivery, Endpoint};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad input; nothing was stored.
    #[error("{0}")]
    Invalid(String),
    #[error("no webhook endpoint {0}")]
    NoEndpoint(i64),
    #[error("no webhook delivery {0}")]
    NoDelivery(i64),
    /// A replay that would queue deliveries for disabled endpoints: nothing was queued.
    #[error("{}; nothing was queued: enable {} first", disabled_words(.0), if .0.len() == 1 { "it" } else { "them" })]
    Disabled(Vec<(i64, Option<String>)>),
    /// An endpoint already posts to this URL.
    #[error("webhook endpoint {id} already posts to {url}{}", if *.active { "" } else { " (disabled: enable it instead)" })]
    Duplicate { id: i64, url: String, active: bool },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("store work stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

impl WebhookError {
    /// The caller's mistake (bad input, unknown id) rather than a failure of the store.
    pub fn is_caller_error(&self) -> bool {
        !matches!(self, WebhookError::Store(_) | WebhookError::Stopped(_))
    }
}

/// "webhook endpoint 3 is disabled (the receiver answered 410 Gone)", or several.
fn disabled_words(endpoints: &[(i64, Option<String>)]) -> String {
    let one = |(id, reason): &(i64, Option<String>)| match reason {
        Some(r) => format!("{id} ({r})"),
        None => id.to_string(),
    };
    match endpoints {
        [e] => format!("webhook endpoint {} is disabled", one(e)),
        many => format!(
            "webhook endpoints {} are disabled",
            many.iter().map(one).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `{"id", "url", "events", "tag", "active", "disabled_reason", "created_at"}`: never the secret.
pub fn endpoint_json(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "events": e.events,
        "tag": e.tag,
        "active": e.active,
        "disabled_reason": e.disabled_reason,
        "created_at": e.created_at.to_string(),
    })
}

pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "event_id": d.event_id(),
        "type": d.event_type,
        "message_id": d.message_id.map(|m| m.to_string()),
        "sequence": d.sequence,
        "from": d.from.map(|s| s.name()),
        "to": d.to.map(|s| s.name()),
        "reason": d.reason,
        "at": d.at.to_string(),
        "state": d.state,
        "attempts": d.attempts,
        "queued_at": d.queued_at.to_string(),
        "next_attempt_at": d.next_attempt_at.to_string(),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "last_response": d.last_response,
        "delivered_at": d.delivered_at.map(|t| t.to_string()),
    })
}

pub(crate) fn check_url(url: &str) -> Result<(), WebhookError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| WebhookError::Invalid(format!("invalid webhook URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(WebhookError::Invalid(format!(
            "invalid webhook URL {url:?}: expected http:// or https:// and a host"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(WebhookError::Invalid(
            "invalid webhook URL: credentials do not belong in it (the signature authenticates dialout)".into(),
        ));
    }
    Ok(())
}
