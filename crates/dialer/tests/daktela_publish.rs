//! Publishing to the fake Daktela: the record, Daktela's errors, transient failures,
//! pausing on 401/403, no duplicates after an ambiguous timeout, concurrency limits.

mod daktela_support;

use std::time::{Duration, Instant};

use daktela_support::*;
use dialout_backends::backend::{Backend, BackendError, Found, Lookup, Publish};
use dialout_dialer::State;
use dialout_dialer::config::Config;
use dialout_testkit::fake_daktela::{CustomFieldFilters, FakeDaktela, Fault};
use serde_json::json;

fn retry(p: &Publish) -> (&str, bool) {
    match p {
        Publish::Retry { error, ambiguous } => (error, *ambiguous),
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn publish_posts_the_record_with_the_token_in_the_header() {
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "");
    let mut m = message("+420777123456", "Your order has shipped");
    m.extra_data
        .insert("custom_fields".into(), json!({"order": "42"}));
    let p = b.publish(&m).await;
    let a = accepted(&p);
    assert_eq!((a.state, a.is_final), (State::Ready, false));

    let records = fake.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["number"], "00420777123456");
    assert_eq!(r["record_type"], TTS);
    assert_eq!(
        r["customFields"]["autodialer_text"],
        json!(["Your order has shipped"])
    );
    assert_eq!(r["customFields"]["order"], json!(["42"]));
    assert_eq!(
        r["customFields"]["dialout_message_id"],
        json!([m.id.to_string()])
    );
    // Name, action and statuses are kept on the message.
    assert_eq!(a.sender_data["name"], r["name"]);
    assert_eq!(a.sender_data["action"], r["action"]);
    assert_eq!(a.sender_data["statuses"], json!([]));

    let req = &fake.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.uri, "/api/v6/campaignsRecords.json");
    let token = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-auth-token"))
        .map(|(_, v)| v.as_str());
    assert_eq!(token, Some(TOKEN));
}

#[tokio::test]
async fn predictive_messages_use_the_predictive_record_type() {
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "");
    let mut m = message("+420777123456", "x");
    m.predictive = true;
    accepted(&b.publish(&m).await);
    assert_eq!(fake.records()[0]["record_type"], PREDICTIVE);
}

