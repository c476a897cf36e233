//! A due claim under a backend's limits, for all workers on the database together (see
//! `crate::pace`). Concurrent claimers of one backend queue on a transaction-scoped
//! advisory lock, taken only when the backend has a limit; READ COMMITTED gives each
//! statement after it a fresh snapshot, so the count sees every claim committed before.

use super::Db;
use crate::error::StoreError;
use crate::pace::{PaceRows, claim_paced};
use dialout_model::message::Message;
use dialout_model::pace::Bucket;
use dialout_model::pace::Pace;
use jiff::Timestamp;
use postgres::Transaction;

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// The token buckets of backends with `calls_per_second` (migration 8).
pub(super) const SCHEMA: &str = "
CREATE TABLE backend_pacing (
    backend TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    refilled_at TIMESTAMPTZ NOT NULL
);
";

/// The lock class of pacing locks (the second key is the backend's hash; a collision only
/// makes two backends wait for each other).
const LOCK_CLASS: i32 = 7_283_002;

/// Claims with `claim` at most what `pace` leaves of `limit` for `backend` now.
pub(super) fn claim(
    db: &mut Tx<'_, '_>,
    backend: &str,
    pace: &Pace,
    limit: usize,
    now: Timestamp,
    claim: impl FnOnce(&mut Tx<'_, '_>, usize) -> Result<Vec<Message>, StoreError>,
) -> Result<Vec<Message>, StoreError> {
    // Sequential and bitmap scans priced out for the transaction (as the claim does too):
    // with statistics the planner counted the claimed messages by reading the whole table,
    // and a bitmap scan visits every entry the last claims left in `messages_claims` until
    // a vacuum, where an index scan marks the dead ones once and skips them afterwards.
    db.query(
        "SELECT pg_advisory_xact_lock($1, hashtext($2)), set_config('enable_seqscan', 'off', true), \
         set_config('enable_bitmapscan', 'off', true)",
        &[&LOCK_CLASS, &backend],
    )?;
    claim_paced(db, backend, pace, limit, now, claim)
}

impl PaceRows for Tx<'_, '_> {
    fn busy(&mut self, backend: &str, now: Timestamp) -> Result<usize, StoreError> {
        busy(self, backend, now)
    }
    fn bucket(&mut self, backend: &str) -> Result<Option<Bucket>, StoreError> {
        stored(self, backend)
    }
    fn put_bucket(&mut self, backend: &str, bucket: Bucket) -> Result<(), StoreError> {
        store(self, backend, bucket)
    }
}

/// Sent and not final, plus claimed under a live lease and not sent: each count on its own
/// partial index (`messages_open`, `messages_claims`).
fn busy(db: &mut Tx<'_, '_>, backend: &str, now: Timestamp) -> Result<usize, StoreError> {
    let n: i64 = db.query(
        "SELECT (SELECT COUNT(*) FROM messages WHERE backend = $1 AND NOT is_final_state AND sent_at IS NOT NULL) \
         + (SELECT COUNT(*) FROM messages WHERE claim_owner IS NOT NULL AND claim_until > $2 \
            AND backend = $1 AND sent_at IS NULL AND NOT is_final_state)",
        &[&backend, &now],
    )?[0]
        .try_get(0)?;
    Ok(n.max(0) as usize)
}

fn stored(db: &mut Tx<'_, '_>, backend: &str) -> Result<Option<Bucket>, StoreError> {
    db.query_opt(
        "SELECT tokens, refilled_at FROM backend_pacing WHERE backend = $1",
        &[&backend],
    )?
    .map(|r| {
        Ok(Bucket {
            tokens: r.try_get(0)?,
            refilled_at: r.try_get(1)?,
        })
    })
    .transpose()
}

fn store(db: &mut Tx<'_, '_>, backend: &str, b: Bucket) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO backend_pacing (backend, tokens, refilled_at) VALUES ($1, $2, $3) \
         ON CONFLICT (backend) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at",
        &[&backend, &b.tokens, &b.refilled_at],
    )?;
    Ok(())
}
