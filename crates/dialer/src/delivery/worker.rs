//! The worker: publishes due messages, takes in results, runs the status check on an
//! interval, and stops cleanly when told to (finishing what it holds, releasing its claims).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::watch;

use super::publish::release_rest;
use super::retention_step::{RetentionStats, RetentionStep};
use super::{
    DeliveryError, StatusRun, after, blocking, check_status, intake, owner_id, publish_claimed,
};
use crate::delivery::channels::Channels;
use crate::retention::RetentionSettings;
use dialout_model::pace::Pace;
use dialout_store::prelude::*;
use dialout_store::{Claimable, WorkerBeat};

#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Publish what is due, run one intake and status check, and return.
    pub once: bool,
    /// Pause when nothing is due (default: `delivery.interval`).
    pub interval: Option<Duration>,
    /// Between status checks (default: `delivery.status_interval`).
    pub status_interval: Option<Duration>,
    /// No status checks (another process, say cron, runs them).
    pub no_status: bool,
    /// Messages claimed at a time (default: `delivery.batch_size`); at least 1.
    pub batch_size: Option<usize>,
    /// `[retention]`: a short step between publishing rounds (not with `once`; off by
    /// default; see `retention_step.rs`).
    pub retention: RetentionSettings,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerStats {
    /// Messages claimed for publishing.
    pub claimed: usize,
    /// Messages whose outcome was recorded.
    pub recorded: usize,
    /// State changes from result intake and status checks.
    pub status_updates: usize,
    pub check_failures: usize,
    /// Backend outages seen by status checks and intake.
    pub outages: usize,
    /// The longest claim (a store call), in microseconds.
    #[serde(serialize_with = "micros")]
    pub longest_claim: Duration,
    pub retention: RetentionStats,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

pub struct Worker {
    store: Arc<dyn Store>,
    backends: Channels,
    options: WorkerOptions,
    owner: String,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, mut backends: Channels, options: WorkerOptions) -> Self {
        if let Some(n) = options.batch_size {
            backends = backends.with_batch_size(n);
        }
        Worker {
            store,
            backends,
            options,
            owner: owner_id(),
        }
    }

    /// The claim owner this worker uses.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Runs until `stop` turns true (or, with `once`, until nothing is due). Each batch it
    /// claims is released (what is left of it) before the next, whatever happened.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<WorkerStats, DeliveryError> {
        let stats = self.work(&mut stop).await?;
        tracing::info!(
            claimed = stats.claimed,
            recorded = stats.recorded,
            "worker stopped"
        );
        Ok(stats)
    }

    async fn work(&self, stop: &mut watch::Receiver<bool>) -> Result<WorkerStats, DeliveryError> {
        let settings = self.backends.delivery();
        let interval = self.options.interval.unwrap_or(settings.interval);
        let status_interval = self
            .options
            .status_interval
            .unwrap_or(settings.status_interval);
        let mut stats = WorkerStats::default();
        let mut paused: HashMap<String, Instant> = HashMap::new();
        let mut next_status = Instant::now();
        let mut next_intake = Instant::now();
        // Woken as soon as messages are queued where the store can tell (else polling).
        let mut due = match self.options.once {
            true => None,
            false => blocking(&self.store, |s| s.due_signal())
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!("no wake-ups from the store ({e}); polling only");
                    None
                }),
        };
        // A failing store (database down or restarting) is logged once, retried with backoff.
        let mut outage: Option<(Instant, Duration)> = None;
        let (results, _forwarders) = results_waiting(&self.backends);
        let started_at = Timestamp::now();
        let mut next_beat = Instant::now();
        let mut retention = match self.options.once {
            true => None,
            false => RetentionStep::new(self.options.retention),
        };
        loop {
            if *stop.borrow() {
                break;
            }
            if Instant::now() >= next_beat {
                next_beat = Instant::now() + WorkerBeat::EVERY;
                self.beat(started_at, &stats, false).await;
            }
            let more = match self
                .tick(
                    &mut stats,
                    stop,
                    &mut paused,
                    &mut next_intake,
                    &mut next_status,
                    interval,
                    status_interval,
                )
                .await
            {
                Ok(more) => {
                    if let Some((since, _)) = outage.take() {
                        tracing::info!("worker working again after {:?}", since.elapsed());
                    }
                    if let Some(r) = retention.as_mut()
                        && Instant::now() >= r.next_at()
                    {
                        r.run(&self.store, &self.backends, more).await;
                    }
                    more
                }
                // A long-running worker outlives a database restart; `--once` reports it.
                Err(e) if !self.options.once => {
                    let wait = match outage {
                        None => {
                            tracing::error!(
                                "worker tick failed: {e}; retrying with backoff (up to {interval:?}) until it works"
                            );
                            Duration::from_millis(50)
                        }
                        Some((_, wait)) => (wait * 2).min(interval),
                    };
                    outage = Some((outage.map_or_else(Instant::now, |o| o.0), wait));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !more {
                if self.options.once {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stop.changed() => {}
                    _ = queued(&mut due) => {}
                    _ = RetentionStep::due(&retention) => {}
                    // A backend has results (an AMI hangup): take them in now.
                    _ = results.notified() => next_intake = Instant::now(),
                }
            }
        }
        if let Some(r) = retention.as_mut() {
            r.finish(&self.store).await;
            stats.retention = r.stats;
        }
        if self.options.once && !*stop.borrow() {
            let taken = intake(&self.store, &self.backends).await?;
            count(&mut stats, &taken);
            if !self.options.no_status {
                let run = check_status(&self.store, &self.backends).await?;
                count(&mut stats, &run);
            }
        }
        // A clean end, told apart from a worker that was killed or lost its database.
        self.beat(started_at, &stats, true).await;
        Ok(stats)
    }

    /// Says this worker is alive, or with `stopped` that it ends cleanly (best effort: a
    /// failing store is the tick's to report).
    async fn beat(&self, started_at: Timestamp, stats: &WorkerStats, stopped: bool) {
        let beat = WorkerBeat {
            owner: self.owner.clone(),
            started_at,
            seen_at: Timestamp::now(),
            claimed: stats.claimed as u64,
            recorded: stats.recorded as u64,
            stopped,
        };
        if let Err(e) = blocking(&self.store, move |s| s.beat(&beat)).await {
            tracing::debug!("worker heartbeat not recorded: {e}");
        }
    }

    /// Intake (at most once per interval), the status check when due, one publishing round.
    #[allow(clippy::too_many_arguments)]
    async fn tick(
        &self,
        stats: &mut WorkerStats,
        stop: &watch::Receiver<bool>,
        paused: &mut HashMap<String, Instant>,
        next_intake: &mut Instant,
        next_status: &mut Instant,
        interval: Duration,
        status_interval: Duration,
    ) -> Result<bool, DeliveryError> {
        if Instant::now() >= *next_intake {
            // The store's housekeeping: messages whose sender died while publishing them at
            // once, indexes kept behind.
            blocking(&self.store, |s| s.catch_up(Timestamp::now(), 100_000)).await?;
            let taken = intake(&self.store, &self.backends).await?;
            count(stats, &taken);
            *next_intake = Instant::now() + interval;
        }
        if !self.options.once && !self.options.no_status && Instant::now() >= *next_status {
            let run = check_status(&self.store, &self.backends).await?;
            count(stats, &run);
            *next_status = Instant::now() + status_interval;
        }
        self.publish_due(stats, stop, paused).await
    }

    /// One batch per backend; true when some backend had a full batch (more may be due).
    async fn publish_due(
        &self,
        stats: &mut WorkerStats,
        stop: &watch::Receiver<bool>,
        paused: &mut HashMap<String, Instant>,
    ) -> Result<bool, DeliveryError> {
        let settings = self.backends.delivery();
        let mut more = false;
        for (name, backend) in self.backends.iter() {
            if *stop.borrow() {
                return Ok(false);
            }
            if paused
                .get(name)
                .is_some_and(|until| Instant::now() < *until)
            {
                continue;
            }
            let n = name.to_string();
            let (limit, pace) = match backend.pacing() {
                Some(p) => {
                    let pace = p.limits();
                    // A shared `max_in_flight` is counted by the claim itself, atomically
                    // with it; the backend's own capacity (a session down, its spool) on top.
                    let in_flight = match pace.max_in_flight {
                        Some(_) => 0,
                        None => {
                            blocking(&self.store, move |s| s.backend_state(&n))
                                .await?
                                .in_flight
                        }
                    };
                    (p.capacity(in_flight).await.min(settings.batch_size), pace)
                }
                None => (settings.batch_size, Pace::NONE),
            };
            if limit == 0 {
                continue;
            }
            let (n, owner) = (name.to_string(), self.owner.clone());
            let now = settings.clock.now();
            let until = after(now, settings.lease);
            let asked = Instant::now();
            let claimed = blocking(&self.store, move |s| {
                let due = Claimable::Due {
                    limit,
                    backend: Some(&n),
                    pace,
                };
                s.claim(&owner, due, now, until)
            })
            .await?;
            stats.longest_claim = stats.longest_claim.max(asked.elapsed());
            if claimed.is_empty() {
                continue;
            }
            let full = claimed.len() == limit;
            stats.claimed += claimed.len();
            let held = claimed.iter().map(|m| m.id).collect();
            let result = publish_claimed(&self.store, &self.backends, &self.owner, claimed).await;
            // Anything left undecided (or all of it, after an error) goes back to the queue.
            release_rest(&self.store, &self.owner, held, &result).await?;
            let done = result?;
            stats.recorded += done.messages.len();
            for (b, reason) in &done.paused {
                // A paused backend (401/403) is left alone for a while instead of being
                // asked again for every message.
                tracing::warn!(backend = %b, "backend paused: {reason}; not publishing to it for {:?}", settings.retry_base);
                paused.insert(b.clone(), Instant::now() + settings.retry_base);
            }
            more |= full && done.paused.is_empty() && done.deferred == 0;
        }
        Ok(more)
    }
}

/// Resolves when the store signals queued messages; never without a signal (or once the
/// signal is gone: polling carries on).
async fn queued(due: &mut Option<watch::Receiver<u64>>) {
    match due {
        Some(rx) => {
            if rx.changed().await.is_err() {
                *due = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// One notification for "some backend has results waiting" (see
/// [`dialout_backends::backend::Intake::changed`]); the tasks forwarding to it end when dropped.
fn results_waiting(backends: &Channels) -> (Arc<tokio::sync::Notify>, Forwarders) {
    let all = Arc::new(tokio::sync::Notify::new());
    let tasks = backends
        .iter()
        .filter_map(|(_, b)| b.intake()?.changed())
        .map(|n| {
            let all = all.clone();
            tokio::spawn(async move {
                loop {
                    n.notified().await;
                    all.notify_one();
                }
            })
        })
        .collect();
    (all, Forwarders(tasks))
}

struct Forwarders(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Forwarders {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

fn count(stats: &mut WorkerStats, run: &StatusRun) {
    for b in &run.backends {
        stats.status_updates += b.updated.len() + b.expired.len();
        stats.check_failures += b.failures.len();
        stats.outages += usize::from(b.outage.is_some());
    }
}
