//! A paced claim: counts, refills and spends under the claim's lock. The arithmetic
//! ([`Pace`], [`Bucket`]) is the model's; see `dialout_model::pace` for the invariants.
use crate::error::StoreError;
use dialout_model::message::Message;
use dialout_model::pace::{Bucket, Pace};
use jiff::Timestamp;

/// What a store reads and writes for a paced claim, inside the claim's transaction and
/// under its lock.
pub trait PaceRows {
    /// The backend's messages sent and not final, plus those claimed under a live lease
    /// and not sent.
    fn busy(&mut self, backend: &str, now: Timestamp) -> Result<usize, StoreError>;
    fn bucket(&mut self, backend: &str) -> Result<Option<Bucket>, StoreError>;
    fn put_bucket(&mut self, backend: &str, bucket: Bucket) -> Result<(), StoreError>;
}

/// Claims with `claim` at most what `pace` leaves of `limit` for `backend` now; the caller
/// holds the backend's lock (see the module's comment).
pub fn claim_paced<D: PaceRows>(
    db: &mut D,
    backend: &str,
    pace: &Pace,
    limit: usize,
    now: Timestamp,
    claim: impl FnOnce(&mut D, usize) -> Result<Vec<Message>, StoreError>,
) -> Result<Vec<Message>, StoreError> {
    // As the database keeps it: the stored bucket refills from exactly this instant.
    let now = crate::sql::micros(now);
    let busy = match pace.max_in_flight {
        Some(_) => db.busy(backend, now)?,
        None => 0,
    };
    let bucket = match pace.calls_per_second {
        Some(_) => pace.refill(db.bucket(backend)?, now),
        None => None,
    };
    let room = pace.room(limit, busy, bucket.as_ref());
    if room == 0 {
        return Ok(Vec::new());
    }
    let claimed = claim(db, room)?;
    if let Some(b) = bucket
        && !claimed.is_empty()
    {
        db.put_bucket(backend, b.spend(claimed.len()))?;
    }
    Ok(claimed)
}
