//! The store: messages, their history, templates and delivery bookkeeping, on SQLite (the
//! embedded default) or PostgreSQL. Synchronous on purpose: async callers run it on a
//! blocking thread, never inside a backend call.

use jiff::Timestamp;

use crate::{HistoryEntry, JsonMap, Message, MessageId, NewMessage, RelatedObject, State, Tag};

pub trait Store: Send + Sync + 'static {
    // ---- messages ----

    /// Stores new messages as WAITING, with related objects and a first history row, all in
    /// one transaction. A message whose idempotency key is already stored is not stored
    /// again: the first message comes back (`existing: true`), or `IdempotencyConflict`
    /// when its content, recipient or template differ (and then nothing is stored).
    fn insert_messages(&self, new: &[NewMessage], now: Timestamp) -> Result<Vec<Inserted>, StoreError>;
    fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError>;
    /// Newest first.
    fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError>;
    fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Whether a message from this template already exists for exactly these related
    /// objects (the templates' no-duplicates rule).
    fn template_used_for(&self, slug: &str, related: &[RelatedObject]) -> Result<bool, StoreError>;

    // ---- templates ----

    fn add_template(&self, template: &NewTemplate, now: Timestamp) -> Result<Template, StoreError>;
    fn update_template(&self, slug: &str, change: &TemplateChange, now: Timestamp) -> Result<Template, StoreError>;
    fn template(&self, slug: &str) -> Result<Option<Template>, StoreError>;
    fn templates(&self) -> Result<Vec<Template>, StoreError>;
    /// Messages keep the slug; their template link is cleared.
    fn remove_template(&self, slug: &str) -> Result<bool, StoreError>;

    // ---- delivery ----

    /// Claims up to `limit` due messages (WAITING or ERROR_RETRY, past `not_before` and
    /// `next_attempt_at`, unclaimed or with an expired lease), by priority then age, for
    /// `owner` until `lease_until`. Concurrent callers never get the same message
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    fn claim_due(&self, owner: &str, now: Timestamp, lease_until: Timestamp, limit: usize, backend: Option<&str>) -> Result<Vec<Message>, StoreError>;
    /// Claims these messages if they are unpublished and free (for `send` publishing at once).
    fn claim_ids(&self, ids: &[MessageId], owner: &str, now: Timestamp, lease_until: Timestamp) -> Result<Vec<Message>, StoreError>;
    /// Counts an attempt (`attempts += 1`, `attempt_unresolved = true`) and commits it before
    /// the backend is called. None when `owner` no longer holds the claim.
    fn begin_attempt(&self, id: MessageId, owner: &str, now: Timestamp) -> Result<Option<Message>, StoreError>;
    /// Records what the backend said and releases the claim. None when `owner` no longer
    /// holds the claim (nothing changed).
    fn finish(&self, id: MessageId, owner: &str, change: &Change, now: Timestamp) -> Result<Option<Message>, StoreError>;
    /// Releases every claim of `owner` without changing the messages.
    fn release(&self, owner: &str) -> Result<usize, StoreError>;
    /// Extends every claim of `owner`.
    fn renew(&self, owner: &str, lease_until: Timestamp) -> Result<usize, StoreError>;
    /// Applies a status update outside of a claim (status checks, results, cancel). A final
    /// message is never changed; an update that changes nothing writes nothing.
    fn apply(&self, id: MessageId, change: &Change, now: Timestamp) -> Result<Option<Message>, StoreError>;
    /// Messages of `backend` that were sent and are not final.
    fn in_flight(&self, backend: &str) -> Result<usize, StoreError>;
    /// Sent, non-final messages of `backend` (all of them when `sent_since` is None).
    fn sent_not_final(&self, backend: &str, sent_since: Option<Timestamp>, limit: usize) -> Result<Vec<Message>, StoreError>;
    /// Where the last successful status check of `backend` got to.
    fn cursor(&self, backend: &str) -> Result<Option<String>, StoreError>;
    fn set_cursor(&self, backend: &str, cursor: &str) -> Result<(), StoreError>;
}

/// A change to a stored message, with the reason for the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub state: State,
    pub is_final: bool,
    pub reason: String,
    /// Replaces the message's error (None clears it).
    pub error: Option<String>,
    /// Set when Some.
    pub sent_at: Option<Timestamp>,
    /// Merged into `extra_sender_data`.
    pub sender_data: JsonMap,
    pub next_attempt_at: Option<Timestamp>,
    /// Whether the attempt's outcome is still unknown (ambiguous failure).
    pub attempt_unresolved: bool,
    /// A failed status check: `check_failures += 1`, a history row `to: ERROR_UPDATE`, the
    /// state itself unchanged unless `state` differs (it becomes final after too many).
    pub check_failed: bool,
    /// The backend did not take the attempt begun for this change (paused, no capacity):
    /// `attempts -= 1`, so that only real publishes count against the limit.
    pub uncount_attempt: bool,
}

impl Change {
    pub fn to(state: State, reason: impl Into<String>) -> Self {
        Change {
            state,
            is_final: state.is_final_by_default(),
            reason: reason.into(),
            error: None,
            sent_at: None,
            sender_data: JsonMap::new(),
            next_attempt_at: None,
            attempt_unresolved: false,
            check_failed: false,
            uncount_attempt: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub message: Message,
    /// The idempotency key matched a message stored before; nothing new was stored.
    pub existing: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    pub state: Option<State>,
    pub tag: Option<Tag>,
    pub related: Option<RelatedObject>,
    pub backend: Option<String>,
    pub created_since: Option<Timestamp>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Template {
    pub id: i64,
    pub slug: String,
    pub body: String,
    pub active: bool,
    pub allow_duplicates: bool,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTemplate {
    pub slug: String,
    pub body: String,
    pub active: bool,
    pub allow_duplicates: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateChange {
    pub body: Option<String>,
    pub active: Option<bool>,
    pub allow_duplicates: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("idempotency key {key:?} was already used for message {existing} with other content")]
    IdempotencyConflict { key: String, existing: MessageId },
    #[error("template {0:?} already exists")]
    TemplateExists(String),
    #[error("no template {0:?}")]
    NoTemplate(String),
    #[error("invalid database URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("database error: {0}")]
    Database(String),
}
