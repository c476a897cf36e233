//! The Daktela backend through the real store (SQLite) and the delivery machinery: send,
//! the status check with its stored cursor, adoption after an ambiguous timeout, pausing.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod daktela_support;

use std::time::Duration;

use daktela_support::{PREDICTIVE, TOKEN, TTS};
use dialout_dialer::config::Config;
use dialout_dialer::delivery::{Channels, check_status, owner_id, publish_claimed};
use dialout_dialer::{Dialer, SendRequest};
use dialout_dialer::{Message, State};
use dialout_store::Claimable;
use dialout_testkit::fake_daktela::{FakeDaktela, Fault};
use jiff::Timestamp;
use serde_json::json;

/// The same backends and settings as the `Dialer` under test: the Daktela client keeps no
/// state but the fake's.
fn channels(fake: &FakeDaktela) -> Channels {
    config(fake, TOKEN).channels().unwrap()
}

fn config(fake: &FakeDaktela, token: &str) -> Config {
    let text = format!(
        r#"
[backends.dk]
kind = "daktela"
url = "{}"
access_token = "{token}"
autodialer_record_type = "{TTS}"
predictive_record_type = "{PREDICTIVE}"
timeout = 1.0

[backends.dk.states_mapping]
statuses_complete = "ANSWERED_COMPLETE"

[delivery]
retry_base = "1s"
"#,
        fake.url()
    );
    toml::from_str(&text).expect("configuration parses")
}

fn request(content: &str, predictive: bool) -> SendRequest {
    let mut r = SendRequest::new("+420777123456", content);
    r.options.predictive = predictive;
    r
}

fn name(m: &Message) -> String {
    m.extra_sender_data["name"]
        .as_str()
        .expect("record name kept")
        .to_string()
}

#[tokio::test]
async fn send_then_check_status_through_the_store() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let db = common::sqlite();
    let dialer = Dialer::from_config(db.store.clone(), &config(&fake, TOKEN)).unwrap();

    let mut tts = request("Your order has shipped", false);
    tts.options.extra_data = Some(json!({"custom_fields": {"order_id": "42"}}));
    let a = dialer.send(tts).await.unwrap().message;
    let b = dialer
        .send(request("Your code is 1234", true))
        .await
        .unwrap()
        .message;
    for m in [&a, &b] {
        assert_eq!(m.state, State::Ready, "{m:?}");
        assert!(m.sent_at.is_some());
    }
    let ra = fake.record(&name(&a)).unwrap();
    assert_eq!(
        (
            ra["record_type"].as_str(),
            ra["customFields"]["order_id"].clone()
        ),
        (Some(TTS), json!(["42"]))
    );
    assert_eq!(fake.record(&name(&b)).unwrap()["record_type"], PREDICTIVE);

    fake.advance(30);
    fake.set_progress(&name(&a), "3", &[]);
    fake.set_progress(&name(&b), "5", &["statuses_complete"]);
    fake.clear_requests();
    let run = check_status(&db.store, &channels(&fake)).await.unwrap();
    assert!(run.ok(), "{run:?}");
    assert_eq!(fake.request_count(), 2, "one list request per record type");
    let a = db.store.message(a.id).unwrap().unwrap();
    let b = db.store.message(b.id).unwrap().unwrap();
    assert_eq!((a.state, a.is_final_state), (State::CallInProgress, false));
    assert_eq!((b.state, b.is_final_state), (State::AnsweredComplete, true));
    let cursor = db
        .store
        .backend_state("dk")
        .unwrap()
        .cursor
        .expect("cursor stored");
    assert!(cursor.contains("10:00:30"), "{cursor}");

    // The next run starts from the stored cursor and sees only what changed since.
    fake.advance(30);
    fake.set_progress(&name(&a), "5", &[]);
    let run = check_status(&db.store, &channels(&fake)).await.unwrap();
    assert_eq!(run.backends[0].updated.len(), 1, "{run:?}");
    let a = db.store.message(a.id).unwrap().unwrap();
    assert_eq!((a.state, a.is_final_state), (State::Done, true));
    let history = db.store.history(a.id).unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.to == State::CallInProgress && h.reason.contains("action 3")),
        "{history:?}"
    );
}

#[tokio::test]
async fn a_timeout_after_create_is_adopted_on_the_next_attempt_not_posted_again() {
    let fake = FakeDaktela::start(TOKEN).await;
    let db = common::sqlite();
    let dialer = Dialer::from_config(db.store.clone(), &config(&fake, TOKEN)).unwrap();
    fake.fail_next(Fault::TimeoutAfterWork(Duration::from_secs(2)));
    let m = dialer
        .send(request("Reminder", false))
        .await
        .unwrap()
        .message;
    assert_eq!(m.state, State::ErrorRetry, "{m:?}");
    assert!(m.attempt_unresolved);
    assert_eq!(
        fake.records().len(),
        1,
        "the record was created although the answer never came"
    );

    // The retry is due later; claim it as if that time had come.
    let owner = owner_id();
    let later = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(5))
        .unwrap();
    let lease = later
        .checked_add(jiff::SignedDuration::from_mins(1))
        .unwrap();
    let due = Claimable::Due {
        limit: 10,
        backend: None,
        pace: dialout_model::pace::Pace::NONE,
    };
    let claimed = db.store.claim(&owner, due, later, lease).unwrap();
    let held: Vec<_> = claimed.iter().map(|m| m.id).collect();
    assert_eq!(claimed.len(), 1);
    let done = publish_claimed(&db.store, &channels(&fake), &owner, claimed)
        .await
        .unwrap();
    db.store.release(&owner, &held).unwrap();
    assert_eq!(done.messages.len(), 1);
    let m = db.store.message(m.id).unwrap().unwrap();
    assert_eq!(m.state, State::Ready, "{m:?}");
    assert_eq!(name(&m), fake.records()[0]["name"].as_str().unwrap());
    assert_eq!(fake.records().len(), 1, "no second record");
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn a_rejected_token_pauses_and_the_messages_wait() {
    let fake = FakeDaktela::start("the-real-token").await;
    let db = common::sqlite();
    let dialer = Dialer::from_config(db.store.clone(), &config(&fake, TOKEN)).unwrap();
    let m = dialer
        .send(request("Reminder", false))
        .await
        .unwrap()
        .message;
    assert_eq!(m.state, State::Waiting, "{m:?}");
    assert_eq!(m.attempts, 0, "the attempt does not count");
    assert!(fake.records().is_empty());
    let history = db.store.history(m.id).unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.reason.contains("paused") && h.reason.contains("401")),
        "{history:?}"
    );
}

#[tokio::test]
async fn a_daktela_error_is_stored_in_daktelas_words() {
    let fake = FakeDaktela::start(TOKEN).await;
    let db = common::sqlite();
    let dialer = Dialer::from_config(db.store.clone(), &config(&fake, TOKEN)).unwrap();
    fake.fail_next(Fault::NullResultWithError {
        status: 400,
        error: json!({"number": ["Number is on the blacklist"]}),
    });
    let m = dialer
        .send(request("Reminder", false))
        .await
        .unwrap()
        .message;
    assert_eq!(m.state, State::Error, "{m:?}");
    let e = m.error.unwrap();
    assert!(e.contains("number: Number is on the blacklist"), "{e}");
    assert!(!e.contains(TOKEN));
}
