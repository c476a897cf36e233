//! Claims, attempts and status updates.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction};

use super::rows::{self, COLS, us};
use crate::store::{Change, StoreError, plan_change};
use crate::{HistoryEntry, Message, MessageId};

const DUE: &str = "state IN (-1, 99) AND is_final_state = 0 \
    AND (not_before IS NULL OR not_before <= ?3) AND (next_attempt_at IS NULL OR next_attempt_at <= ?3) \
    AND (claim_owner IS NULL OR claim_until <= ?3)";

fn by_seqs(conn: &Connection, seqs: &[i64]) -> Result<Vec<Message>, StoreError> {
    let sql = format!("SELECT {COLS} FROM messages WHERE seq = ?1");
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        out.extend(rows::query(conn, &sql, [seq])?.into_iter().map(|(_, m)| m));
    }
    Ok(out)
}

pub(super) fn claim_due(
    tx: &Transaction<'_>,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    backend: Option<&str>,
) -> Result<Vec<Message>, StoreError> {
    let backend_clause = if backend.is_some() { "AND backend = ?5" } else { "AND ?5 IS NULL" };
    let sql = format!(
        "UPDATE messages SET claim_owner = ?1, claim_until = ?2 WHERE seq IN (SELECT seq FROM messages \
         WHERE {DUE} {backend_clause} ORDER BY priority, created_at, seq LIMIT ?4) RETURNING seq"
    );
    let seqs = tx
        .prepare_cached(&sql)?
        .query_map(rusqlite::params![owner, us(lease_until), us(now), limit as i64, backend], |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = by_seqs(tx, &seqs)?;
    out.sort_by(|a, b| (a.priority, a.created_at, a.id).cmp(&(b.priority, b.created_at, b.id)));
    Ok(out)
}

pub(super) fn claim_ids(
    tx: &Transaction<'_>,
    ids: &[MessageId],
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE messages SET claim_owner = ?2, claim_until = ?3 WHERE id = ?1 AND state IN (-1, 99) \
         AND is_final_state = 0 AND (claim_owner IS NULL OR claim_until <= ?4) RETURNING seq",
    )?;
    let mut seqs = Vec::with_capacity(ids.len());
    for id in ids {
        let seq: Option<i64> =
            stmt.query_row((id.to_string(), owner, us(lease_until), us(now)), |r| r.get(0)).optional()?;
        seqs.extend(seq);
    }
    by_seqs(tx, &seqs)
}

pub(super) fn begin_attempt(tx: &Transaction<'_>, id: MessageId, owner: &str, now: Timestamp) -> Result<Option<Message>, StoreError> {
    let seq: Option<i64> = tx
        .prepare_cached(
            "UPDATE messages SET attempts = attempts + 1, attempt_unresolved = 1, changed_at = ?3 \
             WHERE id = ?1 AND claim_owner = ?2 RETURNING seq",
        )?
        .query_row((id.to_string(), owner, us(now)), |r| r.get(0))
        .optional()?;
    Ok(match seq {
        Some(seq) => by_seqs(tx, &[seq])?.pop(),
        None => None,
    })
}

/// `finish` (with the owner, which must hold the claim; the claim is released) and `apply`.
pub(super) fn update(
    tx: &Transaction<'_>,
    id: MessageId,
    owner: Option<&str>,
    change: &Change,
    now: Timestamp,
) -> Result<(Option<Message>, Vec<HistoryEntry>), StoreError> {
    let Some((seq, old)) = rows::find(tx, id)? else { return Ok((None, Vec::new())) };
    if let Some(owner) = owner {
        let holder: Option<String> =
            tx.prepare_cached("SELECT claim_owner FROM messages WHERE seq = ?1")?.query_row([seq], |r| r.get(0))?;
        if holder.as_deref() != Some(owner) {
            return Ok((None, Vec::new()));
        }
    }
    let plan = plan_change(&old, change, now);
    if plan.changed || owner.is_some() {
        rows::update(tx, seq, &plan.message, owner.is_some())?;
    }
    for h in &plan.history {
        rows::add_history(tx, seq, h)?;
    }
    Ok((Some(plan.message), plan.history))
}

pub(super) fn in_flight(conn: &Connection, backend: &str) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM messages WHERE backend = ?1 AND is_final_state = 0 AND sent_at IS NOT NULL",
        )?
        .query_row([backend], |r| r.get(0))?;
    Ok(n as usize)
}

pub(super) fn sent_not_final(conn: &Connection, backend: &str, since: Option<Timestamp>, limit: usize) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM messages WHERE backend = ?1 AND is_final_state = 0 AND sent_at IS NOT NULL \
         AND (?2 IS NULL OR sent_at >= ?2) ORDER BY sent_at, seq LIMIT ?3"
    );
    Ok(rows::query(conn, &sql, rusqlite::params![backend, since.map(us), limit as i64])?.into_iter().map(|(_, m)| m).collect())
}

pub(super) fn cursor(conn: &Connection, backend: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT cursor FROM backend_cursors WHERE backend = ?1")?
        .query_row([backend], |r| r.get(0))
        .optional()?)
}

pub(super) fn set_cursor(tx: &Transaction<'_>, backend: &str, cursor: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO backend_cursors (backend, cursor, changed_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (backend) DO UPDATE SET cursor = excluded.cursor, changed_at = excluded.changed_at",
    )?
    .execute((backend, cursor, Timestamp::now().as_microsecond()))?;
    Ok(())
}
