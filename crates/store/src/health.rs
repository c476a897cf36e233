//! What the dashboard and the health endpoints read: counts, heartbeats, queue depth.
use crate::beats::WorkerBeat;
use crate::error::StoreError;
use dialout_model::state::State;
use jiff::Timestamp;

/// Counts and heartbeats.
pub trait HealthStore: Send + Sync {
    /// Messages created at or after `since`, counted by state in consecutive intervals of
    /// `bucket` starting at `since`; only non-zero counts, in no particular order.
    fn state_counts(
        &self,
        since: Timestamp,
        bucket: jiff::SignedDuration,
    ) -> Result<Vec<StateCount>, StoreError>;
    /// Records a worker's heartbeat (one row per worker, replaced); a beat with `stopped`
    /// is its last, sent as it ends cleanly.
    fn beat(&self, beat: &WorkerBeat) -> Result<(), StoreError>;
    /// The workers heard from at or after `since`, the most recent first.
    fn beats(&self, since: Timestamp) -> Result<Vec<WorkerBeat>, StoreError>;
    /// Messages waiting to be published (WAITING, ERROR_RETRY); SQLite leaves out those the
    /// process that stored them is publishing at once.
    fn queue_depth(&self) -> Result<usize, StoreError>;
}

/// How many messages of one interval are in one state ([`Store::state_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StateCount {
    /// Which interval: 0 is the one starting at `since`.
    pub bucket: i64,
    pub state: State,
    pub count: u64,
}
