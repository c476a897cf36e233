//! PostgreSQL faults seen by the store: connections the server ended (pg_terminate_backend)
//! are replaced without an error, and the LISTEN wake-up survives them.

mod common;

use std::time::{Duration, Instant};

use dialout_store::prelude::*;
use dialout_store::{InsertMode, MessageFilter};
use jiff::Timestamp;

/// Ends every session on the test database but the caller's.
fn terminate_all(db: &common::TestDb) -> i64 {
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let mut admin = postgres::Client::connect(&common::pg_admin_url(), postgres::NoTls).unwrap();
    let rows = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .unwrap();
    rows.len() as i64
}

fn count(store: &dyn Store) -> usize {
    store
        .messages(&MessageFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap()
        .len()
}

#[test]
fn terminated_pooled_connections_are_replaced() {
    let db = common::postgres();
    let store = &db.store;
    store
        .insert(
            &[common::new_message("before")],
            InsertMode::QUEUED,
            Timestamp::now(),
        )
        .unwrap();
    assert_eq!(count(store.as_ref()), 1);
    assert!(terminate_all(&db) >= 1, "the pooled connection was ended");
    // Both a write and a read go through on a fresh connection, nothing written twice.
    store
        .insert(
            &[common::new_message("after")],
            InsertMode::QUEUED,
            Timestamp::now(),
        )
        .unwrap();
    terminate_all(&db);
    assert_eq!(count(store.as_ref()), 2);
}

fn wait_tick(rx: &mut tokio::sync::watch::Receiver<u64>, within: Duration) -> Duration {
    let start = Instant::now();
    while !rx.has_changed().expect("listener alive") {
        assert!(start.elapsed() < within, "no wake-up within {within:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    rx.borrow_and_update();
    start.elapsed()
}

#[test]
fn queued_inserts_wake_listeners_even_after_their_connection_is_ended() {
    let db = common::postgres();
    let mut rx = db.store.due_signal().unwrap().expect("PostgreSQL signals");
    // Another process (another store) queues a message.
    let other = dialout_store::open(&db.url).unwrap();
    other
        .insert(
            &[common::new_message("wake")],
            InsertMode::QUEUED,
            Timestamp::now(),
        )
        .unwrap();
    let took = wait_tick(&mut rx, Duration::from_secs(2));
    eprintln!("woken {took:?} after the commit");
    // A claimed insert (published at once) wakes nobody.
    other
        .insert(
            &[common::new_message("claimed")],
            InsertMode::claimed("me", Timestamp::now()),
            Timestamp::now(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !rx.has_changed().unwrap(),
        "no wake-up for a claimed insert"
    );

    terminate_all(&db);
    // The listener reconnects and ticks once (it may have missed something), then listens.
    wait_tick(&mut rx, Duration::from_secs(5));
    other
        .insert(
            &[common::new_message("again")],
            InsertMode::QUEUED,
            Timestamp::now(),
        )
        .unwrap();
    wait_tick(&mut rx, Duration::from_secs(2));
}
