//! A due claim under a backend's limits, for all workers on the database together (see
//! `crate::pace`). The claim runs in a `BEGIN IMMEDIATE` transaction: SQLite's one
//! writer at a time is the lock, so counting, taking tokens and claiming are one step.

use super::rows::{ts, us};
use crate::error::StoreError;
use crate::pace::{PaceRows, claim_paced};
use dialout_model::message::Message;
use dialout_model::pace::Bucket;
use dialout_model::pace::Pace;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, named_params};

/// The token buckets of backends with `calls_per_second`, and an index of claimed messages
/// for the in-flight count (migration 12). Inline claims (`send` publishing at once) are
/// left out of the index, so that path writes nothing more: they are only made for
/// backends without pacing.
pub(super) const SCHEMA: &str = "
CREATE TABLE backend_pacing (
    backend TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    refilled_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX messages_claimed ON messages(backend) WHERE claim_owner IS NOT NULL AND inline_claim = 0;
";

/// Claims with `claim` at most what `pace` leaves of `limit` for `backend` now.
pub(super) fn claim(
    tx: &Connection,
    backend: &str,
    pace: &Pace,
    limit: usize,
    now: Timestamp,
    claim: impl FnOnce(&Connection, usize) -> Result<Vec<Message>, StoreError>,
) -> Result<Vec<Message>, StoreError> {
    claim_paced(&mut Rows(tx), backend, pace, limit, now, |rows, room| {
        claim(rows.0, room)
    })
}

struct Rows<'a>(&'a Connection);

impl PaceRows for Rows<'_> {
    fn busy(&mut self, backend: &str, now: Timestamp) -> Result<usize, StoreError> {
        busy(self.0, backend, now)
    }
    fn bucket(&mut self, backend: &str) -> Result<Option<Bucket>, StoreError> {
        stored(self.0, backend)
    }
    fn put_bucket(&mut self, backend: &str, bucket: Bucket) -> Result<(), StoreError> {
        store(self.0, backend, bucket)
    }
}

/// Sent and not final (`messages_open`), plus claimed under a live lease and not sent
/// (`messages_claimed`).
fn busy(tx: &Connection, backend: &str, now: Timestamp) -> Result<usize, StoreError> {
    let n: i64 = tx
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM messages WHERE backend = :backend AND is_final_state = 0 AND sent_at IS NOT NULL) \
             + (SELECT COUNT(*) FROM messages WHERE claim_owner IS NOT NULL AND inline_claim = 0 \
                AND backend = :backend AND claim_until > :now AND sent_at IS NULL AND is_final_state = 0)",
        )?
        .query_row(
            named_params! { ":backend": backend, ":now": us(now) },
            |r| r.get(0),
        )?;
    Ok(n.max(0) as usize)
}

fn stored(tx: &Connection, backend: &str) -> Result<Option<Bucket>, StoreError> {
    let row: Option<(f64, i64)> = tx
        .prepare_cached("SELECT tokens, refilled_at FROM backend_pacing WHERE backend = :backend")?
        .query_row(named_params! { ":backend": backend }, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(tokens, at)| {
        Ok(Bucket {
            tokens,
            refilled_at: ts(at)?,
        })
    })
    .transpose()
}

fn store(tx: &Connection, backend: &str, b: Bucket) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO backend_pacing (backend, tokens, refilled_at) VALUES (:backend, :tokens, :at) \
         ON CONFLICT (backend) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at",
    )?
    .execute(named_params! { ":backend": backend, ":tokens": b.tokens, ":at": us(b.refilled_at) })?;
    Ok(())
}
