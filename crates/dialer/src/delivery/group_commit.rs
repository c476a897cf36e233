//! Group commit for [`Dialer::send`] (what `dialout serve` turns on): messages sent
//! concurrently are stored in one transaction instead of one each, and the outcomes of their
//! publishing are recorded in one transaction too.
//!
//! Invariants:
//! - One committer thread does every grouped write, one transaction at a time; requests that
//!   arrive while it works wait in its queue and share the next transaction (at most
//!   [`MAX_GROUP`] jobs per round). It runs on a thread of its own, not the async runtime's:
//!   the request tasks keep the runtime's threads, and it never waits on SQLite's lock for
//!   them.
//! - A send is answered only after the transaction holding its message has committed: the
//!   committer replies once `Store::insert` returned; a published send, only after its
//!   outcome's `Store::finish` returned too.
//! - Only messages whose insert cannot be refused because of another message are grouped:
//!   no idempotency key, no template no-duplicates rule, no per-recipient caps or dedupe
//!   (those take the one-at-a-time path). Each grouped message is screened with the very
//!   [`Screen`] `Dialer::send` computed for it (the do-not-call list, in the group's
//!   transaction); messages with different screens are never in one insert. If a group's
//!   transaction fails all the same, each of its jobs is tried again alone, so that one
//!   message's error is never another's.
//! - Publishing stays outside every transaction: each sender calls its backend itself after
//!   the insert's reply, under the claim the commit gave it, then hands its outcome back to
//!   the committer. All of the committer's claims have one owner (as a worker's do), so that
//!   one `Store::finish` records any number of senders' outcomes; claims are still taken and
//!   released per message. A sender that goes away before handing its outcome back (its
//!   client hung up) leaves a claimed message whose lease runs out: the worker publishes it
//!   (looking the begun attempt up first).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::delivery::{Clock, owner_id};
use dialout_model::dnc::Screen;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_store::prelude::*;
use dialout_store::{Change, InsertMode, Inserted, Seen, StoreError};

/// Most jobs (messages to store, outcomes to record) one round of commits takes.
pub const MAX_GROUP: usize = 256;

/// How a grouped message starts (see `InsertMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Queued,
    Claimed,
    Attempting,
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// The changes handed in, given back, with what `Store::finish` returned for each.
type Finished = (Vec<(Seen, Change)>, Vec<Option<Message>>);

type ToInsert = (NewMessage, Reply<Inserted>);
type ToFinish = (Vec<(Seen, Change)>, Reply<Finished>);

// Unboxed: a job is moved once, into the queue.
#[allow(clippy::large_enum_variant)]
enum Job {
    Insert {
        message: NewMessage,
        start: Start,
        screen: Screen,
        reply: Reply<Inserted>,
    },
    Finish {
        changes: Vec<(Seen, Change)>,
        reply: Reply<Finished>,
    },
}

/// What the committer thread needs.
struct Shared {
    store: Arc<dyn Store>,
    lease: std::time::Duration,
    clock: Clock,
    owner: String,
}

/// The queue in front of the store; its committer thread starts with the first send and
/// stops when the last `Dialer` sharing it is dropped.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    running: Mutex<Option<(mpsc::Sender<Job>, JoinHandle<()>)>>,
}

impl GroupCommit {
    pub(crate) fn new(store: Arc<dyn Store>, lease: std::time::Duration, clock: Clock) -> Self {
        GroupCommit {
            shared: Arc::new(Shared {
                store,
                lease,
                clock,
                owner: owner_id(),
            }),
            running: Mutex::new(None),
        }
    }

    /// The owner of every claim the committer takes.
    pub(crate) fn owner(&self) -> &str {
        &self.shared.owner
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        let mut running = self.running.lock().map_err(|_| StoreError::Poisoned)?;
        if running.is_none() {
            let (tx, rx) = mpsc::channel();
            let shared = Arc::clone(&self.shared);
            let thread = std::thread::Builder::new()
                .name("dialout-commit".into())
                .spawn(move || committer(&shared, rx))
                .map_err(|_| StoreError::Poisoned)?;
            *running = Some((tx, thread));
        }
        let (tx, _) = running.as_ref().expect("started above");
        tx.send(job).map_err(|_| StoreError::Poisoned)
    }

