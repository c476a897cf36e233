//! The webhook methods of [`Dialer`] (CLI `dialout webhook ...`, HTTP `/v1/webhooks`).

use jiff::Timestamp;

use dialout_backends::shared::blocking;
use dialout_model::message::Tag;
use dialout_store::webhooks::{
    Delivery, DeliveryFilter, EVENT_TYPES, Endpoint, NewEndpoint, Outcome, Replay, Replayed, Secret,
};

use crate::dialer::Dialer;
use crate::webhooks::deliver::Deliverer;
use crate::webhooks::endpoint::{WebhookError, check_url};
use crate::webhooks::post::{Answer, client, post};
use crate::webhooks::settings::WebhookSettings;
use crate::webhooks::signing;

impl Dialer {
    /// The `[webhooks]` settings the delivery loop uses.
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> Self {
        self.set_webhook_settings(settings);
        self
    }

    /// Subscribes `url` to `events` (default: all of [`EVENT_TYPES`]) of messages with `tag`
    /// (default: every message). Returns the endpoint and its secret, which is shown only
    /// here. A URL some endpoint already posts to is refused ([`WebhookError::Duplicate`]):
    /// two endpoints would post every event twice.
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
        if let Some(e) = self.webhooks().await?.into_iter().find(|e| e.url == url) {
            return Err(WebhookError::Duplicate {
                id: e.id,
                url: e.url,
                active: e.active,
            });
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

    /// Turns an endpoint on (`active`: it gets the events of changes from now on; what failed
    /// while it was off stays failed until replayed) or off (no more events; its pending
    /// deliveries fail as "disabled by an admin"). Returns the endpoint as it is then.
    pub async fn set_webhook_active(
        &self,
        id: i64,
        active: bool,
    ) -> Result<Endpoint, WebhookError> {
        let store = self.store().clone();
        let ep = blocking::run(move || {
            if active {
                return store.webhooks().enable_endpoint(id);
            }
            if !store.webhooks().endpoints()?.iter().any(|e| e.id == id) {
                return Ok(None);
            }
            store
                .webhooks()
                .disable_endpoint(id, "disabled by an admin", Timestamp::now())?;
            Ok(store
                .webhooks()
                .endpoints()?
                .into_iter()
                .find(|e| e.id == id))
        })
        .await??;
        ep.ok_or(WebhookError::NoEndpoint(id))
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
        let body = serde_json::to_vec(&crate::webhooks::event::body(&d, None, None))
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

    /// Queues deliveries again; returns how many. An unknown delivery id is an error, and so
    /// is a delivery of a disabled endpoint (it would never be posted): then nothing is
    /// queued.
    pub async fn replay_webhooks(&self, which: Replay) -> Result<usize, WebhookError> {
        let store = self.store().clone();
        let done = blocking::run(move || {
            let done = store.webhooks().replay(which, Timestamp::now())?;
            let reasons = match &done {
                Replayed::Disabled(ids) => {
                    let eps = store.webhooks().endpoints()?;
                    ids.iter()
                        .map(|id| {
                            let reason = eps
                                .iter()
                                .find(|e| e.id == *id)
                                .and_then(|e| e.disabled_reason.clone());
                            (*id, reason)
                        })
                        .collect()
                }
                Replayed::Queued(_) => Vec::new(),
            };
            Ok::<_, dialout_store::StoreError>((done, reasons))
        })
        .await??;
        match (which, done) {
            (_, (Replayed::Disabled(_), reasons)) => Err(WebhookError::Disabled(reasons)),
            (Replay::Id(id), (Replayed::Queued(0), _)) => Err(WebhookError::NoDelivery(id)),
            (_, (Replayed::Queued(n), _)) => Ok(n),
        }
    }

    /// The delivery loop over this Dialer's store (`worker` and `serve` run it beside their
    /// own work: `deliverer.run(stop)`).
    pub fn webhook_deliverer(&self) -> Result<Deliverer, WebhookError> {
        Deliverer::new(self.store().clone(), self.webhook_settings().clone())
            .map_err(WebhookError::Invalid)
    }
}
