//! Whole batches in one statement each: the arrays travel as parameters and `unnest` turns
//! them back into rows, so a batch of 1,000 costs a few round trips instead of thousands.

use super::Db;
use super::rows::ts_param;
use crate::error::StoreError;
use crate::message_store::InsertMode;
use crate::message_store::Inserted;
use crate::plan::new_message_row;
use dialout_model::id::MessageId;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use jiff::Timestamp;
use postgres::Transaction;
use postgres::types::{Json, ToSql};
use uuid::Uuid;

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// Whether [`insert_plain`] can store this message: without an idempotency key there is
/// nothing to look up first (the no-duplicates rule is the caller's to rule out).
pub(super) fn is_plain(new: &NewMessage) -> bool {
    new.idempotency_key.is_none()
}

/// Stores messages without idempotency keys as `mode` says, in two statements (messages,
/// related objects). A message whose id is already stored fails the whole batch.
pub(super) fn insert_plain(
    db: &mut Tx<'_, '_>,
    new: &[&NewMessage],
    now: Timestamp,
    mode: InsertMode<'_>,
) -> Result<Vec<Inserted>, StoreError> {
    let claim = mode.claim();
    let rows: Vec<Message> = new
        .iter()
        .map(|n| {
            let mut m = new_message_row(n, now);
            if claim.is_some_and(|c| c.2) {
                m.attempts = 1;
                m.attempt_unresolved = true;
            }
            m
        })
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    if let Some(m) = rows.iter().find(|m| !seen.insert(m.id)) {
        return Err(StoreError::AlreadyStored(m.id));
    }
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id.as_uuid()).collect();
    let created: Vec<Timestamp> = rows.iter().map(|m| m.created_at).collect();
    let recipient: Vec<&str> = rows.iter().map(|m| m.recipient.as_str()).collect();
    let content: Vec<&str> = rows.iter().map(|m| m.content.as_str()).collect();
    let slug: Vec<Option<&str>> = rows.iter().map(|m| m.template_slug.as_deref()).collect();
    let template_id: Vec<Option<i64>> = rows.iter().map(|m| m.template_id).collect();
    let state: Vec<i16> = rows.iter().map(|m| m.state.code()).collect();
    let backend: Vec<&str> = rows.iter().map(|m| m.backend.as_str()).collect();
    let extra: Vec<Json<&dialout_model::message::JsonMap>> =
        rows.iter().map(|m| Json(&m.extra_data)).collect();
    let tag: Vec<Option<&str>> = rows
        .iter()
        .map(|m| m.tag.as_ref().map(|t| t.as_str()))
        .collect();
    let priority: Vec<i16> = rows.iter().map(|m| i16::from(m.priority.get())).collect();
    let predictive: Vec<bool> = rows.iter().map(|m| m.predictive).collect();
    let not_before: Vec<Option<Timestamp>> = rows.iter().map(|m| m.not_before).collect();
    let resent: Vec<Option<Uuid>> = rows
        .iter()
        .map(|m| m.resent_from.map(|r| r.as_uuid()))
        .collect();
    let time_zone: Vec<Option<&str>> = rows.iter().map(|m| m.time_zone.as_deref()).collect();
    let interactive: Vec<Option<Json<&dialout_model::interactive::Interactive>>> = rows
        .iter()
        .map(|m| super::rows::interactive_param(&m.interactive))
        .collect();
    let attempts: i32 = rows[0].attempts as i32;
    let unresolved = rows[0].attempt_unresolved;
    let owner = claim.map(|c| c.0);
    let until = claim.map(|c| ts_param(c.1));
    let stored = db.execute(
        "INSERT INTO messages (id, created_at, changed_at, recipient, content, template_slug, template_id, \
         state, backend, extra_data, extra_sender_data, tag, is_final_state, priority, predictive, attempts, \
         not_before, check_failures, resent_from, attempt_unresolved, claim_owner, claim_until, time_zone, \
         interactive) \
         SELECT u.id, u.created, u.created, u.recipient, u.content, u.slug, u.template_id, u.state, u.backend, \
         u.extra, '{}', u.tag, false, u.priority, u.predictive, $13, u.not_before, 0, u.resent, $14, $15, $16, u.time_zone, \
         u.interactive \
         FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int8[], \
         $7::int2[], $8::text[], $9::jsonb[], $10::text[], $11::int2[], $12::bool[], $17::timestamptz[], \
         $18::uuid[], $19::text[], $20::jsonb[]) AS u(id, created, recipient, content, slug, template_id, state, backend, \
         extra, tag, priority, predictive, not_before, resent, time_zone, interactive) ON CONFLICT DO NOTHING",
        &[
            &ids,
            &created,
            &recipient,
            &content,
            &slug,
            &template_id,
            &state,
            &backend,
            &extra,
            &tag,
            &priority,
            &predictive,
            &attempts,
            &unresolved,
            &owner,
            &until,
            &not_before,
            &resent,
            &time_zone,
            &interactive,
        ],
    )?;
    if stored as usize != rows.len() {
        // Only an id can clash here (no keys): name one this transaction did not write.
        let taken = db.query(
            "SELECT id FROM messages WHERE id = ANY($1) \
             AND xmin::text::bigint <> txid_current() % 4294967296 LIMIT 1",
            &[&ids],
        )?;
        let id = taken
            .first()
            .map(|r| r.try_get::<_, Uuid>(0))
            .transpose()?
            .map(MessageId::from_uuid)
            .unwrap_or(rows[0].id);
        return Err(StoreError::AlreadyStored(id));
    }
    let (mut r_id, mut r_kind, mut r_obj, mut r_int) = (vec![], vec![], vec![], vec![]);
    for m in &rows {
        for r in &m.related {
            r_id.push(m.id.as_uuid());
            r_kind.push(r.kind.as_str());
            r_obj.push(r.id.as_str());
            r_int.push(r.id_int());
        }
    }
    if !r_id.is_empty() {
        db.execute(
            "INSERT INTO message_related (message_id, kind, object_id, object_id_int) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int8[]) ON CONFLICT DO NOTHING",
            &[&r_id, &r_kind, &r_obj, &r_int],
        )?;
    }
    Ok(rows
        .into_iter()
        .map(|message| Inserted {
            message,
            existing: false,
        })
        .collect())
}

