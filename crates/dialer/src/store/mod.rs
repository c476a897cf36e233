//! The store: messages, their history, templates and delivery bookkeeping, on SQLite (the
//! embedded default) or PostgreSQL. Synchronous on purpose: async callers run it on a
//! blocking thread, never inside a backend call.

mod beats;
mod pace;
mod plan;
pub mod postgres;
pub mod sqlite;
pub mod tokens;
pub mod webhooks;
pub use beats::WorkerBeat;
pub(crate) use pace::Bucket;
pub use pace::Pace;

use std::sync::Arc;

use jiff::Timestamp;

pub use crate::dnc::{DncEntry, Screen, Screened};
use crate::{HistoryEntry, Message, MessageId, NewMessage, PhoneNumber, RelatedObject, State, Tag};

pub(crate) use plan::{
    creation_entry, log_created, log_history, logged, new_message_row, plan_change, repeat_of,
};

/// Opens the store a URL names, applying its migrations: `sqlite://PATH` (relative to the
/// current directory; `sqlite:///abs/path.db` for an absolute one) or `postgres://...`.
pub fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(StoreError::Url {
                url: redact_url(url),
                reason: "the file path is empty".into(),
            });
        }
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(
            path,
        ))?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url)?))
    } else {
        Err(StoreError::Url {
            url: redact_url(url),
            reason: "expected sqlite://PATH or postgres://USER@HOST/DATABASE".into(),
        })
    }
}

/// The URL with any password replaced, fit for errors and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = userinfo.split(':').next().unwrap_or("");
    let masked = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_string()
    };
    // Query parameters may carry a password too (`?password=...`).
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?***"),
        None => tail.to_string(),
    };
    format!("{scheme}://{masked}@{host}{tail}")
}

/// The states of unpublished messages as an SQL list, `(-1, 99)`: the partial indexes of
/// both schemas were made with this list, and a query must say the same to use them.
pub(crate) fn unpublished_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let codes: Vec<String> = State::ALL
            .iter()
            .filter(|s| s.is_unpublished())
            .map(|s| s.code().to_string())
            .collect();
        format!("({})", codes.join(", "))
    });
    &SQL
}

/// Times are kept to the microsecond in both databases.
pub(crate) fn micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

