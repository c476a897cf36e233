//! Counts for the dashboard.

use super::Db;
use crate::error::StoreError;
use crate::health::StateCount;
use dialout_model::state::State;
use jiff::{SignedDuration, Timestamp};
use postgres::GenericClient;

pub(super) fn by_state<C: GenericClient>(
    db: &mut Db<'_, C>,
    since: Timestamp,
    bucket: SignedDuration,
) -> Result<Vec<StateCount>, StoreError> {
    let bucket_us = bucket.as_micros().max(1) as i64;
    // Whole microseconds, as the times are stored, so buckets split exactly.
    let rows = db.query(
        "SELECT (floor(extract(epoch FROM created_at - $1) * 1000000)::bigint / $2)::bigint, \
         state, count(*) FROM messages WHERE created_at >= $1 GROUP BY 1, 2",
        &[&since, &bucket_us],
    )?;
    let mut out = Vec::new();
    for row in rows {
        let b: i64 = row.try_get(0)?;
        let code: i16 = row.try_get(1)?;
        let n: i64 = row.try_get(2)?;
        let state = State::from_code(code.into())
            .ok_or_else(|| StoreError::corrupt("message state", code))?;
        out.push(StateCount {
            bucket: b,
            state,
            count: n as u64,
        });
    }
    Ok(out)
}
