//! Worker heartbeats: each running worker says, every few seconds, that it is alive and
//! how much it did, so that people (the dashboard) can see which workers run. A worker that
//! ends cleanly says so in a last beat (`stopped`), so that it is not taken for a lost one.

use jiff::Timestamp;

/// One worker's last word.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerBeat {
    /// The worker's claim owner (`host:pid:random`).
    pub owner: String,
    pub started_at: Timestamp,
    pub seen_at: Timestamp,
    /// Messages it claimed and results it recorded since it started.
    pub claimed: u64,
    pub recorded: u64,
    /// The worker ended cleanly at `seen_at` (its last beat); false while it runs, and for
    /// a worker that was killed or cut off (it just falls silent).
    pub stopped: bool,
}

impl WorkerBeat {
    /// How often a running worker records its heartbeat.
    pub const EVERY: std::time::Duration = std::time::Duration::from_secs(10);

    /// Whether the worker missed three beats by `now` (stopped, killed or cut off; see
    /// `stopped` for which).
    pub fn silent(&self, now: Timestamp) -> bool {
        now.duration_since(self.seen_at).as_secs() > 3 * Self::EVERY.as_secs() as i64
    }
}

/// The table both stores keep (one row per worker, replaced at each beat).
pub(super) const SCHEMA_SQLITE: &str = "
CREATE TABLE worker_beats (
    owner TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    claimed INTEGER NOT NULL,
    recorded INTEGER NOT NULL
) WITHOUT ROWID;
";

/// A clean stop, recorded by the worker's last beat.
pub(super) const STOPPED_SQLITE: &str =
    "ALTER TABLE worker_beats ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;";

pub(super) const SCHEMA_POSTGRES: &str = "
CREATE TABLE worker_beats (
    owner TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    claimed BIGINT NOT NULL,
    recorded BIGINT NOT NULL
);
";

pub(super) const STOPPED_POSTGRES: &str =
    "ALTER TABLE worker_beats ADD COLUMN stopped BOOLEAN NOT NULL DEFAULT false;";
