//! The delivery bookkeeping: claims, attempts, outcomes, status cursors.
use crate::error::StoreError;
use crate::plan::Change;
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_model::pace::Pace;
use jiff::Timestamp;

/// Claims, attempts and what backends said. Every method is one transaction.
pub trait DeliveryStore: Send + Sync {
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