    /// Stores `message` with the next commit; returns it as stored.
    pub(crate) async fn insert(
        &self,
        message: NewMessage,
        start: Start,
        screen: Screen,
    ) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Insert {
            message,
            start,
            screen,
            reply,
        })?;
        answer.await.map_err(|_| StoreError::Poisoned)?
    }

    /// Records outcomes of messages the committer's owner holds, with the next commit (see
    /// `Store::finish`); the changes come back with the result.
    pub(crate) async fn finish(
        &self,
        changes: Vec<(Seen, Change)>,
    ) -> Result<Finished, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Finish { changes, reply })?;
        answer.await.map_err(|_| StoreError::Poisoned)?
    }
}

impl Drop for GroupCommit {
    /// Lets the committer finish what was queued and waits for it, so that the store is no
    /// longer used once the last `Dialer` is gone.
    fn drop(&mut self) {
        let running = self.running.get_mut().ok().and_then(Option::take);
        if let Some((tx, thread)) = running {
            drop(tx);
            let _ = thread.join();
        }
    }
}

fn committer(shared: &Shared, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        commit(shared, jobs);
    }
}

fn commit(shared: &Shared, jobs: Vec<Job>) {
    let mut finishes = Vec::new();
    // Grouped by how they start and are screened, in the order they came.
    let mut inserts: Vec<((Start, Screen), Vec<ToInsert>)> = Vec::new();
    for job in jobs {
        match job {
            Job::Finish { changes, reply } => finishes.push((changes, reply)),
            Job::Insert {
                message,
                start,
                screen,
                reply,
            } => match inserts.iter_mut().find(|(k, _)| *k == (start, screen)) {
                Some((_, v)) => v.push((message, reply)),
                None => inserts.push(((start, screen), vec![(message, reply)])),
            },
        }
    }
    // Outcomes first: their senders have waited longest.
    if !finishes.is_empty() {
        finish(shared, finishes);
    }
    for ((start, screen), group) in inserts {
        let (batch, replies): (Vec<NewMessage>, Vec<_>) = group.into_iter().unzip();
        match insert(shared, start, screen, &batch) {
            Ok(inserted) => {
                for (reply, i) in replies.into_iter().zip(inserted) {
                    let _ = reply.send(Ok(i));
                }
            }
            // Alone, each message meets only its own error.
            Err(_) => {
                for (reply, m) in replies.into_iter().zip(&batch) {
                    let r = insert(shared, start, screen, std::slice::from_ref(m))
                        .map(|mut v| v.remove(0));
                    let _ = reply.send(r);
                }
            }
        }
    }
}

fn finish(shared: &Shared, jobs: Vec<ToFinish>) {
    let sizes: Vec<usize> = jobs.iter().map(|(c, _)| c.len()).collect();
    let (all, replies): (Vec<Vec<(Seen, Change)>>, Vec<_>) = jobs.into_iter().unzip();
    let all: Vec<(Seen, Change)> = all.into_iter().flatten().collect();
    let now = shared.clock.now();
    let mut stored = shared.store.finish(&shared.owner, &all, now).ok();
    let mut all = all.into_iter();
    for (reply, n) in replies.into_iter().zip(sizes) {
        let mine: Vec<(Seen, Change)> = all.by_ref().take(n).collect();
        let r = match &mut stored {
            Some(s) => Ok(s.drain(..n).collect()),
            // Alone, each sender meets only its own error.
            None => shared.store.finish(&shared.owner, &mine, now),
        };
        let _ = reply.send(r.map(|s| (mine, s)));
    }
}

fn insert(
    shared: &Shared,
    start: Start,
    screen: Screen,
    batch: &[NewMessage],
) -> Result<Vec<Inserted>, StoreError> {
    let now = shared.clock.now();
    let until = dialout_model::duration::after(now, shared.lease);
    let owner = shared.owner.as_str();
    let mode = match start {
        Start::Queued => InsertMode::QUEUED,
        Start::Claimed => InsertMode::claimed(owner, until),
        Start::Attempting => InsertMode::attempting(owner, until),
    };
    shared.store.insert(batch, mode.screened(screen), now)
}
