//! `Dialer::with_group_commit`: concurrent sends, published and queued, with and without
//! idempotency keys, each answered with its own committed message and recorded outcome, and
//! screened (do-not-call list, caps, dedupe) as `send` alone screens, on SQLite and
//! PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;

use common::TestDb;
use delivery_support::*;
use dialout_backends::Dummy;
use dialout_backends::backend::Publish;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::DeliverySettings;
use dialout_dialer::{
    Cap, Dialer, MessageFilter, RecipientLimits, Screened, SendError, SendRequest, State,
};

async fn concurrent_mixed_sends(store: Arc<dyn dialout_store::Store>) {
    let d = Arc::new(
        Dialer::new(store, Channels::single(Arc::new(Dummy::new("dummy")))).with_group_commit(),
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

const LISTED: &str = "+420777123456";

fn grouped(db: &TestDb, backend: Arc<Scripted>, limits: RecipientLimits) -> Arc<Dialer> {
    let settings = DeliverySettings {
        limits,
        ..DeliverySettings::default()
    };
    let b = backends(backend, settings);
    Arc::new(Dialer::new(Arc::clone(&db.store), b).with_group_commit())
}

/// Sends `requests` all at once; each one's result, in order.
async fn all_at_once(
    d: &Arc<Dialer>,
    requests: Vec<SendRequest>,
) -> Vec<Result<dialout_dialer::Sent, SendError>> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let d = Arc::clone(d);
            tokio::spawn(async move { d.send(r).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A listed number among concurrent sends is refused as `send` alone refuses it (its group
/// fails, then each message is stored alone), and the others are stored and published.
async fn grouped_sends_screen_the_do_not_call_list(db: &TestDb) {
    let backend = Scripted::accepting("s");
    let d = grouped(db, backend.clone(), RecipientLimits::default());
    d.dnc_add(LISTED, Some("asked us".into()), None)
        .await
        .unwrap();
    let requests = (0..40usize)
        .map(|i| {
            let to = if i % 4 == 0 {
                LISTED.to_string()
            } else {
                format!("+420777{i:06}")
            };
            let mut r = SendRequest::new(to, format!("m{i}"));
            r.options.queued = i % 2 == 1;
            r
        })
        .collect();
    let results = all_at_once(&d, requests).await;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Err(SendError::NotAllowed(Screened::DoNotCall { number, reason, .. })) => {
                assert_eq!(i % 4, 0, "message {i} refused");
                assert_eq!(
                    (number.as_str(), reason.as_deref()),
                    (LISTED, Some("asked us"))
                );
            }
            Ok(s) => {
                assert_ne!(i % 4, 0, "message {i} to a listed number stored");
                let want = if i % 2 == 1 {
                    State::Waiting
                } else {
                    State::Ready
                };
                assert_eq!(s.message.state, want, "message {i}");
                assert_eq!(get(&db.store, s.message.id).state, want);
            }
            Err(e) => panic!("message {i}: {e}"),
        }
    }
    let stored = sync(|| db.store.messages(&MessageFilter::default()).unwrap());
    assert_eq!(stored.len(), 30);
    assert!(stored.iter().all(|m| m.recipient.as_str() != LISTED));
    assert_eq!(backend.total(), 10, "the published half of the 20 allowed");
    assert_eq!(claimed(db), 0, "every claim released");
}

fn cap(count: u32) -> RecipientLimits {
    RecipientLimits {
        cap: Some(Cap {
            count,
            per: std::time::Duration::from_secs(86_400),
        }),
        dedupe_window: None,
    }
}

/// Caps and dedupe hold on a group-commit `Dialer` exactly as on a plain one.
async fn grouped_sends_keep_caps_and_dedupe(db: &TestDb) {
    let backend = Scripted::accepting("s");
    let d = grouped(db, backend.clone(), cap(3));
    let requests = (0..12)
        .map(|i| SendRequest::new(LISTED, format!("call {i}")))
        .collect();
    let results = all_at_once(&d, requests).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(_) | Err(SendError::NotAllowed(Screened::CapReached { .. }))
        )),
        "{results:?}"
    );
    assert_eq!(ok, 3);
    let dedupe = RecipientLimits {
        cap: None,
        dedupe_window: Some(std::time::Duration::from_secs(600)),
    };
    let d = grouped(db, backend, dedupe);
    let requests = (0..8)
        .map(|_| SendRequest::new("+420777000001", "same words"))
        .collect();
    let results = all_at_once(&d, requests).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    let stored = sync(|| db.store.messages(&MessageFilter::default()).unwrap());
    assert_eq!(stored.len(), 4);
}

/// Outcomes recorded together are each the right one: accepted, to retry, failed; every
/// answer matches the stored message and no claim is left.
async fn grouped_outcomes_are_each_recorded(db: &TestDb) {
    let backend = Scripted::new("s", |m, _| match m.content.as_str() {
        c if c.ends_with("retry") => Publish::Retry {
            error: "busy".into(),
            ambiguous: false,
        },
        c if c.ends_with("fail") => Publish::Failed {
            error: "no such number".into(),
        },
        _ => Publish::Accepted(dialout_backends::backend::Accepted::ready(
            Default::default(),
            "accepted",
        )),
    });
    let d = grouped(db, backend.clone(), RecipientLimits::default());
    let kinds = ["ok", "retry", "fail"];
    let requests = (0..60usize)
        .map(|i| SendRequest::new(format!("+420777{i:06}"), format!("m{i} {}", kinds[i % 3])))
        .collect();
    let results = all_at_once(&d, requests).await;
    for (i, r) in results.into_iter().enumerate() {
        let m = r.unwrap().message;
        let want = [State::Ready, State::ErrorRetry, State::Error][i % 3];
        assert_eq!(m.state, want, "message {i}");
        assert_eq!(m.attempts, 1);
        if i % 3 == 1 {
            assert!(
                m.next_attempt_at.is_some(),
                "message {i}: a retry is due later"
            );
        }
        let stored = get(&db.store, m.id);
        assert_eq!((stored.state, stored.attempts), (m.state, 1));
        assert_eq!(stored.error, m.error);
    }
    assert_eq!(backend.total(), 60);
    assert_eq!(claimed(db), 0, "every claim released");
}

db_suite!(
    grouped_sends_screen_the_do_not_call_list,
    grouped_sends_keep_caps_and_dedupe,
    grouped_outcomes_are_each_recorded,
);
