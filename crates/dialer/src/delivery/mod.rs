//! Delivery: the machinery between stored messages and backends.
//!
//! A message is published only under a claim (a lease with an owner and an expiry) so that
//! no two processes ever hand the same message to a backend. Every attempt is counted and
//! committed *before* the backend is called, and the backend is called outside any
//! transaction; a process that dies in between leaves an "unresolved" attempt, and whoever
//! claims the message next asks the backend ([`dialout_backends::backend::Lookup::find`]) before publishing
//! again. Store calls run on blocking threads, off the async executor.

pub mod allowlist;
pub mod begun;
pub mod cancel;
pub mod channels;
pub mod clock;
pub mod failpoint;
pub mod group_commit;
pub mod handover;
pub mod hours;
pub mod outcome;
pub mod publish;
pub mod retention_step;
pub mod retry;
pub mod router;
pub mod screen;
pub mod settings;
pub mod status;
pub mod worker;

use std::sync::Arc;

use dialout_backends::backend::BackendError;
use dialout_model::duration::after;
use dialout_model::id::MessageId;
use dialout_store::prelude::*;
use dialout_store::{Claimable, StoreError};

pub use allowlist::Allowlist;
pub(crate) use begun::{may_begin_at_once, publish_begun};
pub use cancel::{CancelOutcome, cancel, resend};
pub use channels::Channels;
pub use clock::Clock;
pub use handover::Published;
pub(crate) use handover::Record;
pub(crate) use publish::release_rest;
pub use publish::{publish_claimed, publish_now};
pub use retention_step::RetentionStats;
pub use retry::Backoff;
pub use router::{Router, UnknownBackend};
pub use settings::{DeliveryConfig, DeliverySettings};
pub use status::{BackendCheck, CheckedFailure, StatusRun, check_status, intake};
pub use worker::{Worker, WorkerOptions, WorkerStats};

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no message {0}")]
    NotFound(MessageId),
    #[error("message {id} cannot be {action}: {reason}")]
    Refused {
        id: MessageId,
        action: &'static str,
        reason: String,
    },
    #[error("backend {backend:?}: {error}")]
    Backend {
        backend: String,
        error: BackendError,
    },
    #[error("message {id} names backend {backend:?}, which is not configured")]
    NoBackend { id: MessageId, backend: String },
    /// The runtime shut down before store work finished.
    #[error("store work stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

/// A claim owner unique to this process and call: host, pid and a random part. The host
/// and pid are read once per process (a file read per message showed in the profile).
pub fn owner_id() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".into());
        format!("{host}:{}", std::process::id())
    });
    format!("{prefix}:{:08x}", rand::random::<u32>())
}

/// Keeps `owner`'s claims on `ids` alive (renewed every third of the lease) until dropped,
/// so that a slow backend never lets a claim expire while its message is handed over.
pub(crate) struct Renewer(tokio::task::JoinHandle<()>);

impl Renewer {
    pub(crate) fn start(
        store: &Arc<dyn Store>,
        owner: &str,
        ids: Vec<MessageId>,
        lease: std::time::Duration,
        clock: &Clock,
    ) -> Renewer {
        let (store, owner, ids) = (Arc::clone(store), owner.to_string(), Arc::new(ids));
        let clock = clock.clone();
        Renewer(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                if let Err(e) = renew(&store, &owner, &ids, lease, &clock).await {
                    tracing::warn!("renewing claims failed: {e}");
                }
            }
        }))
    }
}

/// Claims again what `owner` holds of `ids`: the lease runs from now.
pub(crate) async fn renew(
    store: &Arc<dyn Store>,
    owner: &str,
    ids: &Arc<Vec<MessageId>>,
    lease: std::time::Duration,
    clock: &Clock,
) -> Result<(), DeliveryError> {
    let (o, ids) = (owner.to_string(), Arc::clone(ids));
    let now = clock.now();
    blocking(store, move |s| {
        s.claim(&o, Claimable::Held(&ids), now, after(now, lease))
    })
    .await
    .map(drop)
}

/// Gives back what `owner` still holds of `ids` (each recorded outcome released its own).
pub(crate) async fn release(
    store: &Arc<dyn Store>,
    owner: &str,
    ids: Vec<MessageId>,
) -> Result<usize, DeliveryError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let o = owner.to_string();
    blocking(store, move |s| s.release(&o, &ids)).await
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs store work off the async executor (see [`dialout_backends::shared::blocking::run`]).
pub(crate) async fn blocking<T, F>(store: &Arc<dyn Store>, f: F) -> Result<T, DeliveryError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(store);
    Ok(dialout_backends::shared::blocking::run(move || f(store.as_ref())).await??)
}
