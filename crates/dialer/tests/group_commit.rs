//! `Dialer::with_group_commit`: concurrent sends, published and queued, with and without
//! idempotency keys, each answered with its own committed message, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use dialout_dialer::backends::{Backends, Dummy};
use dialout_dialer::{Dialer, MessageFilter, SendRequest, State};

async fn concurrent_mixed_sends(store: Arc<dyn dialout_dialer::store::Store>) {
    let d = Arc::new(
        Dialer::new(store, Backends::single(Arc::new(Dummy::new("dummy")))).with_group_commit(),
    );
    let mut tasks = Vec::new();
    for i in 0..120usize {
        let d = Arc::clone(&d);
        tasks.push(tokio::spawn(async move {
            let mut r = SendRequest::new(format!("+420777{:06}", i), format!("m{i}"));
            r.options.queued = i % 3 == 0;
            // Every fifth has a key (the one-at-a-time path), and the same key twice.
            if i % 5 == 0 {
                r.options.idempotency_key = Some(format!("k{}", i / 10));
            }
            (i, d.send(r).await)
        }));
    }
    let mut refused = 0;
    for t in tasks {
        let (i, sent) = t.await.unwrap();
        match sent {
            Ok(s) if s.existing => panic!("message {i}: no repeat has the same content"),
            Ok(s) => {
                assert_eq!(s.message.content, format!("m{i}"));
                let want = if i % 3 == 0 {
                    State::Waiting
                } else {
                    State::Debug
                };
                assert_eq!(s.message.state, want, "message {i}");
                // Answered only once committed: it reads back as answered.
                let stored = d.message(s.message.id).await.unwrap().unwrap();
                assert_eq!(stored.state, s.message.state);
            }
            // The same key with other content (i and i+5 share a key): refused alone.
            Err(e) => {
                assert!(e.to_string().contains("idempotency key"), "{e}");
                refused += 1;
            }
        }
    }
    let all = d.messages(MessageFilter::default()).await.unwrap().messages;
    assert_eq!(refused, 12, "one of each pair sharing a key");
    assert_eq!(all.len(), 108);
    let waiting = all.iter().filter(|m| m.state == State::Waiting).count();
    let queued = all
        .iter()
        .filter(|m| m.content[1..].parse::<usize>().unwrap() % 3 == 0)
        .count();
    assert_eq!(
        waiting, queued,
        "queued ones wait, the others were published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_mixed_sends() {
    let db = common::sqlite();
    concurrent_mixed_sends(db.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_mixed_sends() {
    let db = tokio::task::spawn_blocking(common::postgres).await.unwrap();
    concurrent_mixed_sends(db.store.clone()).await;
    // Dropping the database uses the blocking client: off the runtime's threads.
    tokio::task::spawn_blocking(move || drop(db)).await.unwrap();
}
