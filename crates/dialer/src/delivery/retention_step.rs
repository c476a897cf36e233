//! Retention in the worker (`[retention]`): one short step between publishing rounds, so
//! that it never holds up a claim for long.
//!
//! A step erases at most one erase transaction's worth of expired messages
//! ([`STEP`], their backends' files first), or deletes one batch of delivered webhook rows,
//! or (once a minute) removes expired audio. While there is a backlog the steps are paced by
//! how long they take: while messages are being published, retention takes at most
//! 1/[`BUSY_SHARE`] of the worker's time; while the queue is empty, half of it. With no
//! backlog it looks again every second (an indexed query that finds nothing). With retention
//! off, the worker makes no step at all.
//!
//! When a backlog has been erased (at most every [`SETTLE_EVERY`]) and when the worker
//! stops, the store lets go of old copies on disk ([`dialout_store::PrivacyStore::settle`]:
//! SQLite checkpoints and truncates its log, PostgreSQL vacuums) on a blocking thread beside
//! the worker, one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::delivery::blocking;
use crate::delivery::channels::Channels;
use crate::retention::{self, RetentionSettings};
use dialout_store::privacy::ERASE_BATCH;
use dialout_store::store::Store;

/// Messages one step erases: one erase transaction.
pub const STEP: usize = ERASE_BATCH;
/// Delivered webhook rows one step deletes (one statement).
pub const PRUNE_STEP: usize = 500;
/// While messages are published, a step is followed by a pause `BUSY_SHARE - 1` times as
/// long as the step took: retention takes at most 1/20 (5 %) of the worker's time.
pub const BUSY_SHARE: u32 = 20;
/// With no backlog, how often retention looks for newly expired messages and rows.
pub const LOOK_AGAIN: Duration = Duration::from_secs(1);
/// How often expired audio is looked for (a directory listing per backend).
pub const AUDIO_EVERY: Duration = Duration::from_secs(60);
/// The least time between two settles while the worker runs.
pub const SETTLE_EVERY: Duration = Duration::from_secs(600);
/// After a failing step (logged), retention waits this long; publishing carries on.
const AFTER_ERROR: Duration = Duration::from_secs(10);

/// What retention did in a worker's run.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RetentionStats {
    /// Steps that did some work (erased, pruned or looked for audio).
    pub steps: usize,
    pub messages: usize,
    pub webhook_deliveries: usize,
    pub files: usize,
    /// The longest step: the most a claim of this worker waited for retention.
    #[serde(serialize_with = "micros")]
    pub longest_step: Duration,
    /// Steps that took longer than 10 ms, and than 100 ms.
    pub steps_over_10ms: usize,
    pub steps_over_100ms: usize,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

pub(crate) struct RetentionStep {
    settings: RetentionSettings,
    next_erase: Instant,
    next_prune: Instant,
    next_audio: Instant,
    /// Messages erased since the store last settled.
    unsettled: usize,
    settled_at: Option<Instant>,
    settling: Option<tokio::task::JoinHandle<()>>,
    pub(crate) stats: RetentionStats,
}

impl RetentionStep {
    /// None when retention is off: the worker then makes no step.
    pub(crate) fn new(settings: RetentionSettings) -> Option<RetentionStep> {
        let now = Instant::now();
        settings.any().then_some(RetentionStep {
            settings,
            next_erase: now,
            next_prune: now,
            next_audio: now,
            unsettled: 0,
            settled_at: None,
            settling: None,
            stats: RetentionStats::default(),
        })
    }

    /// When the next step is due.
    pub(crate) fn next_at(&self) -> Instant {
        let s = &self.settings;
        [
            (s.messages, self.next_erase),
            (s.webhook_deliveries, self.next_prune),
            (s.audio, self.next_audio),
        ]
        .into_iter()
        .filter_map(|(on, at)| on.map(|_| at))
        .min()
        .unwrap_or_else(|| Instant::now() + LOOK_AGAIN)
    }

