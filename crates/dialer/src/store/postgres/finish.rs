//! `finish` for messages given as their owner last saw them ([`Seen::Message`]): each
//! outcome is planned from that copy and written with its history in one statement, without
//! reading the rows back. A row is written only if it is still as seen (owner, `changed_at`,
//! state, attempts, not final), the same guard the SQLite store uses; rows that changed
//! meanwhile are left to the caller's read-and-lock path.

use std::collections::HashSet;

use jiff::Timestamp;
use postgres::Transaction;
use postgres::types::Json;
use uuid::Uuid;

use super::Db;
use super::ops::Updated;
use crate::store::{Change, Seen, StoreError, plan_change};
use crate::{HistoryEntry, Message, MessageId};

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// The outcome and history rows of each message, in one statement; a None entry is a
/// message this did not write (changed since seen). None overall when the batch does not
/// qualify (an id given twice, or not every message given as seen).
pub(super) fn finish_seen(
    db: &mut Tx<'_, '_>,
    owner: &str,
    changes: &[(Seen, Change)],
    now: Timestamp,
) -> Result<Option<Vec<Option<Updated>>>, StoreError> {
    let mut ids = HashSet::with_capacity(changes.len());
    let mut planned = Vec::with_capacity(changes.len());
    for (seen, change) in changes {
        let Seen::Message(old) = seen else {
            return Ok(None);
        };
        if !ids.insert(old.id) {
            return Ok(None);
        }
        let plan = plan_change(old, change, now);
        planned.push((old, plan.message, plan.history));
    }
    // Rows are locked in id order, as the read-and-lock path locks them.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&i| planned[i].1.id);
    let written = write(db, owner, &order, &planned)?;
    Ok(Some(
        planned
            .into_iter()
            .map(|(_, m, h)| written.contains(&m.id).then_some((Some(m), h)))
            .collect(),
    ))
}

fn write(
    db: &mut Tx<'_, '_>,
    owner: &str,
    order: &[usize],
    planned: &[(&Message, Message, Vec<HistoryEntry>)],
) -> Result<HashSet<MessageId>, StoreError> {
    let rows: Vec<(&Message, &Message)> = order
        .iter()
        .map(|&i| (planned[i].0, &planned[i].1))
        .collect();
    let ids: Vec<Uuid> = rows.iter().map(|(_, m)| m.id.as_uuid()).collect();
    let changed: Vec<Timestamp> = rows.iter().map(|(_, m)| m.changed_at).collect();
    let sent: Vec<Option<Timestamp>> = rows.iter().map(|(_, m)| m.sent_at).collect();
    let state: Vec<i16> = rows.iter().map(|(_, m)| m.state.code()).collect();
    let error: Vec<Option<&str>> = rows.iter().map(|(_, m)| m.error.as_deref()).collect();
    let sender: Vec<Json<&crate::JsonMap>> = rows
        .iter()
        .map(|(_, m)| Json(&m.extra_sender_data))
        .collect();
    let is_final: Vec<bool> = rows.iter().map(|(_, m)| m.is_final_state).collect();
    let attempts: Vec<i32> = rows.iter().map(|(_, m)| m.attempts as i32).collect();
    let next: Vec<Option<Timestamp>> = rows.iter().map(|(_, m)| m.next_attempt_at).collect();
    let failures: Vec<i32> = rows.iter().map(|(_, m)| m.check_failures as i32).collect();
    let unresolved: Vec<bool> = rows.iter().map(|(_, m)| m.attempt_unresolved).collect();
    let old_changed: Vec<Timestamp> = rows.iter().map(|(o, _)| o.changed_at).collect();
    let old_state: Vec<i16> = rows.iter().map(|(o, _)| o.state.code()).collect();
    let old_attempts: Vec<i32> = rows.iter().map(|(o, _)| o.attempts as i32).collect();
    // History in the order the changes were given.
    let history: Vec<(Uuid, &HistoryEntry)> = planned
        .iter()
        .flat_map(|(_, m, h)| h.iter().map(|e| (m.id.as_uuid(), e)))
        .collect();
    let h_id: Vec<Uuid> = history.iter().map(|(id, _)| *id).collect();
    let h_at: Vec<Timestamp> = history.iter().map(|(_, h)| h.at).collect();
    let h_from: Vec<Option<i16>> = history
        .iter()
        .map(|(_, h)| h.from.map(|s| s.code()))
        .collect();
    let h_to: Vec<i16> = history.iter().map(|(_, h)| h.to.code()).collect();
    let h_reason: Vec<&str> = history.iter().map(|(_, h)| h.reason.as_str()).collect();
    let done = db.query(
        "WITH u AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int2[], \
         $5::text[], $6::jsonb[], $7::bool[], $8::int4[], $9::timestamptz[], $10::int4[], $11::bool[], \
         $12::timestamptz[], $13::int2[], $14::int4[]) AS u(id, changed, sent, state, error, sender, \
         is_final, attempts, next, failures, unresolved, old_changed, old_state, old_attempts)), \
         done AS (UPDATE messages m SET changed_at = u.changed, sent_at = u.sent, state = u.state, \
         error = u.error, extra_sender_data = u.sender, is_final_state = u.is_final, \
         attempts = u.attempts, next_attempt_at = u.next, check_failures = u.failures, \
         attempt_unresolved = u.unresolved, claim_owner = NULL, claim_until = NULL FROM u \
         WHERE m.id = u.id AND m.claim_owner = $15 AND m.changed_at = u.old_changed \
         AND m.state = u.old_state AND m.attempts = u.old_attempts AND NOT m.is_final_state \
         RETURNING m.id), \
         h AS (INSERT INTO message_history (message_id, at, from_state, to_state, reason) \
         SELECT h.message_id, h.at, h.from_state, h.to_state, h.reason \
         FROM unnest($16::uuid[], $17::timestamptz[], $18::int2[], $19::int2[], $20::text[]) \
         WITH ORDINALITY AS h(message_id, at, from_state, to_state, reason, n) \
         WHERE h.message_id IN (SELECT id FROM done) ORDER BY h.n) \
         SELECT id FROM done",
        &[
            &ids,
            &changed,
            &sent,
            &state,
            &error,
            &sender,
            &is_final,
            &attempts,
            &next,
            &failures,
            &unresolved,
            &old_changed,
            &old_state,
            &old_attempts,
            &owner,
            &h_id,
            &h_at,
            &h_from,
            &h_to,
            &h_reason,
        ],
    )?;
    done.iter()
        .map(|r| Ok(MessageId::from_uuid(r.try_get(0)?)))
        .collect()
}
