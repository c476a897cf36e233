//! Retries through the worker: backoff is honoured and "at most N attempts" means N
//! publishes — on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use delivery_support::*;
use dialout_backends::backend::{Accepted, Found, Publish};
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::{JsonMap, MessageId, State};
use jiff::Timestamp;

fn fast_retries(max_attempts: u32) -> DeliverySettings {
    DeliverySettings {
        max_attempts,
        retry_base: Duration::from_millis(300),
        retry_max: Duration::from_secs(5),
        retry_jitter: 0.0,
        interval: Duration::from_millis(20),
        ..Default::default()
    }
}

/// Runs a worker until every message is final (or the deadline passes), then stops it.
async fn work_until_final(db: &TestDb, b: &Channels, ids: &[MessageId]) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = Worker::new(
        Arc::clone(&db.store),
        b.clone(),
        WorkerOptions {
            no_status: true,
            ..Default::default()
        },
    );
    let handle = tokio::spawn(async move { worker.run(stop_rx).await });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ids.iter().all(|id| get(&db.store, *id).is_final_state) {
        assert!(Instant::now() < deadline, "messages not final in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    handle.await.unwrap().unwrap();
}

async fn three_attempts_are_three_publishes_with_backoff(db: &TestDb) {
    let backend = Scripted::new("s", |_, _| Publish::Retry {
        error: "HTTP 503".into(),
        ambiguous: false,
    });
    let b = backends(backend.clone(), fast_retries(3));
    let ids = insert(&db.store, vec![message_for("s", "x")], Timestamp::now());
    work_until_final(db, &b, &ids).await;

    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.is_final_state, m.attempts),
        (State::Error, true, 3)
    );
    assert!(m.error.as_deref().unwrap().contains("HTTP 503"));
    let times = backend.times(ids[0]);
    assert_eq!(times.len(), 3, "3 attempts allowed: 3 publishes, not 4");
    // 300 ms, then 600 ms (no jitter); the store keeps microseconds.
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(299), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(599), "{gaps:?}");
    let h: Vec<State> = history(&db.store, ids[0]).iter().map(|h| h.to).collect();
    assert_eq!(
        h,
        vec![
            State::Waiting,
            State::ErrorRetry,
            State::ErrorRetry,
            State::Error
        ],
        "history: {h:?}"
    );
    assert_eq!(claimed(db), 0);
}

async fn one_attempt_allowed_is_one_publish(db: &TestDb) {
    let backend = Scripted::new("s", |_, _| Publish::Retry {
        error: "timeout".into(),
        ambiguous: false,
    });
    let b = backends(backend.clone(), fast_retries(1));
    let ids = insert(&db.store, vec![message_for("s", "x")], Timestamp::now());
    work_until_final(db, &b, &ids).await;
    assert_eq!(backend.count(ids[0]), 1);
    assert_eq!(get(&db.store, ids[0]).state, State::Error);
}

async fn success_on_the_second_attempt(db: &TestDb) {
    let backend = Scripted::new("s", |_, n| match n {
        0 => Publish::Retry {
            error: "connection refused".into(),
            ambiguous: false,
        },
        _ => Publish::Accepted(Accepted {
            state: State::Debug,
            is_final: true,
            sender_data: JsonMap::new(),
            reason: "ok".into(),
        }),
    });
    let b = backends(backend.clone(), fast_retries(3));
    let ids = insert(&db.store, vec![message_for("s", "x")], Timestamp::now());
    work_until_final(db, &b, &ids).await;
    let m = get(&db.store, ids[0]);
    assert_eq!((m.state, m.attempts, m.error), (State::Debug, 2, None));
    assert_eq!(backend.count(ids[0]), 2);
}

async fn an_ambiguous_failure_is_looked_up_before_retrying(db: &TestDb) {
    // A timeout after the backend took it: the retry finds it and adopts it.
    let backend = Scripted::new("s", |_, _| Publish::Retry {
        error: "timeout after 5 s".into(),
        ambiguous: true,
    });
    let b = backends(backend.clone(), fast_retries(3));
    let ids = insert(&db.store, vec![message_for("s", "x")], Timestamp::now());
    backend.found.lock().unwrap().insert(
        ids[0],
        Found::Yes(Accepted {
            state: State::Debug,
            is_final: true,
            sender_data: JsonMap::new(),
            reason: "record found".into(),
        }),
    );
    work_until_final(db, &b, &ids).await;
    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.attempts, m.attempt_unresolved),
        (State::Debug, 1, false)
    );
    assert_eq!(backend.count(ids[0]), 1, "never published a second time");
    assert_eq!(backend.finds.lock().unwrap().as_slice(), &ids[..]);
}

async fn worker_order_is_priority_then_age(db: &TestDb) {
    let backend = Scripted::accepting("s");
    let settings = DeliverySettings {
        batch_size: 1,
        interval: Duration::from_millis(10),
        ..Default::default()
    };
    let b = backends(backend.clone(), settings);
    let t0 = Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let old_low = insert(&db.store, vec![message_for("s", "old, priority 3")], t0)[0];
    let mut high = message_for("s", "new, priority 1");
    high.priority = dialout_dialer::Priority::HIGHEST;
    let new_high = insert(
        &db.store,
        vec![high],
        t0 + jiff::SignedDuration::from_secs(30),
    )[0];
    let new_low = insert(
        &db.store,
        vec![message_for("s", "new, priority 3")],
        t0 + jiff::SignedDuration::from_secs(30),
    )[0];
    let mut later = message_for("s", "not before the future");
    later.not_before = Some(Timestamp::now() + jiff::SignedDuration::from_hours(1));
    let future = insert(&db.store, vec![later], t0)[0];
    run_worker_once(&db.store, b).await;
    let order: Vec<MessageId> = backend
        .publishes
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(order, vec![new_high, old_low, new_low]);
    assert_eq!(get(&db.store, future).state, State::Waiting);
}

async fn a_paused_backend_is_left_alone(db: &TestDb) {
    let backend = Scripted::new("s", |_, _| Publish::Paused {
        reason: "HTTP 401".into(),
    });
    let settings = DeliverySettings {
        batch_size: 1,
        retry_base: Duration::from_secs(5),
        interval: Duration::from_millis(10),
        ..Default::default()
    };
    let b = backends(backend.clone(), settings);
    let ids = insert(
        &db.store,
        (0..5).map(|i| message_for("s", &format!("m{i}"))).collect(),
        Timestamp::now(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = Worker::new(
        Arc::clone(&db.store),
        b,
        WorkerOptions {
            no_status: true,
            ..Default::default()
        },
    );
    let handle = tokio::spawn(async move { worker.run(stop_rx).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(true).unwrap();
    handle.await.unwrap().unwrap();
    assert_eq!(
        backend.total(),
        1,
        "one 401, then the backend is not asked for every message"
    );
    for id in &ids {
        let m = get(&db.store, *id);
        assert_eq!(
            (m.state, m.attempts, m.is_final_state),
            (State::Waiting, 0, false)
        );
    }
    assert_eq!(claimed(db), 0);
}

db_suite!(
    a_paused_backend_is_left_alone,
    three_attempts_are_three_publishes_with_backoff,
    one_attempt_allowed_is_one_publish,
    success_on_the_second_attempt,
    an_ambiguous_failure_is_looked_up_before_retrying,
    worker_order_is_priority_then_age,
);
