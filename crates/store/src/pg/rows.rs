//! Reading and writing message rows.

use super::Db;
use crate::error::StoreError;
use dialout_model::id::MessageId;
use dialout_model::interactive::{Interactive, Reply};
use dialout_model::message::HistoryEntry;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::message::Priority;
use dialout_model::message::Tag;
use dialout_model::phone::PhoneNumber;
use dialout_model::related::RelatedObject;
use dialout_model::state::State;
use jiff::Timestamp;
use postgres::types::Json;
use postgres::{GenericClient, Row};
use uuid::Uuid;

pub(super) const COLS: &str = "id, created_at, changed_at, sent_at, recipient, content, template_slug, \
    template_id, state, backend, error, extra_data, extra_sender_data, tag, is_final_state, priority, \
    predictive, attempts, next_attempt_at, not_before, idempotency_key, check_failures, resent_from, \
    attempt_unresolved, time_zone, interactive, reply";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(what, e)
}

pub(super) fn state(code: i16) -> Result<State, StoreError> {
    State::from_code(code.into()).ok_or_else(|| corrupt("state", code))
}

/// A row selected with [`COLS`], without its related objects.
pub(super) fn read(row: &Row) -> Result<Message, StoreError> {
    let recipient: String = row.try_get(4)?;
    let tag: Option<String> = row.try_get(13)?;
    let resent_from: Option<Uuid> = row.try_get(22)?;
    let attempts: i32 = row.try_get(17)?;
    let check_failures: i32 = row.try_get(21)?;
    let Json(extra_data): Json<JsonMap> = row.try_get(11)?;
    let Json(extra_sender_data): Json<JsonMap> = row.try_get(12)?;
    let interactive: Option<Json<Interactive>> = row.try_get(25)?;
    let reply: Option<Json<Reply>> = row.try_get(26)?;
    Ok(Message {
        id: MessageId::from_uuid(row.try_get(0)?),
        created_at: row.try_get(1)?,
        changed_at: row.try_get(2)?,
        sent_at: row.try_get(3)?,
        recipient: PhoneNumber::from_stored(&recipient).map_err(|e| corrupt("recipient", e))?,
        content: row.try_get(5)?,
        template_slug: row.try_get(6)?,
        template_id: row.try_get(7)?,
        state: state(row.try_get(8)?)?,
        backend: row.try_get(9)?,
        error: row.try_get(10)?,
        extra_data,
        extra_sender_data,
        tag: tag
            .map(|t| Tag::new(&t))
            .transpose()
            .map_err(|e| corrupt("tag", e))?,
        is_final_state: row.try_get(14)?,
        priority: Priority::new(row.try_get::<_, i16>(15)?.into())
            .map_err(|e| corrupt("priority", e))?,
        predictive: row.try_get(16)?,
        attempts: attempts.try_into().map_err(|e| corrupt("attempts", e))?,
        next_attempt_at: row.try_get(18)?,
        not_before: row.try_get(19)?,
        idempotency_key: row.try_get(20)?,
        check_failures: check_failures
            .try_into()
            .map_err(|e| corrupt("check_failures", e))?,
        resent_from: resent_from.map(MessageId::from_uuid),
        attempt_unresolved: row.try_get(23)?,
        related: Vec::new(),
        time_zone: row.try_get(24)?,
        interactive: interactive.map(|j| j.0).unwrap_or_default(),
        reply: reply.map(|j| j.0).unwrap_or_default(),
    })
}

/// Reads rows selected with [`COLS`] and loads their related objects in one query.
pub(super) fn read_all<C: GenericClient>(
    db: &mut Db<'_, C>,
    rows: &[Row],
) -> Result<Vec<Message>, StoreError> {
    let mut out = rows.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<Uuid> = out.iter().map(|m| m.id.as_uuid()).collect();
    let related = db.query(
        "SELECT message_id, kind, object_id FROM message_related WHERE message_id = ANY($1) \
         ORDER BY kind COLLATE \"C\", object_id COLLATE \"C\"",
        &[&ids],
    )?;
    for r in related {
        let id = MessageId::from_uuid(r.try_get(0)?);
        if let Some(m) = out.iter_mut().find(|m| m.id == id) {
            m.related.push(RelatedObject {
                kind: r.try_get(1)?,
                id: r.try_get(2)?,
            });
        }
    }
    Ok(out)
}

pub(super) fn find<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: MessageId,
    for_update: bool,
) -> Result<Option<Message>, StoreError> {
    let sql = if for_update {
        format!("SELECT {COLS} FROM messages WHERE id = $1 FOR UPDATE")
    } else {
        format!("SELECT {COLS} FROM messages WHERE id = $1")
    };
    let rows = db.query(&sql, &[&id.as_uuid()])?;
    Ok(read_all(db, &rows)?.pop())
}

pub(super) fn add_history<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: MessageId,
    h: &HistoryEntry,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO message_history (message_id, at, from_state, to_state, reason, reply) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id.as_uuid(),
            &h.at,
            &h.from.map(|s| s.code()),
            &h.to.code(),
            &h.reason,
            &reply_param(&h.reply),
        ],
    )?;
    Ok(())
}

/// Writes the mutable columns of `m`, releasing its claim when `release` is set, or when
/// the message is no longer unpublished (a claim only ever holds unpublished messages).
pub(super) fn update<C: GenericClient>(
    db: &mut Db<'_, C>,
    m: &Message,
    release: bool,
) -> Result<(), StoreError> {
    let sql = "UPDATE messages SET changed_at = $2, sent_at = $3, state = $4, error = $5, \
         extra_sender_data = $6, is_final_state = $7, attempts = $8, next_attempt_at = $9, \
         check_failures = $10, attempt_unresolved = $11, reply = $13, \
         claim_owner = CASE WHEN $12 THEN claim_owner END, \
         claim_until = CASE WHEN $12 THEN claim_until END WHERE id = $1";
    let keep_claim = !release && m.state.is_unpublished() && !m.is_final_state;
    let attempts = m.attempts as i32;
    let check_failures = m.check_failures as i32;
    db.execute(
        sql,
        &[
            &m.id.as_uuid(),
            &m.changed_at,
            &m.sent_at,
            &m.state.code(),
            &m.error,
            &Json(&m.extra_sender_data),
            &m.is_final_state,
            &attempts,
            &m.next_attempt_at,
            &check_failures,
            &m.attempt_unresolved,
            &keep_claim,
            &reply_param(&m.reply),
        ],
    )?;
    Ok(())
}

/// The `interactive` column: NULL for a plain call.
pub(super) fn interactive_param(i: &Interactive) -> Option<Json<&Interactive>> {
    (!i.is_plain()).then_some(Json(i))
}

/// A `reply` column: NULL before anything came back.
pub(super) fn reply_param(r: &Reply) -> Option<Json<&Reply>> {
    (*r != Reply::default()).then_some(Json(r))
}

pub(super) fn ts_param(t: Timestamp) -> Timestamp {
    crate::sql::micros(t)
}
