//! The store: messages, their history, templates and delivery bookkeeping, on SQLite (the
//! embedded default) or PostgreSQL. Synchronous on purpose: async callers run it on a
//! blocking thread, never inside a backend call.

mod plan;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use jiff::Timestamp;

use crate::{HistoryEntry, JsonMap, Message, MessageId, NewMessage, RelatedObject, State, Tag};

pub(crate) use plan::{
    creation_entry, log_created, log_history, logged, new_message_row, plan_change, same_request,
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

/// Times are kept to the microsecond in both databases.
pub(crate) fn micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

pub trait Store: Send + Sync + 'static {
    // ---- messages ----

    /// Stores new messages as WAITING, with related objects and a first history row, all in
    /// one transaction. A message whose idempotency key is already stored is not stored
    /// again: the first message comes back (`existing: true`), or `IdempotencyConflict`
    /// when its content, recipient or template differ (and then nothing is stored).
    fn insert_messages(
        &self,
        new: &[NewMessage],
        now: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError>;
    /// `insert_messages` for publishing at once: in the same transaction the new messages
    /// (not those an idempotency key matched) are claimed by `owner` until `lease_until`, as
    /// `claim_ids` would. Saves a write transaction per message on the hot path.
    fn insert_claimed(
        &self,
        new: &[NewMessage],
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError>;
    /// `insert_messages` of the chunks `next` yields until None, all in one transaction, so
    /// that the caller can prepare the next chunk while this one is written. An `Err` from
    /// `next` is returned and nothing is stored. By default: collect, then insert.
    fn insert_chunks(
        &self,
        now: Timestamp,
        next: &mut dyn FnMut() -> Option<Result<Vec<NewMessage>, StoreError>>,
    ) -> Result<Vec<Inserted>, StoreError> {
        let mut all = Vec::new();
        while let Some(chunk) = next() {
            all.extend(chunk?);
        }
        self.insert_messages(&all, now)
    }
    /// `insert_claimed` that also begins the first attempt of each new message (attempts 1,
    /// unresolved), as `begin_attempts` would, in the same transaction. Only for backends
    /// whose `find` can tell afterwards whether they got a message: a crash before the
    /// outcome is recorded leaves an unresolved attempt that the next claimer looks up.
    fn insert_attempting(
        &self,
        new: &[NewMessage],
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError>;
    /// Stores one message from a template that does not allow duplicates: in the same
    /// transaction, nothing is stored (None) when a message from `new.template_slug` already
    /// exists for exactly `new.related`, so two concurrent sends cannot both pass. A matching
    /// idempotency key is answered first, as in `insert_messages`. With `claim`, the new
    /// message is claimed by that owner until that instant, as in `insert_claimed`.
    fn insert_unique(
        &self,
        new: &NewMessage,
        now: Timestamp,
        claim: Option<(&str, Timestamp)>,
    ) -> Result<Option<Inserted>, StoreError>;
    fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError>;
    /// Newest first.
    fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError>;
    /// The first entry (None → WAITING, "stored") is the creation itself.
    fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Whether a message from this template already exists for exactly these related
    /// objects (the templates' no-duplicates rule).
    fn template_used_for(&self, slug: &str, related: &[RelatedObject]) -> Result<bool, StoreError>;

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

    /// Claims up to `limit` due messages (WAITING or ERROR_RETRY, past `not_before` and
    /// `next_attempt_at`, unclaimed or with an expired lease), by priority then age, for
    /// `owner` until `lease_until`. Concurrent callers never get the same message
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    fn claim_due(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
        backend: Option<&str>,
    ) -> Result<Vec<Message>, StoreError>;
    /// Claims these messages if they are unpublished and free (for `send` publishing at once).
    fn claim_ids(
        &self,
        ids: &[MessageId],
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Vec<Message>, StoreError>;
    /// Counts an attempt (`attempts += 1`, `attempt_unresolved = true`) and commits it before
    /// the backend is called. None when `owner` no longer holds the claim.
    fn begin_attempt(
        &self,
        id: MessageId,
        owner: &str,
        now: Timestamp,
    ) -> Result<Option<Message>, StoreError>;
    /// Records what the backend said and releases the claim. None when `owner` no longer
    /// holds the claim (nothing changed).
    fn finish(
        &self,
        id: MessageId,
        owner: &str,
        change: &Change,
        now: Timestamp,
    ) -> Result<Option<Message>, StoreError>;
    /// `begin_attempt` for many messages, in one transaction where the database allows;
    /// committed before any backend call. Messages `owner` no longer holds are left out.
    fn begin_attempts(
        &self,
        ids: &[MessageId],
        owner: &str,
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.begin_attempt(*id, owner, now)?);
        }
        Ok(out)
    }
    /// `finish` for many messages, in one transaction where the database allows; one entry
    /// per change (None where `owner` no longer held the claim).
    fn finish_many(
        &self,
        owner: &str,
        changes: &[(MessageId, Change)],
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError> {
        changes
            .iter()
            .map(|(id, c)| self.finish(*id, owner, c, now))
            .collect()
    }
    /// `finish_many` for messages as the caller last saw them (claimed and begun by
    /// `owner`): a store may then write without reading each row back first.
    fn finish_known(
        &self,
        owner: &str,
        changes: &[(Message, Change)],
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError> {
        let by_id: Vec<(MessageId, Change)> =
            changes.iter().map(|(m, c)| (m.id, c.clone())).collect();
        self.finish_many(owner, &by_id, now)
    }
    /// Releases every claim of `owner` without changing the messages.
    fn release(&self, owner: &str) -> Result<usize, StoreError>;
    /// Extends every claim of `owner`.
    fn renew(&self, owner: &str, lease_until: Timestamp) -> Result<usize, StoreError>;
    /// Extends `owner`'s claims on these messages. It must be used for messages stored by
    /// [`Store::insert_attempting`]: a store may keep their claims apart (SQLite keeps them
    /// out of its index of unpublished messages) until they are renewed by id, after
    /// which [`Store::renew`] and [`Store::release`] find them too.
    fn renew_ids(
        &self,
        owner: &str,
        ids: &[MessageId],
        lease_until: Timestamp,
    ) -> Result<usize, StoreError> {
        let _ = ids;
        self.renew(owner, lease_until)
    }
    /// Housekeeping the worker does on every pass, looking at up to `limit` messages:
    /// messages stored by [`Store::insert_attempting`] whose claim expired (their sender
    /// died) become claimable by workers again, and indexes kept behind catch up.
    /// Returns how many claims were recovered.
    fn maintain(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let _ = (now, limit);
        Ok(0)
    }
    /// Applies a status update outside of a claim (status checks, results, cancel). A final
    /// message is never changed; an update that changes nothing writes nothing.
    fn apply(
        &self,
        id: MessageId,
        change: &Change,
        now: Timestamp,
    ) -> Result<Option<Message>, StoreError>;
    /// Messages of `backend` that were sent and are not final.
    fn in_flight(&self, backend: &str) -> Result<usize, StoreError>;
    /// Sent, non-final messages of `backend` (all of them when `sent_since` is None).
    fn sent_not_final(
        &self,
        backend: &str,
        sent_since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
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
    /// Writes a history row with the reason even when nothing else changes (a cancel
    /// request the backend could not honour).
    pub note: bool,
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
            note: false,
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
    /// `database` is a file path or a URL without its password.
    #[error("cannot open database {database}: {source}")]
    Open {
        database: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
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
