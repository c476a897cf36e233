//! Status checks: odd results and failing messages affect only themselves, an outage
//! counts against nobody, the window ends with a final state — on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use delivery_support::*;
use dialout_backends::FileBackend;
use dialout_backends::backend::BackendError;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, check_status, publish_now};
use dialout_dialer::{MessageId, State};
use jiff::Timestamp;

fn outbox(dir: &Path, settings: DeliverySettings) -> Channels {
    backends(Arc::new(FileBackend::new("f", dir, None)), settings)
}

fn result(dir: &Path, id: MessageId, body: &str) {
    std::fs::create_dir_all(dir.join("results")).unwrap();
    std::fs::write(dir.join("results").join(format!("{id}.json")), body).unwrap();
}

async fn sent(db: &TestDb, b: &Channels, n: usize) -> Vec<MessageId> {
    let ids = insert(
        &db.store,
        (0..n).map(|i| message_for("f", &format!("m{i}"))).collect(),
        Timestamp::now(),
    );
    let out = publish_now(&db.store, b, &ids).await.unwrap();
    assert!(out.iter().all(|m| m.state == State::Ready));
    ids
}

async fn one_malformed_and_one_failing_do_not_stop_the_run(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(dir.path(), DeliverySettings::default());
    let ids = sent(db, &b, 5).await;
    result(dir.path(), ids[0], r#"{"state": "ANSWERED_COMPLETE"}"#);
    result(dir.path(), ids[1], "{\"state\": \"ANSWERED_");
    result(dir.path(), ids[2], r#"{"error": "record 17 is gone"}"#);
    result(dir.path(), ids[3], r#"{"state": "CALL_IN_PROGRESS"}"#);
    // ids[4]: nothing yet.

    let run = check_status(&db.store, &b).await.unwrap();
    assert!(run.ok());
    let r = &run.backends[0];
    assert_eq!(r.checked, 5);
    let mut updated: Vec<MessageId> = r.updated.iter().map(|u| u.id).collect();
    updated.sort();
    let mut want = vec![ids[0], ids[2], ids[3]];
    want.sort();
    assert_eq!(updated, want);
    assert_eq!(r.failures.len(), 1);

    assert_eq!(
        (
            get(&db.store, ids[0]).state,
            get(&db.store, ids[0]).is_final_state
        ),
        (State::AnsweredComplete, true)
    );
    assert_eq!(
        (
            get(&db.store, ids[3]).state,
            get(&db.store, ids[3]).is_final_state
        ),
        (State::CallInProgress, false)
    );
    // A result that says error is an outcome: ERROR, final, with the consumer's words.
    let m = get(&db.store, ids[2]);
    assert_eq!(
        (m.state, m.is_final_state, m.check_failures),
        (State::Error, true, 0)
    );
    assert_eq!(m.error.as_deref(), Some("record 17 is gone"));
    // Only a result file that cannot be read is a failed check.
    let m = get(&db.store, ids[1]);
    assert_eq!(
        (m.state, m.is_final_state, m.check_failures),
        (State::Ready, false, 1),
        "last real state kept"
    );
    assert!(
        m.error.as_deref().unwrap().contains("malformed"),
        "{:?}",
        m.error
    );
    let last = history(&db.store, ids[1]).pop().unwrap();
    assert_eq!(
        (last.from, last.to),
        (Some(State::Ready), State::ErrorUpdate)
    );
    assert_eq!(get(&db.store, ids[4]).state, State::Ready);
}

async fn repeated_failures_make_a_message_final(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(
        dir.path(),
        DeliverySettings {
            max_check_failures: 3,
            ..Default::default()
        },
    );
    let ids = sent(db, &b, 1).await;
    result(dir.path(), ids[0], r#"{"state": "ANSWERED_"#);
    for n in 1..=3u32 {
        let run = check_status(&db.store, &b).await.unwrap();
        let f = &run.backends[0].failures[0];
        assert_eq!((f.check_failures, f.made_final), (n, n == 3));
    }
    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.is_final_state, m.check_failures),
        (State::ErrorUpdate, true, 3)
    );
    // Final: no longer checked.
    let run = check_status(&db.store, &b).await.unwrap();
    assert_eq!(run.backends[0].checked, 0);
}

async fn a_real_update_resets_the_failure_count(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(dir.path(), DeliverySettings::default());
    let ids = sent(db, &b, 1).await;
    result(dir.path(), ids[0], r#"{"state": "ANSWERED_"#);
    check_status(&db.store, &b).await.unwrap();
    assert_eq!(get(&db.store, ids[0]).check_failures, 1);
    result(dir.path(), ids[0], r#"{"state": "RESCHEDULED"}"#);
    check_status(&db.store, &b).await.unwrap();
    let m = get(&db.store, ids[0]);
    assert_eq!((m.state, m.check_failures), (State::Rescheduled, 0));
}

async fn an_outage_counts_against_no_message(db: &TestDb) {
    let backend = Scripted::accepting("s");
    let b = backends(backend.clone(), DeliverySettings::default());
    let ids = insert(&db.store, vec![message_for("s", "x")], Timestamp::now());
    publish_now(&db.store, &b, &ids).await.unwrap();
    *backend.status.lock().unwrap() =
        Some(Err(BackendError::Paused("HTTP 401: token expired".into())));
    let run = check_status(&db.store, &b).await.unwrap();
    assert!(!run.ok());
    assert!(run.backends[0].outage.as_deref().unwrap().contains("401"));
    let m = get(&db.store, ids[0]);
    assert_eq!(
        (m.state, m.check_failures, m.is_final_state),
        (State::Ready, 0, false)
    );
    assert_eq!(history(&db.store, ids[0]).len(), 2, "nothing written");
}

async fn past_the_window_final_and_withdrawn(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let b = outbox(
        dir.path(),
        DeliverySettings {
            status_window: Duration::from_millis(300),
            ..Default::default()
        },
    );
    let ids = sent(db, &b, 2).await;
    result(dir.path(), ids[1], r#"{"state": "RESCHEDULED"}"#);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let run = check_status(&db.store, &b).await.unwrap();
    assert_eq!(
        run.backends[0].checked, 0,
        "outside the window: not checked"
    );
    assert_eq!(run.backends[0].expired.len(), 2);

    let withdrawn = get(&db.store, ids[0]);
    assert_eq!(
        (withdrawn.state, withdrawn.is_final_state),
        (State::Error, true)
    );
    assert!(
        dir.path()
            .join("cancelled")
            .join(format!("{}.json", ids[0]))
            .exists(),
        "the backend was asked to withdraw it"
    );
    assert!(
        history(&db.store, ids[0])
            .last()
            .unwrap()
            .reason
            .contains("status window")
    );

    let late = get(&db.store, ids[1]);
    assert_eq!(
        (late.state, late.is_final_state),
        (State::Ready, true),
        "state kept, made final"
    );
    let last = history(&db.store, ids[1]).pop().unwrap();
    assert!(
        last.reason.contains("status window") && last.reason.contains("too late"),
        "{}",
        last.reason
    );
}

async fn the_worker_takes_in_results_that_arrive(db: &TestDb) {
    use dialout_backends::backend::{CheckFailure, StatusReport, StatusUpdate};
    let backend = Scripted::accepting("s");
    let b = backends(backend.clone(), DeliverySettings::default());
    let ids = insert(
        &db.store,
        vec![message_for("s", "a"), message_for("s", "b")],
        Timestamp::now(),
    );
    publish_now(&db.store, &b, &ids).await.unwrap();
    *backend.arrived.lock().unwrap() = Some(StatusReport {
        updates: vec![StatusUpdate {
            id: ids[0],
            state: State::Unanswered,
            is_final: true,
            error: None,
            sender_data: [("reason".to_string(), serde_json::json!(3))]
                .into_iter()
                .collect(),
            reason: "archive: all attempts failed, REASON=3".into(),
            reply: dialout_model::interactive::Reply::default(),
        }],
        failures: vec![CheckFailure {
            id: ids[1],
            error: "report file unreadable".into(),
        }],
        ..Default::default()
    });
    let stats = run_worker_once(&db.store, b).await;
    assert_eq!((stats.status_updates, stats.check_failures), (1, 1));
    let m = get(&db.store, ids[0]);
    assert_eq!((m.state, m.is_final_state), (State::Unanswered, true));
    assert_eq!(m.extra_sender_data["reason"], 3);
    let m = get(&db.store, ids[1]);
    assert_eq!((m.state, m.check_failures), (State::Ready, 1));
}

async fn a_backend_without_intake_is_not_asked(db: &TestDb) {
    use dialout_backends::backend::{StatusReport, StatusUpdate};
    let backend = Scripted::accepting_without_intake("s");
    let b = backends(backend.clone(), DeliverySettings::default());
    let ids = insert(&db.store, vec![message_for("s", "a")], Timestamp::now());
    publish_now(&db.store, &b, &ids).await.unwrap();
    let planted = StatusReport {
        updates: vec![StatusUpdate {
            id: ids[0],
            state: State::Unanswered,
            is_final: true,
            error: None,
            sender_data: Default::default(),
            reason: "must not be read".into(),
            reply: dialout_model::interactive::Reply::default(),
        }],
        ..Default::default()
    };
    *backend.arrived.lock().unwrap() = Some(planted);
    run_worker_once(&db.store, b).await;
    assert!(
        backend.arrived.lock().unwrap().is_some(),
        "intake was not called"
    );
    assert_eq!(get(&db.store, ids[0]).state, State::Ready);
}

db_suite!(
    a_backend_without_intake_is_not_asked,
    the_worker_takes_in_results_that_arrive,
    one_malformed_and_one_failing_do_not_stop_the_run,
    repeated_failures_make_a_message_final,
    a_real_update_resets_the_failure_count,
    an_outage_counts_against_no_message,
    past_the_window_final_and_withdrawn,
);
