//! Publishing at once: claims, the allowlist, unresolved attempts, pausing, giving up,
//! capacity — on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;
use std::time::Duration;

use common::{TestDb, phone};
use delivery_support::*;
use dialout_backends::FileBackend;
use dialout_backends::backend::{Accepted, Found, Publish};
use dialout_dialer::delivery::{DeliverySettings, publish_now};
use dialout_dialer::{JsonMap, State};
use dialout_store::Claimable;
use jiff::{SignedDuration, Timestamp};

async fn dummy_publishes_once_and_releases(db: &TestDb) {
    let store = &db.store;
    let ids = insert(
        store,
        (0..3)
            .map(|i| message_for("dummy", &format!("m{i}")))
            .collect(),
        Timestamp::now(),
    );
    let b = dialout_dialer::Config::default().channels().unwrap();
    let out = publish_now(store, &b, &ids).await.unwrap();
    assert_eq!(
        out.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids,
        "in the order asked"
    );
    for m in &out {
        assert_eq!(
            (m.state, m.is_final_state, m.attempts, m.attempt_unresolved),
            (State::Debug, true, 1, false)
        );
        assert!(m.sent_at.is_some());
    }
    assert_eq!(claimed(db), 0);
    // Publishing again does nothing: they are no longer unpublished.
    let again = publish_now(store, &b, &ids).await.unwrap();
    assert!(again.iter().all(|m| m.attempts == 1));
}

async fn allowlist_refuses_other_numbers(db: &TestDb) {
    let store = &db.store;
    let backend = Scripted::accepting("s");
    let settings = DeliverySettings {
        allowlist: Some(vec![phone("+420777123456")]),
        ..Default::default()
    };
    let b = backends(backend.clone(), settings);
    let allowed = message_for("s", "ok");
    let mut other = message_for("s", "no");
    other.recipient = phone("+420777000111");
    let ids = insert(store, vec![allowed, other], Timestamp::now());
    let out = publish_now(store, &b, &ids).await.unwrap();
    assert_eq!(out[0].state, State::Ready);
    let refused = &out[1];
    assert_eq!(
        (refused.state, refused.is_final_state, refused.attempts),
        (State::Error, true, 0)
    );
    let error = refused.error.as_deref().unwrap();
    assert!(
        error.contains("+420777000111") && error.contains("allowlist"),
        "{error}"
    );
    assert_eq!(
        backend.count(ids[1]),
        0,
        "a refused number never reaches the backend"
    );
    assert_eq!(backend.total(), 1);
}

/// A crash between begin_attempt and the outcome: what `find` says decides.
fn leave_unresolved(db: &TestDb, ids: &[dialout_dialer::MessageId]) {
    let now = Timestamp::now();
    sync(|| {
        db.store
            .claim(
                "crashed",
                Claimable::Ids(ids),
                now,
                now + SignedDuration::from_secs(60),
            )
            .unwrap();
        let begun = db.store.begin_attempts("crashed", ids, now).unwrap();
        assert_eq!(begun.len(), ids.len());
        db.store.release("crashed", ids).unwrap();
    });
}

async fn unresolved_attempts_ask_the_backend_first(db: &TestDb) {
    let store = &db.store;
    let backend = Scripted::accepting("s");
    let b = backends(backend.clone(), DeliverySettings::default());
    let ids = insert(
        store,
        (0..3).map(|i| message_for("s", &format!("m{i}"))).collect(),
        Timestamp::now(),
    );
    leave_unresolved(db, &ids);
    backend.found.lock().unwrap().insert(
        ids[0],
        Found::Yes(Accepted::ready(JsonMap::new(), "record 17")),
    );
    backend.found.lock().unwrap().insert(ids[1], Found::No);
    // ids[2]: the backend cannot tell.
    let out = publish_now(store, &b, &ids).await.unwrap();

    assert_eq!(
        (out[0].state, out[0].attempts, out[0].attempt_unresolved),
        (State::Ready, 1, false)
    );
    assert_eq!(backend.count(ids[0]), 0, "adopted, not published again");
    assert!(
        history(store, ids[0])
            .last()
            .unwrap()
            .reason
            .contains("adopted")
    );

    // The lost attempt never reached the backend: this publish takes its place.
    assert_eq!(
        (out[1].state, out[1].attempts),
        (State::Ready, 1),
        "attempts count publishes"
    );
    assert_eq!(
        backend.count(ids[1]),
        1,
        "the backend never had it: published"
    );

    assert_eq!((out[2].state, out[2].is_final_state), (State::Error, true));
    assert!(
        out[2].error.as_deref().unwrap().contains("unknown"),
        "{:?}",
        out[2].error
    );
    assert_eq!(
        backend.count(ids[2]),
        0,
        "an unknown outcome is never published again"
    );
    assert_eq!(backend.finds.lock().unwrap().len(), 3);
    assert_eq!(claimed(db), 0);
}

/// With one attempt allowed, a crash before the backend was called still leaves that one
/// publish to make: the lost attempt does not use it up.
async fn a_lost_attempt_does_not_use_up_the_last_one(db: &TestDb) {
    let store = &db.store;
    let backend = Scripted::accepting("s");
    let b = backends(
        backend.clone(),
        DeliverySettings {
            max_attempts: 1,
            ..Default::default()
        },
    );
    let ids = insert(store, vec![message_for("s", "only once")], Timestamp::now());
    leave_unresolved(db, &ids);
    backend.found.lock().unwrap().insert(ids[0], Found::No);
    let out = publish_now(store, &b, &ids).await.unwrap();
    assert_eq!(
        (out[0].state, out[0].attempts, out[0].attempt_unresolved),
        (State::Ready, 1, false)
    );
    assert_eq!(backend.count(ids[0]), 1);
    assert_eq!(claimed(db), 0);
}

