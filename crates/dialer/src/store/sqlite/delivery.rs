//! Claims, attempts and status updates.

use std::sync::LazyLock;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};

use super::keys;
use super::rows::{self, COLS, us};
use crate::store::{Change, Cursor, StoreError, plan_change};
use crate::{HistoryEntry, Message, MessageId};

pub(super) fn claim_due(
    tx: &Connection,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    backend: Option<&str>,
) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "UPDATE messages SET claim_owner = ?1, claim_until = ?2 WHERE n IN (SELECT n FROM messages \
         WHERE state IN (-1, 99) AND inline_claim = 0 AND is_final_state = 0 \
         AND (not_before IS NULL OR not_before <= ?3) AND (next_attempt_at IS NULL OR next_attempt_at <= ?3) \
         AND (claim_owner IS NULL OR claim_until <= ?3) AND (?5 IS NULL OR backend = ?5) \
         ORDER BY priority, created_at, n LIMIT ?4) RETURNING {COLS}"
    );
    let mut out = rows::query(
        tx,
        &sql,
        rusqlite::params![owner, us(lease_until), us(now), limit as i64, backend],
    )?;
    out.sort_by_key(|m| (m.priority, m.created_at, m.id));
    Ok(out)
}

pub(super) fn claim_ids(
    tx: &Connection,
    ids: &[MessageId],
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Vec<Message>, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET claim_owner = ?2, claim_until = ?3, inline_claim = 0 WHERE {} AND state IN (-1, 99) \
             AND is_final_state = 0 AND (claim_owner IS NULL OR claim_until <= ?4 OR claim_owner = ?2) RETURNING {COLS}",
            keys::by_id(1, 5)
        )
    });
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(rows::query(
            tx,
            &SQL,
            (
                id.to_string(),
                owner,
                us(lease_until),
                us(now),
                keys::of(*id),
            ),
        )?);
    }
    Ok(out)
}

pub(super) fn begin_attempt(
    tx: &Connection,
    id: MessageId,
    owner: &str,
    now: Timestamp,
) -> Result<Option<Message>, StoreError> {
    // Built once: the worker runs it for every message it publishes.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET attempts = attempts + 1, attempt_unresolved = 1, changed_at = ?3 \
             WHERE {} AND claim_owner = ?2 RETURNING {COLS}",
            keys::by_id(1, 4)
        )
    });
    Ok(rows::query(
        tx,
        &SQL,
        (
            id.to_string(),
            owner,
            us(crate::store::micros(now)),
            keys::of(id),
        ),
    )?
    .pop())
}

/// `finish` (with the owner, which must hold the claim; the claim is released) and `apply`.
pub(super) fn update(
    tx: &Connection,
    id: MessageId,
    owner: Option<&str>,
    change: &Change,
    now: Timestamp,
) -> Result<(Option<Message>, Vec<HistoryEntry>), StoreError> {
    let Some((old, holder)) = rows::find_for_update(tx, id)? else {
        return Ok((None, Vec::new()));
    };
    if owner.is_some() && holder.as_deref() != owner {
        return Ok((None, Vec::new()));
    }
    let plan = plan_change(&old, change, now);
    if plan.changed || owner.is_some() || !plan.history.is_empty() {
        let history = rows::history_rows(&plan.history)?;
        rows::update(tx, &plan.message, history.as_deref(), owner.is_some(), None)?;
    }
    Ok((Some(plan.message), plan.history))
}

/// Gives back `owner`'s claims on these messages; an inline claim too, after which the
/// message is back in the index of unpublished messages for any worker.
pub(super) fn release(
    tx: &Connection,
    owner: &str,
    ids: &[MessageId],
) -> Result<usize, StoreError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE messages SET claim_owner = NULL, claim_until = NULL, inline_claim = 0 \
             WHERE {} AND claim_owner = ?2",
            keys::by_id(1, 3)
        )
    });
    let mut stmt = tx.prepare_cached(&SQL)?;
    let mut n = 0;
    for id in ids {
        n += stmt.execute((id.to_string(), owner, keys::of(*id)))?;
    }
    Ok(n)
}

pub(super) fn in_flight(conn: &Connection, backend: &str) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM messages WHERE backend = ?1 AND is_final_state = 0 AND sent_at IS NOT NULL",
        )?
        .query_row([backend], |r| r.get(0))?;
    Ok(n as usize)
}

pub(super) fn cursor(conn: &Connection, backend: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT cursor FROM backend_cursors WHERE backend = ?1")?
        .query_row([backend], |r| r.get(0))
        .optional()?)
}

pub(super) fn set_cursor(
    tx: &Connection,
    cursor: Cursor<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO backend_cursors (backend, cursor, changed_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (backend) DO UPDATE SET cursor = excluded.cursor, changed_at = excluded.changed_at",
    )?
    .execute((cursor.backend, cursor.value, us(now)))?;
    Ok(())
}
