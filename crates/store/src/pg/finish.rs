//! `finish` for messages given as their owner last saw them ([`Seen::Message`]): each
//! outcome is planned from that copy and written with its history in one statement, without
//! reading the rows back. A row is written only if it is still as seen (owner, `changed_at`,
//! state, attempts, not final), the same guard the SQLite store uses; rows that changed
//! meanwhile are left to the caller's read-and-lock path.
use super::Db;
use super::batch::{HistoryArrays, OutcomeArrays, outcome_arrays, outcome_set};
use super::ops::Updated;
use crate::delivery_store::Seen;
use crate::error::StoreError;
use crate::plan::Change;
use crate::plan::plan_change;
use dialout_model::id::MessageId;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use jiff::Timestamp;
use postgres::Transaction;
use postgres::types::ToSql;
use std::collections::HashSet;

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
    let new: Vec<&Message> = order.iter().map(|&i| &planned[i].1).collect();
    let outcomes = OutcomeArrays::of(&new);
    let old_changed: Vec<Timestamp> = order.iter().map(|&i| planned[i].0.changed_at).collect();
    let old_state: Vec<i16> = order.iter().map(|&i| planned[i].0.state.code()).collect();
    let old_attempts: Vec<i32> = order
        .iter()
        .map(|&i| planned[i].0.attempts as i32)
        .collect();
    // History in the order the changes were given.
    let history: Vec<(MessageId, &HistoryEntry)> = planned
        .iter()
        .flat_map(|(_, m, h)| h.iter().map(|e| (m.id, e)))
        .collect();
    let history = HistoryArrays::of(&history);
    let mut params: Vec<&(dyn ToSql + Sync)> = outcomes.params().to_vec();
    params.extend([
        &old_changed as &(dyn ToSql + Sync),
        &old_state,
        &old_attempts,
        &owner,
    ]);
    params.extend(history.params());
    let done = db.query(
        concat!(
            "WITH u AS (SELECT * FROM unnest(",
            outcome_arrays!(),
            ", $12::timestamptz[], $13::int2[], $14::int4[]) AS u(",
            outcome_arrays!(columns),
            ", old_changed, old_state, old_attempts)), \
             done AS (UPDATE messages m SET ",
            outcome_set!(),
            " FROM u WHERE m.id = u.id AND m.claim_owner = $15 AND m.changed_at = u.old_changed \
             AND m.state = u.old_state AND m.attempts = u.old_attempts AND NOT m.is_final_state \
             RETURNING m.id), \
             h AS (INSERT INTO message_history (message_id, at, from_state, to_state, reason) \
             SELECT h.message_id, h.at, h.from_state, h.to_state, h.reason \
             FROM unnest($16::uuid[], $17::timestamptz[], $18::int2[], $19::int2[], $20::text[]) \
             WITH ORDINALITY AS h(message_id, at, from_state, to_state, reason, n) \
             WHERE h.message_id IN (SELECT id FROM done) ORDER BY h.n) \
             SELECT id FROM done"
        ),
        &params,
    )?;
    done.iter()
        .map(|r| Ok(MessageId::from_uuid(r.try_get(0)?)))
        .collect()
}