/// The assignments of an outcome: the mutable columns from the `unnest` row `u` (columns of
/// [`outcome_arrays!`]), and the claim released.
macro_rules! outcome_set {
    () => {
        "changed_at = u.changed, sent_at = u.sent, state = u.state, error = u.error, \
         extra_sender_data = u.sender, is_final_state = u.is_final, attempts = u.attempts, \
         next_attempt_at = u.next, check_failures = u.failures, attempt_unresolved = u.unresolved, \
         claim_owner = NULL, claim_until = NULL"
    };
}
/// [`OutcomeArrays`] as parameters `$1`–`$11`, and the names of their columns.
macro_rules! outcome_arrays {
    () => {
        "$1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int2[], $5::text[], $6::jsonb[], \
         $7::bool[], $8::int4[], $9::timestamptz[], $10::int4[], $11::bool[]"
    };
    (columns) => {
        "id, changed, sent, state, error, sender, is_final, attempts, next, failures, unresolved"
    };
}
pub(super) use {outcome_arrays, outcome_set};

/// The mutable columns of messages, one array each, in the order of [`outcome_arrays!`].
pub(super) struct OutcomeArrays<'a> {
    ids: Vec<Uuid>,
    changed: Vec<Timestamp>,
    sent: Vec<Option<Timestamp>>,
    state: Vec<i16>,
    error: Vec<Option<&'a str>>,
    sender: Vec<Json<&'a dialout_model::message::JsonMap>>,
    is_final: Vec<bool>,
    attempts: Vec<i32>,
    next: Vec<Option<Timestamp>>,
    failures: Vec<i32>,
    unresolved: Vec<bool>,
}

