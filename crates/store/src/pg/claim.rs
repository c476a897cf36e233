//! Keeps the claim on its index: planned without statistics (right after a bulk load) the
//! planner guesses few due rows and prefers a bitmap scan and a sort of *all* due rows to
//! walking `messages_claim_order` up to the LIMIT; with sorts, bitmap scans and sequential
//! scans priced out for the claim's transaction only, the index walk is the one plan left
//! (EXPLAIN before and after: docs/benchmarks.md).
use super::Db;
use crate::error::StoreError;
use postgres::Transaction;

/// For the rest of the current transaction (`set_config(.., true)` is `SET LOCAL`).
///
/// The claim's commit also skips waiting for the disk (`synchronous_commit = off`): a claim
/// lost in a server crash only leaves its messages unclaimed, and the next step (begin the
/// attempts, a durable commit) flushes the claim with it, or fails on those messages.
pub(super) fn claim_settings(db: &mut Db<'_, Transaction<'_>>) -> Result<(), StoreError> {
    db.query(
        "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true), \
         set_config('enable_seqscan', 'off', true), set_config('synchronous_commit', 'off', true)",
        &[],
    )?;
    Ok(())
}
