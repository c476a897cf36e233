//! The webhook methods of [`Dialer`] (CLI `dialout webhook ...`, HTTP `/v1/webhooks`), and
//! the JSON form of endpoints and deliveries.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::deliver::Deliverer;
use super::post::{Answer, client, post};
use super::settings::WebhookSettings;
use super::signing;
use crate::blocking;
use crate::store::StoreError;
use crate::store::webhooks::{
    Delivery, DeliveryFilter, EVENT_TYPES, Endpoint, NewEndpoint, Outcome, Replay, Secret,
};
use crate::{Dialer, Tag};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad input; nothing was stored.
    #[error("{0}")]
    Invalid(String),
    #[error("no webhook endpoint {0}")]
    NoEndpoint(i64),
    #[error("no webhook delivery {0}")]
    NoDelivery(i64),
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

fn check_url(url: &str) -> Result<(), WebhookError> {
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

impl Dialer {
    /// The `[webhooks]` settings the delivery loop uses.
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> Self {
        self.set_webhook_settings(settings);
        self
    }

    /// Subscribes `url` to `events` (default: all of [`EVENT_TYPES`]) of messages with `tag`
    /// (default: every message). Returns the endpoint and its secret, which is shown only
    /// here.
    pub async fn add_webhook(
        &self,
        url: &str,
        events: Option<Vec<String>>,
        tag: Option<String>,
    ) -> Result<(Endpoint, Secret), WebhookError> {
        check_url(url)?;
        let events = match events {
            None => EVENT_TYPES.iter().map(|s| s.to_string()).collect(),
            Some(list) => {
                let mut out: Vec<String> = Vec::new();
                for e in list.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
                    if !EVENT_TYPES.contains(&e) {
                        return Err(WebhookError::Invalid(format!(
                            "invalid event type {e:?}: expected {}",
                            EVENT_TYPES.join(" or ")
                        )));
                    }
                    if !out.iter().any(|o| o == e) {
                        out.push(e.to_string());
                    }
                }
                if out.is_empty() {
                    return Err(WebhookError::Invalid("no event type given".into()));
                }
                out
            }
        };
        if let Some(t) = &tag {
            Tag::new(t).map_err(|e| WebhookError::Invalid(e.to_string()))?;
        }
        let secret = signing::new_secret();
        let new = NewEndpoint {
            url: url.to_string(),
            secret: secret.clone(),
            events,
            tag,
        };
        let store = self.store().clone();
        let ep =
            blocking::run(move || store.webhooks().add_endpoint(&new, Timestamp::now())).await??;
        Ok((ep, secret))
    }

    pub async fn webhooks(&self) -> Result<Vec<Endpoint>, WebhookError> {
        let store = self.store().clone();
        Ok(blocking::run(move || store.webhooks().endpoints()).await??)
    }

    pub async fn remove_webhook(&self, id: i64) -> Result<(), WebhookError> {
        let store = self.store().clone();
        if blocking::run(move || store.webhooks().remove_endpoint(id)).await?? {
            Ok(())
        } else {
            Err(WebhookError::NoEndpoint(id))
        }
    }

    /// Queues a `webhook.test` event for the endpoint and posts it at once; the delivery as
    /// it stands afterwards (pending with a retry planned when the receiver did not take it).
    pub async fn test_webhook(&self, id: i64) -> Result<Delivery, WebhookError> {
        let endpoint = self
            .webhooks()
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or(WebhookError::NoEndpoint(id))?;
        let settings = self.webhook_settings().clone();
        let deliverer = Deliverer::new(self.store().clone(), settings.clone())
            .map_err(WebhookError::Invalid)?;
        let owner = deliverer.owner().to_string();
        let (store, o) = (self.store().clone(), owner.clone());
        let lease = jiff::SignedDuration::try_from(settings.timeout * 2).unwrap_or_default();
        let d = blocking::run(move || {
            let now = Timestamp::now();
            store.webhooks().enqueue_test(id, &o, now + lease, now)
        })
        .await??
        .ok_or(WebhookError::NoEndpoint(id))?;
        let key =
            signing::key(&endpoint.secret).map_err(|e| WebhookError::Invalid(e.to_string()))?;
        let body = serde_json::to_vec(&super::event::body(&d, None, None))
            .map_err(|e| WebhookError::Invalid(e.to_string()))?;
        let http = client(settings.timeout).map_err(WebhookError::Invalid)?;
        let answer = post(&http, &endpoint.url, &key, &d.event_id(), body).await;
        let outcome = match answer {
            Answer::Status(s, body) if (200..300).contains(&s) => Outcome::Delivered {
                status: s,
                response: body,
            },
            Answer::Status(s, body) => Outcome::Retry {
                at: Timestamp::now()
                    + jiff::SignedDuration::try_from(settings.backoff(1)).unwrap_or_default(),
                status: Some(s),
                error: format!("HTTP {s}"),
                response: Some(body),
            },
            Answer::NoAnswer(e) => Outcome::Retry {
                at: Timestamp::now()
                    + jiff::SignedDuration::try_from(settings.backoff(1)).unwrap_or_default(),
                status: None,
                error: e,
                response: None,
            },
        };
        let (store, did) = (self.store().clone(), d.id);
        let after = blocking::run(move || {
            store
                .webhooks()
                .record_deliveries(&owner, &[(did, outcome)], Timestamp::now())?;
            store.webhooks().delivery(did)
        })
        .await??;
        after.ok_or(WebhookError::NoDelivery(d.id))
    }

    /// An endpoint's deliveries, newest first (`failed_only`: those given up).
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        failed_only: bool,
        limit: usize,
    ) -> Result<Vec<Delivery>, WebhookError> {
        if !self.webhooks().await?.iter().any(|e| e.id == endpoint_id) {
            return Err(WebhookError::NoEndpoint(endpoint_id));
        }
        let store = self.store().clone();
        let filter = DeliveryFilter {
            endpoint_id: Some(endpoint_id),
            failed_only,
            limit,
        };
        Ok(blocking::run(move || store.webhooks().deliveries(&filter)).await??)
    }

    pub async fn webhook_delivery(&self, id: i64) -> Result<Delivery, WebhookError> {
        let store = self.store().clone();
        blocking::run(move || store.webhooks().delivery(id))
            .await??
            .ok_or(WebhookError::NoDelivery(id))
    }

    /// Queues deliveries again; returns how many. An unknown delivery id is an error.
    pub async fn replay_webhooks(&self, which: Replay) -> Result<usize, WebhookError> {
        let store = self.store().clone();
        let n = blocking::run(move || store.webhooks().replay(which, Timestamp::now())).await??;
        match which {
            Replay::Id(id) if n == 0 => Err(WebhookError::NoDelivery(id)),
            _ => Ok(n),
        }
    }

    /// The delivery loop over this Dialer's store (`worker` and `serve` run it beside their
    /// own work: `deliverer.run(stop)`).
    pub fn webhook_deliverer(&self) -> Result<Deliverer, WebhookError> {
        Deliverer::new(self.store().clone(), self.webhook_settings().clone())
            .map_err(WebhookError::Invalid)
    }
}
