//! Counts for the dashboard.

use super::rows::us;
use crate::error::StoreError;
use crate::health::StateCount;
use crate::sql::unpublished_sql;
use dialout_model::state::State;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, named_params};

pub(super) fn by_state(
    conn: &Connection,
    since: Timestamp,
    bucket: SignedDuration,
) -> Result<Vec<StateCount>, StoreError> {
    let bucket_us = bucket.as_micros().max(1) as i64;
    let mut stmt = conn.prepare_cached(
        "SELECT (created_at - :since) / :bucket, state, count(*) FROM messages \
         WHERE created_at >= :since GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map(
        named_params! {":since": us(since), ":bucket": bucket_us},
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (b, code, n) = row?;
        let state =
            State::from_code(code).ok_or_else(|| StoreError::corrupt("message state", code))?;
        out.push(StateCount {
            bucket: b,
            state,
            count: n as u64,
        });
    }
    Ok(out)
}

pub(super) fn queue_depth(conn: &Connection) -> Result<usize, StoreError> {
    // Said as the partial index `messages_due` says it, so that only the index is read.
    let sql = format!(
        "SELECT count(*) FROM messages WHERE state IN {} AND inline_claim = 0",
        unpublished_sql()
    );
    let n: i64 = conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
    Ok(n as usize)
}
