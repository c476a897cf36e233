//! The do-not-call list and the record of recent calls per recipient (caps, dedupe).

use super::rows::{ts, us};
use crate::error::StoreError;
use dialout_model::dnc::{DncEntry, Screen, judge};
use dialout_model::id::MessageId;
use dialout_model::message::NewMessage;
use dialout_model::phone::PhoneNumber;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};

pub(super) fn add(tx: &Connection, entries: &[DncEntry]) -> Result<usize, StoreError> {
    let mut exists = tx.prepare_cached("SELECT 1 FROM dnc WHERE number = ?1")?;
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO dnc (number, reason, until, added_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut new = 0;
    for e in entries {
        let n = e.number.as_str();
        if exists.query_row([n], |_| Ok(())).optional()?.is_none() {
            new += 1;
        }
        put.execute((n, &e.reason, e.until.map(us), us(e.added_at)))?;
    }
    Ok(new)
}

pub(super) fn remove(tx: &Connection, number: &PhoneNumber) -> Result<bool, StoreError> {
    Ok(tx.execute("DELETE FROM dnc WHERE number = ?1", [number.as_str()])? > 0)
}

const COLS: &str = "number, reason, until, added_at";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Option<String>, Option<i64>, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn typed(raw: (String, Option<String>, Option<i64>, i64)) -> Result<DncEntry, StoreError> {
    let number = PhoneNumber::from_e164(&raw.0)
        .map_err(|e| StoreError::corrupt(format!("do-not-call number {:?}", raw.0), e))?;
    Ok(DncEntry {
        number,
        reason: raw.1,
        until: raw.2.map(ts).transpose()?,
        added_at: ts(raw.3)?,
    })
}

pub(super) fn list(conn: &Connection) -> Result<Vec<DncEntry>, StoreError> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLS} FROM dnc ORDER BY number"))?;
    let raw = st.query_map([], entry)?.collect::<Result<Vec<_>, _>>()?;
    raw.into_iter().map(typed).collect()
}

pub(super) fn find(
    conn: &Connection,
    numbers: &[PhoneNumber],
    now: Timestamp,
) -> Result<Vec<DncEntry>, StoreError> {
    // Many numbers (an import, a worker's batch) against an empty list: one query.
    if numbers.len() > 1 && !any(conn)? {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM dnc WHERE number = ?1 AND (until IS NULL OR until > ?2)"
    ))?;
    let mut out = Vec::new();
    for n in numbers {
        if let Some(raw) = st.query_row((n.as_str(), us(now)), entry).optional()? {
            out.push(typed(raw)?);
        }
    }
    Ok(out)
}

/// Whether anything is listed: a transaction storing many messages asks once, and skips
/// the look-up per message when the list is empty.
pub(super) fn any(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM dnc)")?
        .query_row([], |r| r.get(0))?)
}

/// Refuses `new` ([`StoreError::Screened`]) or records the call, inside the insert's write
/// transaction (BEGIN IMMEDIATE: no other writer in between).
pub(super) fn screen(
    tx: &Connection,
    new: &NewMessage,
    now: Timestamp,
    screen: &Screen,
    dnc_listed: bool,
    key: &crate::privacy::HashKey,
) -> Result<(), StoreError> {
    if screen.dnc
        && dnc_listed
        && let Some(e) = find(tx, std::slice::from_ref(&new.recipient), now)?.pop()
    {
        return Err(StoreError::Screened(
            dialout_model::dnc::Screened::DoNotCall {
                number: e.number,
                reason: e.reason,
                until: e.until,
            },
        ));
    }
    if !screen.records() {
        return Ok(());
    }
    let number = new.recipient.as_str();
    // Calls of erased messages are recorded under the number's keyed hash.
    let hashed = key.hash(&new.recipient);
    let since = us(dialout_model::duration::before(
        now,
        screen.limits.horizon(),
    ));
    tx.prepare_cached("DELETE FROM recipient_calls WHERE recipient IN (?1, ?2) AND at <= ?3")?
        .execute((number, hashed.as_str(), since))?;
    let mut st = tx.prepare_cached(
        "SELECT at, content_hash, message_id FROM recipient_calls WHERE recipient IN (?1, ?2)",
    )?;
    let raw = st
        .query_map([number, hashed.as_str()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut calls = Vec::with_capacity(raw.len());
    for (at, hash, id) in raw {
        let id: MessageId = id
            .parse()
            .map_err(|e| StoreError::corrupt(format!("recent call message {id:?}"), e))?;
        calls.push((ts(at)?, hash, id));
    }
    let hash = dialout_model::dnc::content_hash(&new.content);
    if let Some(refused) = judge(&new.recipient, hash, &calls, now, screen) {
        return Err(StoreError::Screened(refused));
    }
    tx.prepare_cached(
        "INSERT INTO recipient_calls (recipient, at, content_hash, message_id) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((number, us(now), hash, new.id.to_string()))?;
    Ok(())
}