#[tokio::test]
async fn daktelas_own_error_words_reach_the_message() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_known_record_types(&[TTS]);
    let b = backend(&fake, "");
    // A per-field object, from the fake's own validation (result null).
    let mut m = message("+420777123456", "x");
    m.predictive = true;
    match b.publish(&m).await {
        Publish::Failed { error } => assert!(
            error.contains("record_type: Record type records_predictive does not exist"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    // A list with result null.
    fake.fail_next(Fault::NullResultWithError {
        status: 400,
        error: json!(["Invalid number"]),
    });
    match b.publish(&message("+420777123456", "x")).await {
        Publish::Failed { error } => assert!(error.contains("Invalid number"), "{error}"),
        other => panic!("{other:?}"),
    }
    // A 5xx with result null keeps the words too, and may be retried.
    fake.fail_next(Fault::NullResultWithError {
        status: 500,
        error: json!({"database": ["Deadlock found"]}),
    });
    let p = b.publish(&message("+420777123456", "x")).await;
    assert!(retry(&p).0.contains("database: Deadlock found"), "{p:?}");
    assert_eq!(fake.records().len(), 0);
}

#[tokio::test]
async fn transient_failures_are_retried_and_say_whether_the_record_may_exist() {
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "");
    let m = message("+420777123456", "x");

    fake.fail_next(Fault::HtmlServerError);
    let p = b.publish(&m).await;
    let (e, amb) = retry(&p);
    assert!(e.contains("502") && e.contains("Bad Gateway"), "{e}");
    assert!(amb, "a 5xx after a POST may have created the record");

    fake.fail_next(Fault::TooManyRequests);
    let p = b.publish(&m).await;
    assert!(!retry(&p).1, "{p:?}");
    assert!(retry(&p).0.contains("429"), "{p:?}");

    fake.fail_next(Fault::MalformedJson);
    let p = b.publish(&m).await;
    assert!(retry(&p).0.contains("not a JSON object"), "{p:?}");
    assert!(retry(&p).1);

    fake.fail_next(Fault::Slow(Duration::from_secs(2)));
    let p = b.publish(&m).await;
    let (e, amb) = retry(&p);
    assert!(e.contains("timed out") && amb, "{e}");
    assert_eq!(fake.records().len(), 0);
}

#[tokio::test]
async fn connection_refused_is_a_plain_retry() {
    let fake = FakeDaktela::start(TOKEN).await;
    let opts = options(&fake, "");
    let addr = fake.addr();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut opts = opts;
    opts.insert(
        "url".into(),
        toml::Value::String(format!("http://{addr}/api/v6/campaignsRecords")),
    );
    let b = dialout_backends::Daktela::from_options("dk", &opts).unwrap();
    let p = b.publish(&message("+420777123456", "x")).await;
    let (e, amb) = retry(&p);
    assert!(!amb, "nothing was sent: {e}");
}

#[tokio::test]
async fn unauthorized_pauses_instead_of_failing() {
    let fake = FakeDaktela::start("another-token").await;
    let b = backend(&fake, "");
    let m = message("+420777123456", "x");
    match b.publish(&m).await {
        Publish::Paused { reason } => assert!(
            reason.contains("401") && reason.contains("Invalid access token"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "");
    fake.fail_next(Fault::Forbidden);
    assert!(matches!(b.publish(&m).await, Publish::Paused { .. }));
    let before = fake.request_count();
    assert!(
        b.check_status(&[], Some("2026-01-01 00:00:00"))
            .await
            .is_ok()
    );
    assert_eq!(
        fake.request_count(),
        before,
        "no pending messages: no request"
    );
    fake.fail_next(Fault::Unauthorized);
    assert!(matches!(b.find(&m).await, Err(BackendError::Paused(_))));
}

#[tokio::test]
async fn a_timeout_after_the_record_was_created_does_not_create_a_second_one() {
    for mode in [
        CustomFieldFilters::Accept,
        CustomFieldFilters::Refuse,
        CustomFieldFilters::Ignore,
    ] {
        let fake = FakeDaktela::start(TOKEN).await;
        fake.set_custom_field_filters(mode);
        let b = backend(&fake, "");
        // Someone else's record to the same number, and an earlier one of ours, must not be adopted.
        fake.insert(json!({"record_type": TTS, "number": "00420777123456", "customFields": {"autodialer_text": ["other"]}}));
        let mut other = message("+420777123456", "Reminder");
        publish_ok(&b, &mut other).await;

        let mut m = message("+420777123456", "Reminder");
        fake.fail_next(Fault::TimeoutAfterWork(Duration::from_secs(2)));
        let p = b.publish(&m).await;
        assert!(
            retry(&p).1,
            "{mode:?}: a timed-out POST is ambiguous: {p:?}"
        );
        assert_eq!(fake.records().len(), 3, "{mode:?}: the record was created");

        // The delivery machinery asks before posting again.
        m.attempt_unresolved = true;
        match b.find(&m).await.unwrap() {
            Found::Yes(a) => {
                let created = fake
                    .records()
                    .into_iter()
                    .find(|r| r["customFields"]["dialout_message_id"] == json!([m.id.to_string()]))
                    .unwrap();
                assert_eq!(a.sender_data["name"], created["name"], "{mode:?}");
                assert_eq!(a.state, State::Ready);
            }
            other => panic!("{mode:?}: {other:?}"),
        }
        assert_eq!(fake.records().len(), 3, "{mode:?}: nothing posted twice");
        // A message never posted is not found.
        let fresh = message("+420777123456", "Reminder");
        assert_eq!(b.find(&fresh).await.unwrap(), Found::No, "{mode:?}");
    }
}

#[tokio::test]
async fn find_falls_back_to_number_time_and_text_when_the_id_field_is_dropped() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.drop_custom_fields(&["dialout_message_id"]);
    let b = backend(&fake, "");
    let m = message("+420777123456", "Your code is 1234");
    fake.fail_next(Fault::TimeoutAfterWork(Duration::from_secs(2)));
    assert!(retry(&b.publish(&m).await).1);
    let stored = fake.records();
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0]["customFields"]
            .get("dialout_message_id")
            .is_none()
    );
    match b.find(&m).await.unwrap() {
        Found::Yes(a) => assert_eq!(a.sender_data["name"], stored[0]["name"]),
        other => panic!("{other:?}"),
    }
    // Same number, other text: not ours.
    assert_eq!(
        b.find(&message("+420777123456", "Another text"))
            .await
            .unwrap(),
        Found::No
    );
}

#[tokio::test]
async fn find_reports_an_outage_rather_than_guessing() {
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "");
    fake.fail_next(Fault::HtmlServerError);
    assert!(matches!(
        b.find(&message("+420777123456", "x")).await,
        Err(BackendError::Outage(_))
    ));
}

