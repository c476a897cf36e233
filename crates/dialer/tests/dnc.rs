//! Do-not-call list, frequency caps, dedupe and bulk import through `Dialer` — on SQLite
//! and PostgreSQL, concurrent sends to one number included.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::sync::Arc;

use common::TestDb;
use delivery_support::*;
use dialout_dialer::delivery::DeliverySettings;
use dialout_dialer::{
    Cap, Dialer, ImportRow, ImportSpec, MessageFilter, RecipientLimits, Screened, SendError,
    SendRequest, State,
};
use jiff::Timestamp;

const NUMBER: &str = "+420777123456";

fn dialer(db: &TestDb, limits: RecipientLimits) -> (Dialer, Arc<Scripted>) {
    let backend = Scripted::accepting("s");
    let settings = DeliverySettings {
        limits,
        ..DeliverySettings::default()
    };
    let b = backends(backend.clone(), settings);
    (Dialer::new(Arc::clone(&db.store), b), backend)
}

fn stored(db: &TestDb) -> usize {
    sync(|| db.store.messages(&MessageFilter::default()).unwrap().len())
}

fn queued(to: &str, content: &str) -> SendRequest {
    let mut r = SendRequest::new(to, content);
    r.options.queued = true;
    r
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

fn dedupe() -> RecipientLimits {
    RecipientLimits {
        cap: None,
        dedupe_window: Some(std::time::Duration::from_secs(600)),
    }
}

async fn list_add_update_check_remove(db: &TestDb) {
    let (d, _) = dialer(db, RecipientLimits::default());
    let e = d
        .dnc_add("00420 777 123 456", Some("asked us".into()), None)
        .await
        .unwrap();
    assert_eq!(e.number.as_str(), NUMBER, "kept in E.164");
    let until = Timestamp::now() + jiff::SignedDuration::from_hours(1);
    d.dnc_add(NUMBER, Some("again".into()), Some(until))
        .await
        .unwrap();
    let all = d.dnc_list().await.unwrap();
    assert_eq!(all.len(), 1, "replaced, not added twice: {all:?}");
    assert_eq!(all[0].reason.as_deref(), Some("again"));
    assert_eq!(all[0].until.map(|u| u.as_second()), Some(until.as_second()));
    let c = d.dnc_check(NUMBER).await.unwrap();
    assert!(c.listed);
    assert!(!d.dnc_check("+420777000000").await.unwrap().listed);
    assert!(d.dnc_add("12", None, None).await.is_err(), "not a number");
    assert!(
        d.dnc_add(
            NUMBER,
            None,
            Some(Timestamp::now() - jiff::SignedDuration::from_secs(5))
        )
        .await
        .is_err()
    );
    assert!(d.dnc_remove(NUMBER).await.unwrap());
    assert!(!d.dnc_remove(NUMBER).await.unwrap());
    assert!(!d.dnc_check(NUMBER).await.unwrap().listed);
}

async fn expired_entry_no_longer_refuses(db: &TestDb) {
    let (d, _) = dialer(db, RecipientLimits::default());
    let past = Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let entry = dialout_dialer::DncEntry {
        number: common::phone(NUMBER),
        reason: None,
        until: Some(Timestamp::from_second(past.as_second()).unwrap()),
        added_at: past,
    };
    sync(|| db.store.dnc_add(&[entry]).unwrap());
    let c = d.dnc_check(NUMBER).await.unwrap();
    assert!(!c.listed && c.entry.is_some(), "{c:?}");
    d.send(queued(NUMBER, "hello"))
        .await
        .expect("an expired entry refuses nothing");
}

async fn listed_number_is_refused_at_send_and_nothing_stored(db: &TestDb) {
    let (d, backend) = dialer(db, RecipientLimits::default());
    d.dnc_add(NUMBER, Some("asked us".into()), None)
        .await
        .unwrap();
    for publish in [false, true] {
        let mut r = SendRequest::new("+420 777 123 456", "hello");
        r.options.queued = !publish;
        match d.send(r).await {
            Err(SendError::NotAllowed(Screened::DoNotCall { number, reason, .. })) => {
                assert_eq!(
                    (number.as_str(), reason.as_deref()),
                    (NUMBER, Some("asked us"))
                );
            }
            other => panic!("expected a do-not-call refusal, got {other:?}"),
        }
    }
    // A batch with one listed number stores none of them.
    let batch = vec![queued("+420777000001", "a"), queued(NUMBER, "b")];
    assert!(matches!(
        d.send_many(batch).await,
        Err(SendError::NotAllowed(_))
    ));
    assert_eq!(stored(db), 0);
    assert_eq!(backend.total(), 0);
    d.send(queued("+420777000001", "a"))
        .await
        .expect("others still pass");
}

async fn queued_message_ends_in_error_when_its_number_is_listed(db: &TestDb) {
    let (d, backend) = dialer(db, RecipientLimits::default());
    let sent = d.send(queued(NUMBER, "hello")).await.unwrap();
    let other = d.send(queued("+420777000001", "hello")).await.unwrap();
    d.dnc_add(NUMBER, Some("complained".into()), None)
        .await
        .unwrap();
    let b = backends(backend.clone(), DeliverySettings::default());
    run_worker_once(&db.store, b).await;
    let m = get(&db.store, sent.message.id);
    assert_eq!((m.state, m.is_final_state), (State::Error, true));
    let error = m.error.unwrap_or_default();
    assert!(
        error.contains("do-not-call") && error.contains("complained"),
        "{error}"
    );
    assert_eq!(backend.count(sent.message.id), 0, "never published");
    assert_eq!(backend.count(other.message.id), 1);
}

async fn cap_counts_calls_per_recipient(db: &TestDb) {
    let (d, _) = dialer(db, cap(2));
    d.send(queued(NUMBER, "one")).await.unwrap();
    d.send(queued(NUMBER, "two")).await.unwrap();
    match d.send(queued(NUMBER, "three")).await {
        Err(SendError::NotAllowed(Screened::CapReached { count: 2, .. })) => {}
        other => panic!("expected the cap, got {other:?}"),
    }
    d.send(queued("+420777000001", "one"))
        .await
        .expect("another number");
    assert_eq!(stored(db), 3);
}

async fn dedupe_refuses_same_content_unless_allowed(db: &TestDb) {
    let (d, _) = dialer(db, dedupe());
    let first = d.send(queued(NUMBER, "your parcel")).await.unwrap();
    match d.send(queued(NUMBER, "your parcel")).await {
        Err(SendError::NotAllowed(Screened::Duplicate { existing, .. })) => {
            assert_eq!(existing, first.message.id)
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    d.send(queued(NUMBER, "something else")).await.unwrap();
    d.send(queued("+420777000001", "your parcel"))
        .await
        .unwrap();
    let mut again = queued(NUMBER, "your parcel");
    again.options.allow_duplicate = true;
    d.send(again).await.expect("--allow-duplicate");
    // The same idempotency key returns the first message: not a duplicate.
    let mut keyed = queued("+420777000002", "k");
    keyed.options.idempotency_key = Some("k1".into());
    d.send(keyed.clone()).await.unwrap();
    assert!(d.send(keyed).await.unwrap().existing);
    assert_eq!(stored(db), 5);
}

/// Twelve sends to one number at once, cap 3: exactly three are stored.
async fn concurrent_sends_respect_the_cap(db: &TestDb) {
    let (d, _) = dialer(db, cap(3));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let d = d.clone();
            tokio::spawn(async move { d.send(queued(NUMBER, &format!("call {i}"))).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(SendError::NotAllowed(Screened::CapReached { .. })) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(stored(db), 3);
}

/// Eight identical sends at once: exactly one is stored.
async fn concurrent_duplicates_store_one(db: &TestDb) {
    let (d, _) = dialer(db, dedupe());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let d = d.clone();
            tokio::spawn(async move { d.send(queued(NUMBER, "same words")).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!((ok, stored(db)), (1, 1));
}

fn row(line: u64, to: &str, content: &str) -> ImportRow {
    ImportRow {
        line,
        recipient: to.into(),
        content: content.into(),
        ..ImportRow::default()
    }
}

async fn import_checks_rows_then_stores_once(db: &TestDb) {
    let (d, _) = dialer(db, cap(2));
    d.dnc_add("+420777000009", None, None).await.unwrap();
    let spec = ImportSpec {
        tag: Some("campaign".into()),
        source_hash: "abc".into(),
        ..ImportSpec::default()
    };
    let plan = Arc::new(d.import_plan(spec.clone()).await.unwrap());
    let rows = vec![
        row(2, "+420777000001", "a"),
        row(3, "12", "bad number"),
        row(4, "+420777000009", "listed"),
        row(5, "+420777000001", "b"),
        row(6, "+420777000001", "c (over the cap)"),
        row(7, "+420777000002", ""),
    ];
    let errors = d.import_check(&plan, rows.clone()).await.unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 6, 7], "{errors:?}");
    assert!(
        errors[1].reason.contains("do-not-call"),
        "{}",
        errors[1].reason
    );
    assert!(
        errors[2].reason.contains("max_calls_per_recipient"),
        "{}",
        errors[2].reason
    );
    assert_eq!(stored(db), 0, "checking stores nothing");
    let good: Vec<ImportRow> = rows
        .into_iter()
        .filter(|r| !lines.contains(&r.line))
        .collect();
    let done = d.import_store(&plan, good.clone()).await.unwrap();
    assert_eq!((done.stored, done.existing), (2, 0));
    // The same file again: the same keys, nothing stored twice (the cap is not hit either).
    let plan = Arc::new(d.import_plan(spec).await.unwrap());
    let again = d.import_store(&plan, good).await.unwrap();
    assert_eq!((again.stored, again.existing), (0, 2));
    assert_eq!(stored(db), 2);
    let all = sync(|| db.store.messages(&MessageFilter::default()).unwrap());
    assert!(
        all.iter().all(|m| m.state == State::Waiting
            && m.tag.as_ref().is_some_and(|t| t.as_str() == "campaign"))
    );
}

db_suite!(
    list_add_update_check_remove,
    expired_entry_no_longer_refuses,
    listed_number_is_refused_at_send_and_nothing_stored,
    queued_message_ends_in_error_when_its_number_is_listed,
    cap_counts_calls_per_recipient,
    dedupe_refuses_same_content_unless_allowed,
    concurrent_sends_respect_the_cap,
    concurrent_duplicates_store_one,
    import_checks_rows_then_stores_once,
);
