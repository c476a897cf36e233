//! The webhook outbox on SQLite, written by the store's own write path instead of triggers.
//!
//! Per-row triggers on `messages` cost the worker about 40 % (a trigger program per update,
//! the history JSON parsed, a wide row and two index entries per event). Instead, a write
//! transaction that changes messages reads the active endpoints once, and when there are
//! any, stores its events as one row of `webhook_outbox` (a JSON array) before it commits.
//! Whoever next needs `webhook_deliveries` complete (a claim, a listing, a replay, a
//! disable or removal) first moves every outbox row into it, in its own write transaction.
//!
//! *Invariants*:
//! - an event is in `webhook_outbox` or `webhook_deliveries`, never in neither: its outbox
//!   row commits with the change, and it leaves the outbox in the transaction that inserts
//!   its deliveries;
//! - outbox ids grow in commit order (one writer at a time), and events are moved in id
//!   order, so a message's events get delivery ids in `sequence` order;
//! - the endpoints are read inside the writing transaction (`BEGIN IMMEDIATE` holds the
//!   lock), so an endpoint gets exactly the changes committed after it was added. The one
//!   write outside a transaction (a single message's outcome, `finish_known`) is guarded in
//!   its own UPDATE by "no active endpoint" and takes the transactional path otherwise.
//! - only `rows::update` writes `history` or `is_final_state` of a stored message.
//! - a transaction that wrote an outbox row ticks the store's queued signal after it
//!   commits (`SqliteStore::tick_queued`), never before: a delivery loop woken by it finds
//!   the row. Other processes are not told (SQLite has no notifications); they poll.

use super::rows::{to_json, us};
use crate::error::StoreError;
use crate::webhooks::{FINAL, FINAL_ORD, STATE_CHANGED, events_from_column};
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub(super) const MIGRATION: &str = "
DROP TRIGGER IF EXISTS webhook_state_changed;
DROP TRIGGER IF EXISTS webhook_final;
-- Events of one write transaction, moved into webhook_deliveries before it is read.
CREATE TABLE webhook_outbox (id INTEGER PRIMARY KEY, events TEXT NOT NULL);
";

/// An active endpoint as the write path needs it.
struct Subscriber {
    id: i64,
    changes: bool,
    finals: bool,
    tag: Option<String>,
}

/// One delivery to insert: `[endpoint, kind, message id, sequence, at, from, to, reason,
/// queued_at]` (kind 0: state changed, 1: final).
#[derive(Serialize, Deserialize)]
struct Event(
    i64,
    u8,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
);

/// The events of one write transaction.
pub(super) struct Outbox {
    subscribers: Vec<Subscriber>,
    events: Vec<Event>,
}

impl Outbox {
    /// The active endpoints, read in the caller's write transaction; None when there are
    /// none (nothing to write).
    pub(super) fn begin(tx: &Connection) -> Result<Option<Outbox>, StoreError> {
        let mut stmt =
            tx.prepare_cached("SELECT id, events, tag FROM webhook_endpoints WHERE active = 1")?;
        let mut rows = stmt.query([])?;
        let mut subscribers = Vec::new();
        while let Some(r) = rows.next()? {
            let events = events_from_column(&r.get::<_, String>(1)?);
            subscribers.push(Subscriber {
                id: r.get(0)?,
                changes: events.iter().any(|e| e == STATE_CHANGED),
                finals: events.iter().any(|e| e == FINAL),
                tag: r.get(2)?,
            });
        }
        Ok((!subscribers.is_empty()).then_some(Outbox {
            subscribers,
            events: Vec::new(),
        }))
    }

