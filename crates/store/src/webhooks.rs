//! What the store keeps for webhooks: endpoints and their outbox of deliveries.
//!
//! Delivery rows for state changes are written by the database itself (triggers, see each
//! store's `webhooks.rs`), in the transaction that changes the message: whatever code path
//! writes a history entry, its events commit or roll back with it.

use crate::error::StoreError;
use crate::webhook_control::WebhookControl;
use dialout_model::id::MessageId;
use dialout_model::state::State;
use jiff::Timestamp;
use serde::Serialize;

/// Event types an endpoint may subscribe to.
pub const STATE_CHANGED: &str = "message.state_changed";
pub const FINAL: &str = "message.final";
pub const TEST: &str = "webhook.test";
pub const EVENT_TYPES: [&str; 2] = [STATE_CHANGED, FINAL];

/// Where a `message.final` event sorts among its message's events: after every transition.
pub const FINAL_ORD: i64 = 1_000_000_000;

/// A signing secret (`whsec_...`): never printed by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewEndpoint {
    pub url: String,
    pub secret: Secret,
    /// Some of [`EVENT_TYPES`].
    pub events: Vec<String>,
    /// Only messages with this tag.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    #[serde(skip)]
    pub secret: Secret,
    pub events: Vec<String>,
    pub tag: Option<String>,
    /// False once the receiver answered 410 Gone.
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn code(self) -> i64 {
        match self {
            DeliveryState::Pending => 0,
            DeliveryState::Delivered => 1,
            DeliveryState::Failed => 2,
        }
    }
    pub fn from_code(code: i64) -> Result<Self, StoreError> {
        match code {
            0 => Ok(DeliveryState::Pending),
            1 => Ok(DeliveryState::Delivered),
            2 => Ok(DeliveryState::Failed),
            other => Err(StoreError::corrupt("webhook delivery state", other)),
        }
    }
}

/// One event for one endpoint, with where its delivery got to.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_type: String,
    pub message_id: Option<MessageId>,
    /// The transition's number for its message, from 1 (for `message.final`, the last one's;
    /// None where the store left it to be counted at delivery).
    pub sequence: Option<i64>,
    /// When the change happened.
    pub at: Timestamp,
    pub from: Option<State>,
    pub to: Option<State>,
    pub reason: Option<String>,
    pub state: DeliveryState,
    pub attempts: u32,
    /// When it was queued (or replayed): `max_age` counts from here.
    pub queued_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// The start of the receiver's last answer (1 kB at most).
    pub last_response: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

impl Delivery {
    /// The event's id, the same for every endpoint and every retry (`webhook-id`).
    pub fn event_id(&self) -> String {
        match (self.event_type.as_str(), self.message_id) {
            (STATE_CHANGED, Some(m)) => format!("evt_{}_{}", m, self.sequence.unwrap_or(0)),
            (FINAL, Some(m)) => format!("evt_{m}_final"),
            _ => format!("evt_test_{}", self.id),
        }
    }
}

/// What one post came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered {
        status: u16,
        response: String,
    },
    /// Try again at `at`.
    Retry {
        at: Timestamp,
        status: Option<u16>,
        error: String,
        response: Option<String>,
    },
    /// Given up (too old, or the endpoint is gone).
    Failed {
        status: Option<u16>,
        error: String,
        response: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<i64>,
    pub failed_only: bool,
    /// Newest first, this many at most.
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Replay {
    /// This delivery, whatever its state.
    Id(i64),
    /// Every delivery given up (failed) at or after this instant, whenever its event
    /// happened.
    FailedSince(Timestamp),
}

/// What [`WebhookStore::replay`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    /// This many deliveries are pending again (0: none matched).
    Queued(usize),
    /// Nothing was queued: deliveries asked for belong to these disabled endpoints, which
    /// would never post them. Enable them first.
    Disabled(Vec<i64>),
}

/// The webhook half of a [`crate::store::Store`]; each method is one transaction. The
/// endpoint switch, the claims' lease and the wake-up signal are in
/// [`crate::webhook_control::WebhookControl`].
pub trait WebhookStore: WebhookControl + Send + Sync {
    /// Stores an endpoint; from then on every state change of a matching message queues a
    /// delivery for it, in the change's own transaction.
    fn add_endpoint(&self, new: &NewEndpoint, now: Timestamp) -> Result<Endpoint, StoreError>;
    fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError>;
    /// The endpoint and its deliveries.
    fn remove_endpoint(&self, id: i64) -> Result<bool, StoreError>;
    /// No more events are queued for it, and its pending ones are failed with `reason`.
    fn disable_endpoint(&self, id: i64, reason: &str, now: Timestamp) -> Result<(), StoreError>;
    /// Queues a `webhook.test` event claimed by `owner` until `lease_until` (its caller posts
    /// it at once); None when there is no such endpoint.
    fn enqueue_test(
        &self,
        endpoint_id: i64,
        owner: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<Delivery>, StoreError>;
    /// Claims up to `limit` due deliveries of one endpoint for `owner` until `lease_until`
    /// (a lease its holder renews while it posts, see `WebhookControl::renew_claims`):
    /// of each message only its earliest pending event, so events go out in order. Concurrent
    /// callers never get the same delivery.
    fn claim_deliveries(
        &self,
        owner: &str,
        endpoint_id: i64,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Records outcomes of deliveries `owner` holds and releases them.
    fn record_deliveries(
        &self,
        owner: &str,
        outcomes: &[(i64, Outcome)],
        now: Timestamp,
    ) -> Result<(), StoreError>;
    fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError>;
    fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError>;
    /// Queues deliveries again (pending, due now, `max_age` from now), all or none: none
    /// when one of them belongs to a disabled endpoint.
    fn replay(&self, which: Replay, now: Timestamp) -> Result<Replayed, StoreError>;
}

/// The event types as stored: comma-separated.
pub fn events_column(events: &[String]) -> String {
    events.join(",")
}

pub fn events_from_column(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Receiver answers kept for diagnosis are cut to this many bytes.
pub const RESPONSE_LIMIT: usize = 1024;

/// `text` cut to [`RESPONSE_LIMIT`] bytes at a character boundary.
pub fn truncate_response(text: &str) -> String {
    if text.len() <= RESPONSE_LIMIT {
        return text.to_string();
    }
    let mut end = RESPONSE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
