//! Helpers for the delivery tests: a scripted backend that records every call, stores with
//! chosen delivery settings, and a look at claims the Store trait does not expose.
#![allow(dead_code, unused_macros, unused_imports)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dialout_backends::backend::{
    Accepted, Backend, BackendError, Cancel, Found, Intake, Lookup, Publish, StatusReport,
};
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::DeliverySettings;
use dialout_dialer::{JsonMap, Message, MessageId, NewMessage};
use dialout_store::prelude::*;
use jiff::Timestamp;

use crate::common::{TestDb, new_message};

type PublishFn = dyn Fn(&Message, usize) -> Publish + Send + Sync;

/// A backend whose answers the test decides; it records every publish with its time.
pub struct Scripted {
    name: String,
    answer: Box<PublishFn>,
    pub publishes: Mutex<Vec<(MessageId, Instant)>>,
    pub finds: Mutex<Vec<MessageId>>,
    pub found: Mutex<HashMap<MessageId, Found>>,
    pub status: Mutex<Option<Result<StatusReport, BackendError>>>,
    /// Handed out once by `intake`.
    pub arrived: Mutex<Option<StatusReport>>,
    pub cancel_answer: Mutex<Option<Cancel>>,
    pub delay: Duration,
    /// Whether it says results arrive on their own (`intake`).
    pub with_intake: bool,
}

impl Scripted {
    /// `answer(message, n)`: n is how many times this message was published before.
    pub fn new(
        name: &str,
        answer: impl Fn(&Message, usize) -> Publish + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Scripted {
            name: name.into(),
            answer: Box::new(answer),
            publishes: Mutex::default(),
            finds: Mutex::default(),
            found: Mutex::default(),
            status: Mutex::default(),
            arrived: Mutex::default(),
            cancel_answer: Mutex::default(),
            delay: Duration::ZERO,
            with_intake: true,
        })
    }

    pub fn accepting(name: &str) -> Arc<Self> {
        Self::new(name, |_, _| {
            Publish::Accepted(Accepted::ready(JsonMap::new(), "accepted"))
        })
    }

    /// Accepts, and has no intake of its own (like Dummy or Daktela).
    pub fn accepting_without_intake(name: &str) -> Arc<Self> {
        let mut s = Arc::try_unwrap(Self::accepting(name)).ok().unwrap();
        s.with_intake = false;
        Arc::new(s)
    }

    pub fn slow_accepting(name: &str, delay: Duration) -> Arc<Self> {
        let mut s = Arc::try_unwrap(Self::accepting(name)).ok().unwrap();
        s.delay = delay;
        Arc::new(s)
    }

    pub fn count(&self, id: MessageId) -> usize {
        self.publishes
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _)| *i == id)
            .count()
    }

    pub fn total(&self) -> usize {
        self.publishes.lock().unwrap().len()
    }

    pub fn times(&self, id: MessageId) -> Vec<Instant> {
        self.publishes
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _)| *i == id)
            .map(|(_, t)| *t)
            .collect()
    }
}

#[async_trait]
impl Backend for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    async fn publish(&self, m: &Message) -> Publish {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let before = self.count(m.id);
        self.publishes.lock().unwrap().push((m.id, Instant::now()));
        (self.answer)(m, before)
    }

    async fn check_status(
        &self,
        _m: &[Message],
        _c: Option<&str>,
    ) -> Result<StatusReport, BackendError> {
        self.status
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Ok(StatusReport::default()))
    }

    async fn cancel(&self, _m: &Message) -> Result<Cancel, BackendError> {
        Ok(self
            .cancel_answer
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Cancel::Unsupported))
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }

    fn intake(&self) -> Option<&dyn Intake> {
        self.with_intake.then_some(self as &dyn Intake)
    }
}

#[async_trait]
impl Lookup for Scripted {
    /// What the test put in `found`; Unknown for the rest.
    async fn find(&self, m: &Message) -> Result<Found, BackendError> {
        self.finds.lock().unwrap().push(m.id);
        Ok(self
            .found
            .lock()
            .unwrap()
            .get(&m.id)
            .cloned()
            .unwrap_or(Found::Unknown))
    }
}

#[async_trait]
impl Intake for Scripted {
    async fn collect(&self, _pending: &[Message]) -> Result<StatusReport, BackendError> {
        Ok(self.arrived.lock().unwrap().take().unwrap_or_default())
    }
}

pub fn backends(backend: Arc<dyn Backend>, settings: DeliverySettings) -> Channels {
    Channels::single(backend)
        .with_delivery(settings)
        .expect("valid delivery settings")
}

/// A new message for backend `backend`.
/// Runs one worker with `--once --no-status` until nothing is due.
pub async fn run_worker_once(
    store: &Arc<dyn Store>,
    backends: Channels,
) -> dialout_dialer::delivery::WorkerStats {
    use dialout_dialer::delivery::{Worker, WorkerOptions};
    let options = WorkerOptions {
        once: true,
        no_status: true,
        ..Default::default()
    };
    let (_stop, rx) = tokio::sync::watch::channel(false);
    Worker::new(Arc::clone(store), backends, options)
        .run(rx)
        .await
        .expect("worker run")
}

pub fn message_for(backend: &str, content: &str) -> NewMessage {
    let mut n = new_message(content);
    n.backend = backend.into();
    n
}

/// Synchronous store (and PostgreSQL client) calls from inside an async test.
pub fn sync<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

pub fn insert(store: &Arc<dyn Store>, new: Vec<NewMessage>, now: Timestamp) -> Vec<MessageId> {
    sync(|| {
        store
            .insert(&new, dialout_store::InsertMode::QUEUED, now)
            .expect("insert")
            .into_iter()
            .map(|i| i.message.id)
            .collect()
    })
}

pub fn get(store: &Arc<dyn Store>, id: MessageId) -> Message {
    sync(|| store.message(id).expect("read").expect("message exists"))
}

pub fn history(store: &Arc<dyn Store>, id: MessageId) -> Vec<dialout_dialer::HistoryEntry> {
    sync(|| store.history(id).expect("history"))
}

/// Messages with a claim (owner set), straight from the database.
pub fn claimed(db: &TestDb) -> i64 {
    sync(|| claimed_now(db))
}

fn claimed_now(db: &TestDb) -> i64 {
    let sql = "SELECT COUNT(*) FROM messages WHERE claim_owner IS NOT NULL";
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let c = rusqlite::Connection::open(path).expect("open sqlite");
        c.query_row(sql, [], |r| r.get(0)).expect("count claims")
    } else {
        let mut c = postgres::Client::connect(&db.url, postgres::NoTls).expect("connect");
        c.query_one(sql, &[]).expect("count claims").get(0)
    }
}

/// Runs both databases: `db_suite!(name, ...)` for `async fn name(db: &TestDb)`.
macro_rules! db_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { let db = crate::common::sqlite(); crate::delivery_support::runtime().block_on(super::$name(&db)); } )*
        }
        mod postgres {
            $( #[test] fn $name() { let db = crate::common::postgres(); crate::delivery_support::runtime().block_on(super::$name(&db)); } )*
        }
    };
}

/// Databases are made and dropped outside the runtime (the PostgreSQL client blocks).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub(crate) use db_suite;