/// What the application keeps: messages with their history, templates, and the delivery
/// bookkeeping (claims, attempts, status cursors). Every method is one transaction.
pub trait Store: Send + Sync + 'static {
    // ---- messages ----

    /// Stores new messages, with related objects, all in one transaction, as `mode` says:
    /// queued, claimed, or claimed with the first attempt begun; with
    /// [`InsertMode::unique_per_template`], a message its template's no-duplicates rule
    /// refuses is [`StoreError::Duplicate`] (decided in the same transaction, so two
    /// concurrent sends cannot both pass). A message whose idempotency key is already stored
    /// is not stored again: the first one comes back (`existing: true`, never claimed), or
    /// `IdempotencyConflict` when its content, recipient or template differ. On any error
    /// nothing is stored.
    fn insert(
        &self,
        new: &[NewMessage],
        mode: InsertMode<'_>,
        now: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError>;
    fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError>;
    /// Newest first, unless the filter asks for another order.
    fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError>;
    /// The first entry (None → WAITING, "stored") is the creation itself.
    fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError>;

    // ---- templates ----

    fn add_template(&self, template: &NewTemplate, now: Timestamp) -> Result<Template, StoreError>;
    fn update_template(
        &self,
        slug: &str,
        change: &TemplateChange,
        now: Timestamp,
    ) -> Result<Template, StoreError>;
    fn template(&self, slug: &str) -> Result<Option<Template>, StoreError>;
    fn templates(&self) -> Result<Vec<Template>, StoreError>;
    /// Messages keep the slug; their template link is cleared.
    fn remove_template(&self, slug: &str) -> Result<bool, StoreError>;

    // ---- delivery ----

    /// Claims unpublished, non-final messages that are free (unclaimed, or their lease
    /// expired) for `owner` until `lease_until`, or renews `owner`'s claims
    /// ([`Claimable::Held`]). Concurrent callers never get the same message.
    fn claim(
        &self,
        owner: &str,
        which: Claimable<'_>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Vec<Message>, StoreError>;
    /// Counts an attempt of each message (`attempts += 1`, `attempt_unresolved`) in one
    /// transaction, committed before the backend is called. Messages `owner` does not
    /// hold are left out.
    fn begin_attempts(
        &self,
        owner: &str,
        ids: &[MessageId],
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError>;
    /// Records what happened to messages `owner` holds and releases them, in one
    /// transaction; one entry per change, None where `owner` no longer held the claim
    /// (nothing changed). A message given as last seen ([`Seen::Message`]) may be written
    /// without reading its row back first.
    fn finish(
        &self,
        owner: &str,
        changes: &[(Seen, Change)],
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError>;
    /// Gives back `owner`'s claims on these messages, unchanged.
    fn release(&self, owner: &str, ids: &[MessageId]) -> Result<usize, StoreError>;
    /// Status updates outside any claim (status checks, results, cancel), with the
    /// backend's new status cursor in the same transaction. A final message is never
    /// changed; an update that changes nothing writes nothing. None for messages not stored.
    fn apply(
        &self,
        changes: &[(MessageId, Change)],
        cursor: Option<Cursor<'_>>,
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError>;
    /// What the dashboard and the pacing need of a backend.
    fn backend_state(&self, backend: &str) -> Result<BackendState, StoreError>;

    // ---- dashboard ----

    /// Messages created at or after `since`, counted by state in consecutive intervals of
    /// `bucket` starting at `since`; only non-zero counts, in no particular order.
    fn state_counts(
        &self,
        since: Timestamp,
        bucket: jiff::SignedDuration,
    ) -> Result<Vec<StateCount>, StoreError>;
    /// Records a worker's heartbeat (one row per worker, replaced).
    fn beat(&self, beat: &WorkerBeat) -> Result<(), StoreError>;
    /// The workers heard from at or after `since`, the most recent first.
    fn beats(&self, since: Timestamp) -> Result<Vec<WorkerBeat>, StoreError>;
    /// Messages waiting to be published (WAITING, ERROR_RETRY); SQLite leaves out those the
    /// process that stored them is publishing at once.
    fn queue_depth(&self) -> Result<usize, StoreError>;
    /// Bookkeeping a store may keep behind, caught up, looking at up to `limit` messages
    /// (the worker calls it on every pass): messages stored as attempting whose sender died
    /// (their claim expired) become claimable again, and lagging indexes catch up.
    /// Returns how many claims were recovered. Optional: nothing to do by default.
    fn catch_up(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let _ = (now, limit);
        Ok(0)
    }
    /// A channel that ticks when messages were queued (by any process, where the database
    /// can tell: PostgreSQL's `LISTEN/NOTIFY`), so an idle worker wakes before its next
    /// poll. None: polling only (the default).
    fn due_signal(&self) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        Ok(None)
    }

    // ---- do-not-call list and recipient limits (see `crate::dnc`) ----

    /// Adds or replaces entries (by number); returns how many numbers were not listed yet.
    fn dnc_add(&self, entries: &[DncEntry]) -> Result<usize, StoreError>;
    /// Whether the number was listed.
    fn dnc_remove(&self, number: &PhoneNumber) -> Result<bool, StoreError>;
    /// Every entry, expired ones included, by number.
    fn dnc_list(&self) -> Result<Vec<DncEntry>, StoreError>;
    /// The entries of these numbers that apply at `now`.
    fn dnc_find(
        &self,
        numbers: &[PhoneNumber],
        now: Timestamp,
    ) -> Result<Vec<DncEntry>, StoreError>;

    // ---- API tokens (the HTTP API) ----

    /// Stores a new token; a name already taken is [`StoreError::TokenExists`].
    fn add_token(
        &self,
        token: &tokens::NewToken,
        now: Timestamp,
    ) -> Result<tokens::Token, StoreError>;
    /// Every token, by name.
    fn tokens(&self) -> Result<Vec<tokens::Token>, StoreError>;
    /// The token whose public lookup part is `lookup`, with its hash.
    fn token_by_lookup(&self, lookup: &str) -> Result<Option<tokens::StoredToken>, StoreError>;
    /// Deletes a token; false when no token has this name.
    fn remove_token(&self, name: &str) -> Result<bool, StoreError>;
    /// Records that the token was used at `now`.
    fn touch_token(&self, name: &str, now: Timestamp) -> Result<(), StoreError>;

    // ---- webhooks ----

    /// Webhook endpoints and their outbox.
    fn webhooks(&self) -> &dyn webhooks::WebhookStore;
}

/// How [`Store::insert`] stores new messages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InsertMode<'a> {
    pub start: Start<'a>,
    /// Apply each message's template no-duplicates rule (see [`Store::insert`]).
    pub unique_per_template: bool,
    /// Do-not-call list, caps and dedupe, checked per message in the insert's transaction:
    /// a refused message is [`StoreError::Screened`] and nothing is stored.
    pub screen: Screen,
}

/// The state a new message starts in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Start<'a> {
    /// WAITING, for the worker.
    #[default]
    Queued,
    /// Claimed by `owner` until `until`, for publishing at once.
    Claimed { owner: &'a str, until: Timestamp },
    /// Claimed, and its first attempt begun (attempts 1, unresolved): one commit fewer.
    /// Only for backends that can tell afterwards whether they got a message: a sender that
    /// dies before recording the outcome leaves an attempt the next claimer looks up.
    Attempting { owner: &'a str, until: Timestamp },
}

impl<'a> InsertMode<'a> {
    pub const QUEUED: InsertMode<'static> = InsertMode {
        start: Start::Queued,
        unique_per_template: false,
        screen: Screen {
            dnc: false,
            limits: crate::dnc::RecipientLimits {
                cap: None,
                dedupe_window: None,
            },
            allow_duplicate: false,
        },
    };
    pub fn claimed(owner: &'a str, until: Timestamp) -> Self {
        Start::Claimed { owner, until }.into()
    }
    pub fn attempting(owner: &'a str, until: Timestamp) -> Self {
        Start::Attempting { owner, until }.into()
    }
    /// With `on`, the templates' no-duplicates rule applies.
    pub fn unique_per_template(self, on: bool) -> Self {
        InsertMode {
            unique_per_template: on,
            ..self
        }
    }
    /// With these checks of each message (see [`Screen`]).
    pub fn screened(self, screen: Screen) -> Self {
        InsertMode { screen, ..self }
    }
    /// The claim the new messages get: owner, lease, and whether the attempt is begun.
    pub(crate) fn claim(&self) -> Option<(&'a str, Timestamp, bool)> {
        match self.start {
            Start::Queued => None,
            Start::Claimed { owner, until } => Some((owner, until, false)),
            Start::Attempting { owner, until } => Some((owner, until, true)),
        }
    }
}

impl<'a> From<Start<'a>> for InsertMode<'a> {
    fn from(start: Start<'a>) -> Self {
        InsertMode {
            start,
            ..InsertMode::QUEUED
        }
    }
}

/// Which messages [`Store::claim`] takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Claimable<'a> {
    /// Up to `limit` due messages (WAITING or ERROR_RETRY, past `not_before` and
    /// `next_attempt_at`), by priority then age, of one backend or all. With a backend,
    /// `pace` holds its limits across every claimer of the database (see [`Pace`]); it is
    /// ignored without one.
    Due {
        limit: usize,
        backend: Option<&'a str>,
        pace: Pace,
    },
    /// These messages, in this order, if free.
    Ids(&'a [MessageId]),
    /// Those of these messages the claimer holds: their lease runs to the new end.
    Held(&'a [MessageId]),
}

/// A message given to [`Store::finish`].
// Unboxed: the messages are moved in as the caller has them, one allocation fewer each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Id(MessageId),
    /// As the caller last saw it (claimed and begun by the owner).
    Message(Message),
}

impl Seen {
    pub fn id(&self) -> MessageId {
        match self {
            Seen::Id(id) => *id,
            Seen::Message(m) => m.id,
        }
    }
}

impl From<MessageId> for Seen {
    fn from(id: MessageId) -> Self {
        Seen::Id(id)
    }
}

impl From<Message> for Seen {
    fn from(m: Message) -> Self {
        Seen::Message(m)
    }
}

/// Where a backend's last status check got to, written with the updates it brought.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor<'a> {
    pub backend: &'a str,
    pub value: &'a str,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BackendState {
    /// Messages sent and not final.
    pub in_flight: usize,
    /// Where its last successful status check got to.
    pub cursor: Option<String>,
}