    /// The events of one message's update: `added` are its new history entries, `len` the
    /// length of its history after them, `became_final` whether this update made it final.
    pub(super) fn add(
        &mut self,
        m: &Message,
        added: &[HistoryEntry],
        len: i64,
        became_final: bool,
    ) {
        let tag = m.tag.as_ref().map(|t| t.as_str());
        let id = m.id.to_string();
        let first = len - added.len() as i64 + 1;
        for s in &self.subscribers {
            if s.tag.is_some() && s.tag.as_deref() != tag {
                continue;
            }
            if s.changes {
                for (i, h) in added.iter().enumerate() {
                    self.events.push(Event(
                        s.id,
                        0,
                        id.clone(),
                        first + i as i64,
                        us(h.at),
                        h.from.map(|s| i64::from(s.code())),
                        Some(i64::from(h.to.code())),
                        Some(h.reason.clone()),
                        us(m.changed_at),
                    ));
                }
            }
            if s.finals && became_final {
                self.events.push(Event(
                    s.id,
                    1,
                    id.clone(),
                    len,
                    us(m.changed_at),
                    None,
                    Some(i64::from(m.state.code())),
                    None,
                    us(m.changed_at),
                ));
            }
        }
    }

    /// Stores the events (in the caller's transaction, before it commits); whether there
    /// were any (the caller then ticks `SqliteStore::tick_queued` after the commit).
    pub(super) fn write(self, tx: &Connection) -> Result<bool, StoreError> {
        if self.events.is_empty() {
            return Ok(false);
        }
        tx.prepare_cached("INSERT INTO webhook_outbox (events) VALUES (?1)")?
            .execute([to_json(&self.events)?])?;
        Ok(true)
    }
}

/// Moves every outbox row into `webhook_deliveries` (in the caller's write transaction).
pub(super) fn move_all(tx: &Connection) -> Result<usize, StoreError> {
    move_some(tx, usize::MAX)
}

/// Moves outbox rows, oldest first, until at least `wanted` events moved or none is left
/// (a claim moves only what it needs: this write holds the lock the worker waits for).
/// Events of endpoints removed meanwhile are dropped; of endpoints disabled meanwhile, kept
/// failed as `disable_endpoint` leaves their pending ones. Returns the events read.
pub(super) fn move_some(tx: &Connection, wanted: usize) -> Result<usize, StoreError> {
    let mut read = 0;
    while read < wanted {
        let batch: Option<(i64, String)> = tx
            .prepare_cached("SELECT id, events FROM webhook_outbox ORDER BY id LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some(batch) = batch else {
            break;
        };
        read += move_batch(tx, batch)?;
    }
    Ok(read)
}

fn move_batch(tx: &Connection, (id, text): (i64, String)) -> Result<usize, StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO webhook_deliveries (endpoint_id, event_type, message_id, sequence, ord, at, \
         from_state, to_state, reason, queued_at, next_attempt_at, state, last_error, failed_at) \
         SELECT e.id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, \
           CASE WHEN e.active THEN 0 ELSE 2 END, \
           CASE WHEN e.active THEN NULL ELSE 'endpoint disabled: ' || e.disabled_reason END, \
           CASE WHEN e.active THEN NULL ELSE ?10 END \
         FROM webhook_endpoints e WHERE e.id = ?1",
    )?;
    let events: Vec<Event> =
        serde_json::from_str(&text).map_err(|e| StoreError::corrupt("webhook outbox", e))?;
    let read = events.len();
    for Event(ep, kind, message, seq, at, from, to, reason, queued) in events {
        let (kind, ord) = if kind == 1 {
            (FINAL, FINAL_ORD)
        } else {
            (STATE_CHANGED, seq)
        };
        insert.execute(rusqlite::params![
            ep, kind, message, seq, ord, at, from, to, reason, queued
        ])?;
    }
    tx.prepare_cached("DELETE FROM webhook_outbox WHERE id = ?1")?
        .execute([id])?;
    Ok(read.max(1))
}

/// Whether the outbox holds anything (a read, to spare readers a write transaction).
pub(super) fn any(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM webhook_outbox)")?
        .query_row([], |r| r.get(0))?)
}