#[tokio::test]
async fn publish_many_runs_concurrently_within_the_limit() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_delay(Duration::from_millis(50));
    let b = backend(&fake, "max_concurrent_requests = 3");
    let messages: Vec<_> = (0..12)
        .map(|i| message("+420777123456", &format!("m{i}")))
        .collect();
    let started = Instant::now();
    let out = b.publish_many(&messages).await;
    let took = started.elapsed();
    assert_eq!(out.len(), 12);
    for (m, p) in messages.iter().zip(&out) {
        let name = accepted(p).sender_data["name"].clone();
        let r = fake.record(name.as_str().unwrap()).unwrap();
        assert_eq!(
            r["customFields"]["autodialer_text"],
            json!([m.content]),
            "results in order"
        );
    }
    assert_eq!(
        fake.max_concurrency(),
        3,
        "concurrent, and never more than the limit"
    );
    // 12 requests of 50 ms, 3 at a time: 4 rounds, far from 12 sequential ones.
    assert!(took < Duration::from_millis(450), "{took:?}");
}

#[tokio::test]
async fn publish_many_keeps_to_requests_per_second() {
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(
        &fake,
        "max_concurrent_requests = 8\nrequests_per_second = 20",
    );
    let messages: Vec<_> = (0..11)
        .map(|i| message("+420777123456", &format!("m{i}")))
        .collect();
    let started = Instant::now();
    let out = b.publish_many(&messages).await;
    assert!(out.iter().all(|p| matches!(p, Publish::Accepted(_))));
    let at: Vec<_> = fake.requests().iter().map(|r| r.at).collect();
    let span = at
        .iter()
        .max()
        .unwrap()
        .duration_since(*at.iter().min().unwrap());
    // 11 requests at 20/s: the first at once, the last 500 ms later.
    assert!(span >= Duration::from_millis(450), "{span:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_backend_is_built_from_configuration_by_kind() {
    let fake = FakeDaktela::start(TOKEN).await;
    let text = format!(
        "[backends.cloud]\nkind = \"daktela\"\nurl = \"{}\"\naccess_token = \"{TOKEN}\"\nautodialer_record_type = \"{TTS}\"\n",
        fake.url()
    );
    let config: Config = toml::from_str(&text).unwrap();
    let backends = config.channels().unwrap();
    assert_eq!(backends.default_name(), "cloud");
    let p = backends
        .get("cloud")
        .unwrap()
        .publish(&message("+420777123456", "x"))
        .await;
    accepted(&p);
    let bad: Config =
        toml::from_str("[backends.cloud]\nkind = \"daktela\"\nurl = \"https://x\"\n").unwrap();
    let e = bad.channels().err().unwrap();
    assert!(e.to_string().contains("backends.cloud.access_token"), "{e}");
}

#[tokio::test]
async fn a_refused_token_stops_the_rest_of_a_batch_without_a_request_each() {
    let fake = FakeDaktela::start("the-real-token").await;
    let b = backend(&fake, "max_concurrent_requests = 2");
    let messages: Vec<_> = (0..50)
        .map(|i| message("+420777123456", &format!("m{i}")))
        .collect();
    let out = b.publish_many(&messages).await;
    assert!(
        out.iter().all(|p| matches!(p, Publish::Paused { .. })),
        "{out:?}"
    );
    assert!(
        fake.request_count() <= 2,
        "{} requests for 50 messages",
        fake.request_count()
    );
    // The next batch tries again.
    b.publish_many(&messages[..1]).await;
    assert!(fake.request_count() <= 3);
}

#[tokio::test]
async fn redirects_are_not_followed_so_the_token_goes_nowhere_else() {
    let fake = FakeDaktela::start(TOKEN).await;
    let elsewhere = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "");
    fake.fail_next(Fault::Redirect(elsewhere.url() + ".json"));
    let p = b.publish(&message("+420777123456", "x")).await;
    let (e, amb) = retry(&p);
    assert!(e.contains("redirect") && !amb, "{e}");
    assert_eq!(
        elsewhere.request_count(),
        0,
        "the token was not sent to the redirect's target"
    );
}

#[tokio::test]
async fn a_wrong_url_is_a_retry_not_a_failed_message() {
    let fake = FakeDaktela::start(TOKEN).await;
    let mut opts = options(&fake, "");
    opts.insert(
        "url".into(),
        toml::Value::String(fake.url().replace("campaignsRecords", "campaignRecords")),
    );
    let b = dialout_backends::Daktela::from_options("dk", &opts).unwrap();
    let p = b.publish(&message("+420777123456", "x")).await;
    let (e, amb) = retry(&p);
    assert!(e.contains("404") && e.contains("url") && !amb, "{e}");
}
