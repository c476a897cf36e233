//! Cancelling and resending — on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;

use common::TestDb;
use delivery_support::*;
use dialout_backends::FileBackend;
use dialout_dialer::State;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{
    CancelOutcome, DeliveryError, DeliverySettings, cancel, publish_now, resend,
};
use jiff::Timestamp;

fn outbox(dir: &std::path::Path) -> Channels {
    backends(
        Arc::new(FileBackend::new("f", dir, None)),
        DeliverySettings::default(),
    )
}

async fn cancel_before_publishing(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(dir.path());
    let ids = insert(&db.store, vec![message_for("f", "x")], Timestamp::now());
    let out = cancel(&db.store, &b, ids[0]).await.unwrap();
    assert!(matches!(out, CancelOutcome::Cancelled { .. }));
    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.is_final_state, m.attempts),
        (State::Error, true, 0)
    );
    assert!(
        history(&db.store, ids[0])
            .last()
            .unwrap()
            .reason
            .contains("cancelled")
    );
    publish_now(&db.store, &b, &ids).await.unwrap();
    assert!(
        FileBackend::publish_counts(dir.path()).unwrap().is_empty(),
        "never published"
    );
    assert_eq!(claimed(db), 0);
}

async fn cancel_withdraws_or_says_too_late(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(dir.path());
    let ids = insert(
        &db.store,
        vec![message_for("f", "a"), message_for("f", "b")],
        Timestamp::now(),
    );
    publish_now(&db.store, &b, &ids).await.unwrap();

    let out = cancel(&db.store, &b, ids[0]).await.unwrap();
    assert!(matches!(out, CancelOutcome::Withdrawn { .. }), "{out:?}");
    assert_eq!(
        (out.message().state, out.message().is_final_state),
        (State::Error, true)
    );
    assert!(!dir.path().join(format!("{}.json", ids[0])).exists());

    // The consumer took the second one already.
    std::fs::remove_file(dir.path().join(format!("{}.json", ids[1]))).unwrap();
    let out = cancel(&db.store, &b, ids[1]).await.unwrap();
    let CancelOutcome::TooLate { message, reason } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(
        (message.state, message.is_final_state),
        (State::Ready, false)
    );
    assert!(reason.contains("too late"), "{reason}");
    let last = history(&db.store, ids[1]).pop().unwrap();
    assert!(
        last.reason.contains("cancel requested") && last.reason.contains("consumer"),
        "the history says: {}",
        last.reason
    );

    let e = cancel(&db.store, &b, ids[0]).await.unwrap_err();
    assert!(
        matches!(e, DeliveryError::Refused { .. }) && e.to_string().contains("final"),
        "{e}"
    );
    let e = cancel(&db.store, &b, dialout_dialer::MessageId::new())
        .await
        .unwrap_err();
    assert!(matches!(e, DeliveryError::NotFound(_)));
}

async fn resend_makes_a_linked_copy(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(dir.path());
    let mut n = message_for("f", "Your code is 1234");
    n.related = vec![common::related("order:42")];
    let ids = insert(&db.store, vec![n], Timestamp::now());
    let e = resend(&db.store, &b, ids[0]).await.unwrap_err();
    assert!(
        e.to_string().contains("waiting"),
        "a waiting message is not resent: {e}"
    );

    publish_now(&db.store, &b, &ids).await.unwrap();
    let copy = resend(&db.store, &b, ids[0]).await.unwrap();
    assert_ne!(copy.id, ids[0]);
    assert_eq!(copy.resent_from, Some(ids[0]));
    assert_eq!(
        (copy.content.as_str(), copy.state, copy.attempts),
        ("Your code is 1234", State::Ready, 1)
    );
    assert_eq!(copy.related, vec![common::related("order:42")]);
    assert_eq!(
        get(&db.store, ids[0]).state,
        State::Ready,
        "the original is untouched"
    );
    let counts = FileBackend::publish_counts(dir.path()).unwrap();
    assert_eq!(
        (counts[&ids[0].to_string()], counts[&copy.id.to_string()]),
        (1, 1)
    );
}

async fn queued_resend_waits_for_the_worker(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = backends(
        Arc::new(FileBackend::new("f", dir.path(), None)),
        DeliverySettings {
            queued: true,
            ..Default::default()
        },
    );
    let ids = insert(&db.store, vec![message_for("f", "x")], Timestamp::now());
    publish_now(&db.store, &b, &ids).await.unwrap();
    let copy = resend(&db.store, &b, ids[0]).await.unwrap();
    assert_eq!((copy.state, copy.attempts), (State::Waiting, 0));
}

db_suite!(
    cancel_before_publishing,
    cancel_withdraws_or_says_too_late,
    resend_makes_a_linked_copy,
    queued_resend_waits_for_the_worker
);
