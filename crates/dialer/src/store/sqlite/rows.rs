//! Reading and writing message rows.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row};

use crate::store::StoreError;
use crate::{HistoryEntry, JsonMap, Message, MessageId, PhoneNumber, Priority, RelatedObject, State, Tag};

pub(super) const COLS: &str = "seq, id, created_at, changed_at, sent_at, recipient, content, template_slug, \
    template_id, state, backend, error, extra_data, extra_sender_data, tag, is_final_state, priority, \
    predictive, attempts, next_attempt_at, not_before, idempotency_key, check_failures, resent_from, \
    attempt_unresolved";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn ts(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| corrupt("time", e))
}

fn opt_ts(us: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    us.map(ts).transpose()
}

pub(super) fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(super) fn state(code: i64) -> Result<State, StoreError> {
    State::from_code(code).ok_or_else(|| corrupt("state", code))
}

fn json(text: &str) -> Result<JsonMap, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("JSON data", e))
}

/// A row selected with [`COLS`], without its related objects.
pub(super) fn read(row: &Row<'_>) -> Result<(i64, Message), StoreError> {
    let id: String = row.get(1)?;
    let recipient: String = row.get(5)?;
    let tag: Option<String> = row.get(14)?;
    let resent_from: Option<String> = row.get(23)?;
    let message = Message {
        id: id.parse().map_err(|e| corrupt("id", e))?,
        created_at: ts(row.get(2)?)?,
        changed_at: ts(row.get(3)?)?,
        sent_at: opt_ts(row.get(4)?)?,
        recipient: PhoneNumber::from_e164(&recipient).map_err(|e| corrupt("recipient", e))?,
        content: row.get(6)?,
        template_slug: row.get(7)?,
        template_id: row.get(8)?,
        state: state(row.get(9)?)?,
        backend: row.get(10)?,
        error: row.get(11)?,
        extra_data: json(&row.get::<_, String>(12)?)?,
        extra_sender_data: json(&row.get::<_, String>(13)?)?,
        tag: tag.map(|t| Tag::new(&t)).transpose().map_err(|e| corrupt("tag", e))?,
        is_final_state: row.get(15)?,
        priority: Priority::new(row.get(16)?).map_err(|e| corrupt("priority", e))?,
        predictive: row.get(17)?,
        attempts: row.get(18)?,
        next_attempt_at: opt_ts(row.get(19)?)?,
        not_before: opt_ts(row.get(20)?)?,
        idempotency_key: row.get(21)?,
        check_failures: row.get(22)?,
        resent_from: resent_from.map(|r| r.parse()).transpose().map_err(|e| corrupt("resent_from", e))?,
        attempt_unresolved: row.get(24)?,
        related: Vec::new(),
    };
    Ok((row.get(0)?, message))
}

/// Runs a query selecting [`COLS`] and loads each message's related objects.
pub(super) fn query(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<(i64, Message)>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    for (seq, m) in &mut out {
        m.related = related(conn, *seq)?;
    }
    Ok(out)
}

pub(super) fn find(conn: &Connection, id: MessageId) -> Result<Option<(i64, Message)>, StoreError> {
    let sql = format!("SELECT {COLS} FROM messages WHERE id = ?1");
    Ok(query(conn, &sql, [id.to_string()])?.pop())
}

pub(super) fn related(conn: &Connection, seq: i64) -> Result<Vec<RelatedObject>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, object_id FROM message_related WHERE message_seq = ?1 ORDER BY kind, object_id")?;
    let rows = stmt.query_map([seq], |r| Ok(RelatedObject { kind: r.get(0)?, id: r.get(1)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn add_history(conn: &Connection, seq: i64, h: &HistoryEntry) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO message_history (message_seq, at, from_state, to_state, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute((seq, us(h.at), h.from.map(|s| s.code()), h.to.code(), &h.reason))?;
    Ok(())
}

/// Writes the mutable columns of `m`, releasing its claim when `release` is set.
pub(super) fn update(conn: &Connection, seq: i64, m: &Message, release: bool) -> Result<(), StoreError> {
    let sender = serde_json::to_string(&m.extra_sender_data).map_err(|e| corrupt("JSON data", e))?;
    let sql = if release {
        "UPDATE messages SET changed_at = ?2, sent_at = ?3, state = ?4, error = ?5, extra_sender_data = ?6, \
         is_final_state = ?7, attempts = ?8, next_attempt_at = ?9, check_failures = ?10, \
         attempt_unresolved = ?11, claim_owner = NULL, claim_until = NULL WHERE seq = ?1"
    } else {
        "UPDATE messages SET changed_at = ?2, sent_at = ?3, state = ?4, error = ?5, extra_sender_data = ?6, \
         is_final_state = ?7, attempts = ?8, next_attempt_at = ?9, check_failures = ?10, \
         attempt_unresolved = ?11 WHERE seq = ?1"
    };
    conn.prepare_cached(sql)?
    .execute(rusqlite::params![
        seq,
        us(m.changed_at),
        m.sent_at.map(us),
        m.state.code(),
        m.error,
        sender,
        m.is_final_state,
        m.attempts,
        m.next_attempt_at.map(us),
        m.check_failures,
        m.attempt_unresolved,
    ])?;
    Ok(())
}

pub(super) fn seq_of(conn: &Connection, id: MessageId) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM messages WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?)
}