pub use plan::Change;

/// How many messages of one interval are in one state ([`Store::state_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StateCount {
    /// Which interval: 0 is the one starting at `since`.
    pub bucket: i64,
    pub state: State,
    pub count: u64,
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
    /// Only messages stored before this instant.
    pub created_before: Option<Timestamp>,
    /// Only messages to this number, as stored (E.164).
    pub recipient: Option<String>,
    /// Only messages stored before this one (the next page, newest first).
    pub before: Option<MessageId>,
    /// Only messages sent and not final: those a backend still reports on.
    pub in_flight: bool,
    /// Only messages sent at or after this instant.
    pub sent_since: Option<Timestamp>,
    pub order: Order,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    NewestFirst,
    /// Oldest `sent_at` first (messages never sent last): what status checks walk.
    OldestSentFirst,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("idempotency key {key:?} was already used for message {existing} with other content")]
    IdempotencyConflict { key: String, existing: MessageId },
    #[error("template {0:?} already exists")]
    TemplateExists(String),
    #[error("no template {0:?}")]
    NoTemplate(String),
    #[error("token {0:?} already exists")]
    TokenExists(String),
    /// A message from template `slug` already exists for exactly these related objects,
    /// and the template allows no duplicates: nothing was stored.
    #[error("a message from template {slug:?} already exists for these related objects")]
    Duplicate { slug: String },
    /// Refused for its recipient (do-not-call, cap, dedupe): nothing was stored.
    #[error(transparent)]
    Screened(#[from] Screened),
    #[error("invalid database URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    /// An SQLite file that cannot be created or opened.
    #[error("cannot open database file {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `url` is without its password.
    #[error("cannot connect to PostgreSQL at {url}: {}", postgres::describe(.source))]
    Connect {
        url: String,
        #[source]
        source: ::postgres::Error,
    },
    #[error(
        "the database schema is version {found}, newer than this dialout knows ({known}): upgrade dialout"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("stored row is unreadable: {what}: {detail}")]
    Corrupt { what: String, detail: String },
    /// Two messages were made with the same id.
    #[error("message {0} is already stored")]
    AlreadyStored(MessageId),
    /// A connection pool's lock was poisoned by a panic.
    #[error("connection pool lock poisoned")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what: what.to_string(),
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpublished_states_as_the_indexes_list_them() {
        assert_eq!(unpublished_sql(), "(-1, 99)");
    }

    #[test]
    fn redaction_hides_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?password=secret"),
            "postgres://u@h/db?***"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert!(!redact_url("postgres://a:p@ss@h/db").contains("p@ss"));
    }
}