    /// Sleeps until the next step is due (forever without retention).
    pub(crate) async fn due(step: &Option<RetentionStep>) {
        match step {
            Some(s) => tokio::time::sleep_until(s.next_at().into()).await,
            None => std::future::pending().await,
        }
    }

    /// One step if one is due: erasing, else pruning, else audio. `busy`: the worker has
    /// more to publish. Failures are logged, never passed on: retention does not stop
    /// delivery.
    pub(crate) async fn run(&mut self, store: &Arc<dyn Store>, backends: &Channels, busy: bool) {
        let start = Instant::now();
        let pace = |took: Duration| match busy {
            true => took * (BUSY_SHARE - 1),
            false => took,
        };
        if self.settings.messages.is_some() && start >= self.next_erase {
            let now = backends.delivery().clock.now();
            match retention::erase_batch(store, backends, &self.settings, now, STEP).await {
                Ok((erased, files)) => {
                    self.stats.messages += erased;
                    self.stats.files += files;
                    self.unsettled += erased;
                    let took = self.took(start);
                    self.next_erase = match erased < STEP {
                        true => {
                            if self.unsettled > 0 {
                                tracing::info!(
                                    messages = self.stats.messages,
                                    "retention: expired messages erased"
                                );
                            }
                            if self.settled_at.is_none_or(|t| t.elapsed() >= SETTLE_EVERY) {
                                self.settle(store);
                            }
                            Instant::now() + LOOK_AGAIN
                        }
                        false => Instant::now() + pace(took),
                    };
                }
                Err(e) => {
                    tracing::warn!("retention: erasing expired messages failed: {e}");
                    self.next_erase = Instant::now() + AFTER_ERROR;
                }
            }
            return;
        }
        if let Some(age) = self.settings.webhook_deliveries
            && start >= self.next_prune
        {
            let cutoff = dialout_model::duration::before(backends.delivery().clock.now(), age);
            match blocking(store, move |s| s.prune_deliveries(cutoff, PRUNE_STEP)).await {
                Ok(n) => {
                    self.stats.webhook_deliveries += n;
                    let took = self.took(start);
                    self.next_prune = match n < PRUNE_STEP {
                        true => Instant::now() + LOOK_AGAIN,
                        false => Instant::now() + pace(took),
                    };
                }
                Err(e) => {
                    tracing::warn!("retention: pruning webhook deliveries failed: {e}");
                    self.next_prune = Instant::now() + AFTER_ERROR;
                }
            }
            return;
        }
        if self.settings.audio.is_some() && start >= self.next_audio {
            self.stats.files += retention::expire_audio(backends, &self.settings).await;
            self.took(start);
            self.next_audio = Instant::now() + AUDIO_EVERY;
        }
    }

    fn took(&mut self, start: Instant) -> Duration {
        let took = start.elapsed();
        self.stats.steps += 1;
        self.stats.longest_step = self.stats.longest_step.max(took);
        self.stats.steps_over_10ms += usize::from(took > Duration::from_millis(10));
        self.stats.steps_over_100ms += usize::from(took > Duration::from_millis(100));
        took
    }

    /// A backlog is erased: old copies go, beside the worker (at most one at a time).
    fn settle(&mut self, store: &Arc<dyn Store>) {
        if self.unsettled == 0 || self.settling.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.unsettled = 0;
        self.settled_at = Some(Instant::now());
        let store = Arc::clone(store);
        self.settling = Some(tokio::spawn(async move {
            if let Err(e) = blocking(&store, |s| s.settle()).await {
                tracing::warn!("retention: settling the store failed: {e}");
            }
        }));
    }

    /// The worker is stopping: settles what was erased since the last settle and waits
    /// for it.
    pub(crate) async fn finish(&mut self, store: &Arc<dyn Store>) {
        if let Some(t) = self.settling.take() {
            let _ = t.await;
        }
        self.settle(store);
        if let Some(t) = self.settling.take() {
            let _ = t.await;
        }
    }
}