async fn paused_and_deferred_do_not_count(db: &TestDb) {
    let store = &db.store;
    let backend = Scripted::new("s", |m, _| {
        if m.content == "pause" {
            Publish::Paused {
                reason: "HTTP 401".into(),
            }
        } else {
            Publish::Deferred
        }
    });
    let b = backends(backend.clone(), DeliverySettings::default());
    let ids = insert(
        store,
        vec![message_for("s", "pause"), message_for("s", "defer")],
        Timestamp::now(),
    );
    let out = publish_now(store, &b, &ids).await.unwrap();
    for m in &out {
        assert_eq!(
            (m.state, m.is_final_state, m.attempts, m.attempt_unresolved),
            (State::Waiting, false, 0, false),
            "{}",
            m.content
        );
    }
    assert!(
        out[0].next_attempt_at.is_some_and(|t| t > Timestamp::now()),
        "a paused backend is not hammered"
    );
    assert!(
        history(store, ids[0])
            .iter()
            .any(|h| h.reason.contains("HTTP 401"))
    );
    assert_eq!(claimed(db), 0);
}

async fn old_messages_are_given_up(db: &TestDb) {
    let store = &db.store;
    let backend = Scripted::accepting("s");
    let b = backends(backend.clone(), DeliverySettings::default());
    let two_hours_ago = Timestamp::now() - SignedDuration::from_hours(2);
    let ids = insert(store, vec![message_for("s", "old")], two_hours_ago);
    let mut scheduled = message_for("s", "scheduled");
    scheduled.not_before = Some(Timestamp::now() - SignedDuration::from_mins(5));
    let ids2 = insert(store, vec![scheduled], two_hours_ago);
    let out = publish_now(store, &b, &[ids[0], ids2[0]]).await.unwrap();
    assert_eq!(
        (out[0].state, out[0].is_final_state, out[0].attempts),
        (State::Error, true, 0)
    );
    assert!(
        out[0].error.as_deref().unwrap().contains("gave up"),
        "{:?}",
        out[0].error
    );
    assert_eq!(
        out[1].state,
        State::Ready,
        "age counts from the not-before time"
    );
    assert_eq!(backend.count(ids[0]), 0);
}

async fn concurrent_publishers_never_publish_twice(db: &TestDb) {
    let store = &db.store;
    let backend = Scripted::slow_accepting("s", Duration::from_millis(5));
    let b = backends(backend.clone(), DeliverySettings::default());
    let ids = insert(
        store,
        (0..40)
            .map(|i| message_for("s", &format!("m{i}")))
            .collect(),
        Timestamp::now(),
    );
    let tasks: Vec<_> = (0..4)
        .map(|k| {
            let (store, b) = (Arc::clone(store), b.clone());
            let mut mine = ids.clone();
            mine.rotate_left(k * 10);
            tokio::spawn(async move {
                publish_now(&store, &b, &mine)
                    .await
                    .unwrap_or_else(|e| panic!("publish_now failed: {e}"))
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for id in &ids {
        assert_eq!(backend.count(*id), 1);
        assert_eq!(get(store, *id).state, State::Ready);
    }
    assert_eq!(claimed(db), 0);
}

async fn capacity_leaves_the_rest_waiting(db: &TestDb) {
    let store = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(FileBackend::new("f", dir.path(), Some(2)));
    let b = backends(file, DeliverySettings::default());
    let ids = insert(
        store,
        (0..5).map(|i| message_for("f", &format!("m{i}"))).collect(),
        Timestamp::now(),
    );
    let out = publish_now(store, &b, &ids).await.unwrap();
    let states: Vec<_> = out.iter().map(|m| (m.state, m.attempts)).collect();
    assert_eq!(states[..2], [(State::Ready, 1), (State::Ready, 1)]);
    assert!(
        states[2..].iter().all(|s| *s == (State::Waiting, 0)),
        "{states:?}"
    );
    assert_eq!(FileBackend::publish_counts(dir.path()).unwrap().len(), 2);
    assert_eq!(claimed(db), 0);
}

async fn a_slow_backend_keeps_its_claim_alive(db: &TestDb) {
    let backend = Scripted::slow_accepting("s", Duration::from_millis(1200));
    let settings = DeliverySettings {
        lease: Duration::from_millis(300),
        ..Default::default()
    };
    let b = backends(backend.clone(), settings);
    let ids = insert(&db.store, vec![message_for("s", "x")], Timestamp::now());
    let (store, b2, mine) = (Arc::clone(&db.store), b.clone(), ids.clone());
    let first = tokio::spawn(async move { publish_now(&store, &b2, &mine).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Well past the 300 ms lease: had it not been renewed, this would take the message.
    let now = Timestamp::now();
    let stolen = sync(|| {
        db.store
            .claim(
                "thief",
                Claimable::Ids(&ids),
                now,
                now + SignedDuration::from_secs(60),
            )
            .unwrap()
    });
    assert!(
        stolen.is_empty(),
        "the claim was renewed while the backend worked"
    );
    let out = first.await.unwrap();
    assert_eq!(out[0].state, State::Ready);
    assert_eq!(backend.total(), 1);
    assert_eq!(claimed(db), 0);
}

db_suite!(
    a_slow_backend_keeps_its_claim_alive,
    dummy_publishes_once_and_releases,
    allowlist_refuses_other_numbers,
    unresolved_attempts_ask_the_backend_first,
    a_lost_attempt_does_not_use_up_the_last_one,
    paused_and_deferred_do_not_count,
    old_messages_are_given_up,
    concurrent_publishers_never_publish_twice,
    capacity_leaves_the_rest_waiting,
);