impl<'a> OutcomeArrays<'a> {
    pub(super) fn of(ms: &[&'a Message]) -> Self {
        OutcomeArrays {
            ids: ms.iter().map(|m| m.id.as_uuid()).collect(),
            changed: ms.iter().map(|m| m.changed_at).collect(),
            sent: ms.iter().map(|m| m.sent_at).collect(),
            state: ms.iter().map(|m| m.state.code()).collect(),
            error: ms.iter().map(|m| m.error.as_deref()).collect(),
            sender: ms.iter().map(|m| Json(&m.extra_sender_data)).collect(),
            is_final: ms.iter().map(|m| m.is_final_state).collect(),
            attempts: ms.iter().map(|m| m.attempts as i32).collect(),
            next: ms.iter().map(|m| m.next_attempt_at).collect(),
            failures: ms.iter().map(|m| m.check_failures as i32).collect(),
            unresolved: ms.iter().map(|m| m.attempt_unresolved).collect(),
        }
    }

    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.ids,
            &self.changed,
            &self.sent,
            &self.state,
            &self.error,
            &self.sender,
            &self.is_final,
            &self.attempts,
            &self.next,
            &self.failures,
            &self.unresolved,
        ]
    }
}

/// History rows as arrays (message id, at, from, to, reason), in the order given. They are
/// the history of publish outcomes (`finish`), which never carry a reply: replies come with
/// status updates, whose rows `rows::add_history` writes.
pub(super) struct HistoryArrays<'a> {
    ids: Vec<Uuid>,
    at: Vec<Timestamp>,
    from: Vec<Option<i16>>,
    to: Vec<i16>,
    reason: Vec<&'a str>,
}

impl<'a> HistoryArrays<'a> {
    pub(super) fn of(entries: &[(MessageId, &'a HistoryEntry)]) -> Self {
        HistoryArrays {
            ids: entries.iter().map(|(id, _)| id.as_uuid()).collect(),
            at: entries.iter().map(|(_, h)| h.at).collect(),
            from: entries
                .iter()
                .map(|(_, h)| h.from.map(|s| s.code()))
                .collect(),
            to: entries.iter().map(|(_, h)| h.to.code()).collect(),
            reason: entries.iter().map(|(_, h)| h.reason.as_str()).collect(),
        }
    }

    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 5] {
        [&self.ids, &self.at, &self.from, &self.to, &self.reason]
    }
}

/// Writes the mutable columns of these messages and releases their claims (a finish).
pub(super) fn update_released(db: &mut Tx<'_, '_>, ms: &[&Message]) -> Result<(), StoreError> {
    if ms.is_empty() {
        return Ok(());
    }
    let arrays = OutcomeArrays::of(ms);
    db.execute(
        concat!(
            "UPDATE messages m SET ",
            outcome_set!(),
            " FROM unnest(",
            outcome_arrays!(),
            ") AS u(",
            outcome_arrays!(columns),
            ") WHERE m.id = u.id"
        ),
        &arrays.params(),
    )?;
    Ok(())
}

/// History rows of several messages, in the order given (their ids keep that order).
pub(super) fn add_history(
    db: &mut Tx<'_, '_>,
    entries: &[(MessageId, &HistoryEntry)],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let arrays = HistoryArrays::of(entries);
    db.execute(
        "INSERT INTO message_history (message_id, at, from_state, to_state, reason) \
         SELECT message_id, at, from_state, to_state, reason \
         FROM unnest($1::uuid[], $2::timestamptz[], $3::int2[], $4::int2[], $5::text[]) WITH ORDINALITY AS u(message_id, at, from_state, to_state, reason, n) ORDER BY n",
        &arrays.params(),
    )?;
    Ok(())
}
