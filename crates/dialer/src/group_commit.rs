//! Group commit for [`Dialer::send`] (what `dialout serve` turns on): messages sent
//! concurrently are stored in one transaction instead of one each.
//!
//! Invariants:
//! - A send is answered only after the transaction holding its message has committed:
//!   the committer replies once `Store::insert` returned.
//! - Requests that arrive while a commit runs wait in the queue and share the next commit
//!   (at most [`MAX_GROUP`] messages); there is one commit at a time.
//! - Only messages whose insert cannot be refused because of another message are grouped:
//!   no idempotency key, no template no-duplicates rule, no per-recipient caps or dedupe
//!   (those take the one-at-a-time path). The do-not-call list is checked in the group's
//!   transaction. If a group's transaction fails all the same, each of its messages is tried
//!   again alone, so that one message's error is never another's.
//! - Publishing stays outside the transaction: each sender publishes its own message after
//!   the reply, under the claim the commit gave it. A sender that goes away before (its
//!   client hung up) leaves a claimed message whose lease runs out: the worker publishes it.

use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};

use crate::delivery::owner_id;
use crate::send::{SendError, Sent, merge};
use crate::store::{InsertMode, Inserted, Store, StoreError};
use crate::{Dialer, Message, NewMessage};

/// Most messages one commit stores.
pub const MAX_GROUP: usize = 256;

/// How a grouped message starts (see `InsertMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Queued,
    Claimed,
    Attempting,
}

struct Job {
    message: NewMessage,
    start: Start,
    reply: oneshot::Sender<Result<(Inserted, String), StoreError>>,
}

/// The queue in front of the store; its committer task starts with the first send.
pub(crate) struct GroupCommit {
    store: Arc<dyn Store>,
    lease: std::time::Duration,
    queue: OnceLock<mpsc::UnboundedSender<Job>>,
}

impl GroupCommit {
    pub(crate) fn new(store: Arc<dyn Store>, lease: std::time::Duration) -> Self {
        GroupCommit {
            store,
            lease,
            queue: OnceLock::new(),
        }
    }

    /// Stores `message` with the next commit; returns it as stored and the claim's owner.
    async fn submit(
        &self,
        message: NewMessage,
        start: Start,
    ) -> Result<(Inserted, String), SendError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(committer(Arc::clone(&self.store), self.lease, rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let job = Job {
            message,
            start,
            reply,
        };
        if queue.send(job).is_err() {
            return Err(SendError::Store(StoreError::Poisoned));
        }
        match answer.await {
            Ok(r) => Ok(r?),
            Err(_) => Err(SendError::Store(StoreError::Poisoned)),
        }
    }
}

async fn committer(
    store: Arc<dyn Store>,
    lease: std::time::Duration,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let store = Arc::clone(&store);
        // Replies are sent from the blocking thread, right after the commit.
        let _ = crate::blocking::run(move || commit(store.as_ref(), lease, jobs)).await;
    }
}

fn commit(store: &dyn Store, lease: std::time::Duration, mut jobs: Vec<Job>) {
    let owner = owner_id();
    for start in [Start::Queued, Start::Claimed, Start::Attempting] {
        let (mine, rest): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.start == start);
        jobs = rest;
        if mine.is_empty() {
            continue;
        }
        let (batch, replies): (Vec<NewMessage>, Vec<_>) =
            mine.into_iter().map(|j| (j.message, j.reply)).unzip();
        match insert(store, &owner, lease, start, &batch) {
            Ok(inserted) => {
                for (reply, i) in replies.into_iter().zip(inserted) {
                    let _ = reply.send(Ok((i, owner.clone())));
                }
            }
            // Alone, each message meets only its own error.
            Err(_) => {
                for (reply, m) in replies.into_iter().zip(&batch) {
                    let r = insert(store, &owner, lease, start, std::slice::from_ref(m))
                        .map(|mut v| (v.remove(0), owner.clone()));
                    let _ = reply.send(r);
                }
            }
        }
    }
}

fn insert(
    store: &dyn Store,
    owner: &str,
    lease: std::time::Duration,
    start: Start,
    batch: &[NewMessage],
) -> Result<Vec<Inserted>, StoreError> {
    let now = Timestamp::now();
    let until = crate::delivery::after(now, lease);
    let mode = match start {
        Start::Queued => InsertMode::QUEUED,
        Start::Claimed => InsertMode::claimed(owner, until),
        Start::Attempting => InsertMode::attempting(owner, until),
    };
    // Only sends without caps or dedupe are grouped (see `Dialer::send`): the do-not-call
    // list is the one rule left to apply.
    let screen = crate::dnc::Screen {
        dnc: true,
        ..Default::default()
    };
    store.insert(batch, mode.screened(screen), now)
}

impl Dialer {
    /// Sends through the group committer: stored with whatever else is being sent, then
    /// published on its own.
    pub(crate) async fn send_grouped(
        &self,
        group: &GroupCommit,
        message: NewMessage,
        publish: bool,
    ) -> Result<Sent, SendError> {
        let at_once = crate::delivery::may_begin_at_once(self.backends(), &message);
        let start = match (publish, at_once) {
            (false, _) => Start::Queued,
            (true, true) => Start::Attempting,
            (true, false) => Start::Claimed,
        };
        let (inserted, owner) = group.submit(message, start).await?;
        if !publish {
            return Ok(Sent {
                message: inserted.message,
                existing: inserted.existing,
            });
        }
        let claimed: Vec<Message> = vec![inserted.message.clone()];
        let held = vec![inserted.message.id];
        let (store, backends) = (self.store(), self.backends());
        let published = if at_once {
            crate::delivery::publish_begun(store, backends, &owner, claimed).await
        } else {
            crate::delivery::publish_claimed(store, backends, &owner, claimed).await
        };
        crate::delivery::release_rest(store, &owner, held, &published).await?;
        Ok(merge(vec![inserted], published?.messages).remove(0))
    }
}
