//! Worker heartbeats (see `crate::beats`).

use super::rows::{ts, us};
use crate::beats::WorkerBeat;
use crate::error::StoreError;
use jiff::Timestamp;
use rusqlite::Connection;

pub(super) fn beat(tx: &Connection, b: &WorkerBeat) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO worker_beats (owner, started_at, seen_at, claimed, recorded, stopped) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (owner) DO UPDATE SET \
         seen_at = excluded.seen_at, claimed = excluded.claimed, recorded = excluded.recorded, \
         stopped = excluded.stopped",
    )?
    .execute((
        &b.owner,
        us(b.started_at),
        us(b.seen_at),
        b.claimed as i64,
        b.recorded as i64,
        b.stopped,
    ))?;
    Ok(())
}

pub(super) fn beats(conn: &Connection, since: Timestamp) -> Result<Vec<WorkerBeat>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT owner, started_at, seen_at, claimed, recorded, stopped FROM worker_beats \
         WHERE seen_at >= ?1 ORDER BY seen_at DESC, owner",
    )?;
    let rows = stmt.query_map([us(since)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, bool>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (owner, started, seen, claimed, recorded, stopped) = row?;
        out.push(WorkerBeat {
            owner,
            started_at: ts(started)?,
            seen_at: ts(seen)?,
            claimed: claimed.max(0) as u64,
            recorded: recorded.max(0) as u64,
            stopped,
        });
    }
    Ok(out)
}
