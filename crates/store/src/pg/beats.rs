//! Worker heartbeats (see `crate::beats`).

use super::Db;
use crate::beats::WorkerBeat;
use crate::error::StoreError;
use crate::sql::micros;
use jiff::Timestamp;
use postgres::GenericClient;

pub(super) fn beat<C: GenericClient>(db: &mut Db<'_, C>, b: &WorkerBeat) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO worker_beats (owner, started_at, seen_at, claimed, recorded, stopped) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner) DO UPDATE SET \
         seen_at = EXCLUDED.seen_at, claimed = EXCLUDED.claimed, recorded = EXCLUDED.recorded, \
         stopped = EXCLUDED.stopped",
        &[
            &b.owner,
            &micros(b.started_at),
            &micros(b.seen_at),
            &(b.claimed as i64),
            &(b.recorded as i64),
            &b.stopped,
        ],
    )?;
    Ok(())
}

pub(super) fn beats<C: GenericClient>(
    db: &mut Db<'_, C>,
    since: Timestamp,
) -> Result<Vec<WorkerBeat>, StoreError> {
    let rows = db.query(
        "SELECT owner, started_at, seen_at, claimed, recorded, stopped FROM worker_beats \
         WHERE seen_at >= $1 ORDER BY seen_at DESC, owner",
        &[&since],
    )?;
    let mut out = Vec::new();
    for row in rows {
        let claimed: i64 = row.try_get(3)?;
        let recorded: i64 = row.try_get(4)?;
        out.push(WorkerBeat {
            owner: row.try_get(0)?,
            started_at: row.try_get(1)?,
            seen_at: row.try_get(2)?,
            claimed: claimed.max(0) as u64,
            recorded: recorded.max(0) as u64,
            stopped: row.try_get(5)?,
        });
    }
    Ok(out)
}
