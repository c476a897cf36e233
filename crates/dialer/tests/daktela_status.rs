//! The bulk status check against the fake Daktela: pymess's states, request counts,
//! odd records, outages, the cursor and its overlap, other record types left alone.

mod daktela_support;

use daktela_support::*;
use dialout_backends::Daktela;
use dialout_backends::backend::{Backend, BackendError, StatusReport};
use dialout_dialer::{Message, State};
use dialout_testkit::fake_daktela::{FakeDaktela, Fault};
use serde_json::{Value, json};

/// pymess's identity for actions 0–6 written out with integer codes, and two status names.
const MAPPING: &str = r#"
[states_mapping]
"0" = 0
"1" = 1
"2" = 2
"3" = 3
"4" = 4
"5" = 5
"6" = 6
statuses_5c1394ec6ea23488631693 = "ANSWERED_COMPLETE"
statuses_unreachable = 9
"#;

async fn check(b: &Daktela, messages: &mut [Message], cursor: &mut Option<String>) -> StatusReport {
    let report = b
        .check_status(&pending(messages), cursor.as_deref())
        .await
        .expect("status check succeeds");
    apply(messages, &report);
    *cursor = report.cursor.clone();
    report
}

fn state_of(messages: &[Message], i: usize) -> (State, bool) {
    (messages[i].state, messages[i].is_final_state)
}

#[tokio::test]
async fn a_sequence_of_record_changes_gives_pymess_states() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut ms = vec![
        message("+420777123456", "a"),
        message("+420777123457", "b"),
        message("+420777123458", "c"),
    ];
    for m in ms.iter_mut() {
        publish_ok(&b, m).await;
    }
    let names: Vec<String> = ms.iter().map(record_name).collect();
    let mut cursor = None;

    let r = check(&b, &mut ms, &mut cursor).await;
    assert!(r.updates.is_empty(), "nothing changed yet: {r:?}");

    let steps: [(usize, &str, &[&str], State, bool); 6] = [
        (0, "3", &[], State::CallInProgress, false),
        (0, "4", &[], State::Hangup, false),
        (0, "6", &[], State::Rescheduled, false),
        (
            0,
            "5",
            &["statuses_5c1394ec6ea23488631693"],
            State::AnsweredComplete,
            true,
        ),
        (1, "5", &[], State::Done, true),
        (
            2,
            "5",
            &["statuses_unreachable", "statuses_5c1394ec6ea23488631693"],
            State::Unreachable,
            true,
        ),
    ];
    for (i, action, statuses, state, is_final) in steps {
        fake.advance(7);
        fake.set_progress(&names[i], action, statuses);
        let r = check(&b, &mut ms, &mut cursor).await;
        assert_eq!(
            state_of(&ms, i),
            (state, is_final),
            "action {action} statuses {statuses:?}"
        );
        assert_eq!(
            r.updates.len(),
            1,
            "only the changed message is updated: {r:?}"
        );
        assert_eq!(r.updates[0].id, ms[i].id);
        assert_eq!(
            ms[i].extra_sender_data["action"], action,
            "the record's action is kept"
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
    assert!(pending(&ms).is_empty());
}

#[tokio::test]
async fn ten_thousand_open_messages_take_at_most_eleven_requests() {
    for crowded in [false, true] {
        let fake = FakeDaktela::start(TOKEN).await;
        fake.set_now("2026-11-21 08:00:00");
        let b = backend(&fake, MAPPING);
        let mut ms = Vec::with_capacity(10_000);
        for i in 0..10_000u32 {
            let mut m = message("+420777123456", &format!("m{i}"));
            let name = fake.insert(json!({"record_type": TTS, "number": "00420777123456",
                                          "customFields": {"dialout_message_id": [m.id.to_string()]}}));
            let r = fake.record(&name).unwrap();
            m.state = State::Ready;
            m.sent_at = Some(jiff::Timestamp::now());
            for k in [
                "name",
                "record_type",
                "action",
                "statuses",
                "created",
                "edited",
            ] {
                m.extra_sender_data.insert(k.into(), r[k].clone());
            }
            ms.push(m);
            // Another application's records, interleaved.
            if i % 5 == 0 {
                fake.insert(
                    json!({"record_type": "records_other_app", "number": "00420111222333"}),
                );
            }
        }
        let names: Vec<String> = ms.iter().map(record_name).collect();
        let expect = |i: usize| -> (&'static str, State, bool) {
            match i % 4 {
                0 => ("3", State::CallInProgress, false),
                1 => ("5", State::Done, true),
                2 => ("6", State::Rescheduled, false),
                _ => ("5", State::AnsweredComplete, true),
            }
        };
        for (i, name) in names.iter().enumerate() {
            if !crowded {
                fake.advance(1);
            }
            let (action, _, _) = expect(i);
            let statuses: &[&str] = if i % 4 == 3 {
                &["statuses_5c1394ec6ea23488631693"]
            } else {
                &[]
            };
            fake.set_progress(name, action, statuses);
            if i % 5 == 0 {
                fake.insert(
                    json!({"record_type": "records_other_app", "number": "00420111222333"}),
                );
            }
        }
        fake.clear_requests();
        let mut cursor = None;
        let r = check(&b, &mut ms, &mut cursor).await;
        let requests = fake.request_count();
        println!("crowded={crowded}: 10000 messages checked with {requests} requests");
        assert!(requests <= 11, "crowded={crowded}: {requests} requests");
        assert_eq!(r.updates.len(), 10_000, "crowded={crowded}");
        for (i, m) in ms.iter().enumerate() {
            let (_, state, is_final) = expect(i);
            assert_eq!(
                (m.state, m.is_final_state),
                (state, is_final),
                "crowded={crowded} message {i}"
            );
        }
        for req in fake.requests() {
            assert!(req.uri.contains("take=1000"), "{}", req.uri);
            assert!(
                req.uri.contains(&format!("filter%5B0%5D%5Bvalue%5D={TTS}")),
                "{}",
                req.uri
            );
        }
    }
}

#[tokio::test]
async fn records_of_other_types_are_neither_listed_nor_touched() {
    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, MAPPING);
    let foreign = fake.insert(
        json!({"record_type": "records_other_app", "number": "00420111222333", "action": "1"}),
    );
    let before = fake.record(&foreign).unwrap();
    let mut ms = vec![message("+420777123456", "a")];
    publish_ok(&b, &mut ms[0]).await;
    // Our own record of an already-final message changes too: not reported.
    let mut done = message("+420777123457", "b");
    publish_ok(&b, &mut done).await;
    fake.set_progress(&record_name(&done), "4", &[]);
    fake.set_progress(&foreign, "5", &[]);
    fake.clear_requests();
    let mut cursor = None;
    let r = check(&b, &mut ms, &mut cursor).await;
    assert!(r.updates.is_empty(), "{r:?}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert!(reqs[0].uri.contains(&format!("={TTS}")), "{}", reqs[0].uri);
    let after = fake.record(&foreign).unwrap();
    assert_eq!(before["record_type"], after["record_type"]);
    assert_eq!(
        after["action"], "5",
        "only the other application changed it"
    );
}

#[tokio::test]
async fn each_record_type_is_listed_by_its_own_query_with_its_own_cursor() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut ms = vec![message("+420777123456", "a"), message("+420777123457", "b")];
    ms[1].predictive = true;
    for m in ms.iter_mut() {
        publish_ok(&b, m).await;
    }
    fake.advance(3);
    fake.set_progress(&record_name(&ms[0]), "3", &[]);
    fake.advance(3);
    fake.set_progress(&record_name(&ms[1]), "3", &[]);
    fake.clear_requests();
    let mut cursor = None;
    let r = check(&b, &mut ms, &mut cursor).await;
    assert_eq!(r.updates.len(), 2);
    assert_eq!(fake.request_count(), 2);
    let c: Value = serde_json::from_str(cursor.as_deref().unwrap()).unwrap();
    assert_eq!(
        c,
        json!({TTS: "2026-11-21 10:00:03", PREDICTIVE: "2026-11-21 10:00:06"})
    );
}

#[tokio::test]
async fn an_odd_record_affects_its_own_message_only() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut ms: Vec<Message> = (0..3)
        .map(|i| message("+420777123456", &format!("m{i}")))
        .collect();
    for m in ms.iter_mut() {
        publish_ok(&b, m).await;
    }
    fake.advance(1);
    fake.set_progress(&record_name(&ms[0]), "4", &["statuses_nobody_mapped"]);
    fake.update(
        &record_name(&ms[1]),
        json!({"action": "x", "statuses": null}),
    );
    fake.set_progress(&record_name(&ms[2]), "3", &[]);
    let as_published = ms[0].clone();
    let mut cursor = None;
    let r = check(&b, &mut ms, &mut cursor).await;
    // Unknown status, by default: the action's state, and a warning naming the message.
    assert_eq!(state_of(&ms, 0), (State::Hangup, false));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains(&ms[0].id.to_string()) && w.contains("statuses_nobody_mapped")),
        "{:?}",
        r.warnings
    );
    // A record without a usable action: a failed check for that message alone.
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].id, ms[1].id);
    assert_eq!(state_of(&ms, 1), (State::Ready, false));
    assert_eq!(state_of(&ms, 2), (State::CallInProgress, false));

    for (policy, fails) in [("fail_check", true), ("skip", false)] {
        let strict = backend(&fake, &format!("unknown_status = \"{policy}\"\n{MAPPING}"));
        let one = vec![as_published.clone()];
        let r = strict.check_status(&one, None).await.unwrap();
        assert!(r.updates.is_empty(), "{policy}: {r:?}");
        assert_eq!(r.failures.len(), usize::from(fails), "{policy}: {r:?}");
        assert_eq!(r.warnings.len(), usize::from(!fails), "{policy}: {r:?}");
    }
}

#[tokio::test]
async fn a_failed_request_is_an_outage_and_the_next_run_catches_up() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut ms = vec![message("+420777123456", "a"), message("+420777123457", "b")];
    for m in ms.iter_mut() {
        publish_ok(&b, m).await;
    }
    let mut cursor = None;
    check(&b, &mut ms, &mut cursor).await;
    let good_cursor = cursor.clone();

    fake.advance(5);
    fake.set_progress(&record_name(&ms[0]), "3", &[]);
    for fault in [
        Fault::HtmlServerError,
        Fault::TooManyRequests,
        Fault::MalformedJson,
        Fault::NullResultWithError {
            status: 500,
            error: json!(["Internal error"]),
        },
        Fault::Slow(std::time::Duration::from_secs(2)),
    ] {
        fake.fail_next(fault.clone());
        match b.check_status(&pending(&ms), cursor.as_deref()).await {
            Err(BackendError::Outage(e)) => assert!(!e.is_empty(), "{fault:?}"),
            other => panic!("{fault:?}: {other:?}"),
        }
    }
    fake.fail_next(Fault::Unauthorized);
    assert!(matches!(
        b.check_status(&pending(&ms), cursor.as_deref()).await,
        Err(BackendError::Paused(_))
    ));

    // The failed runs stored no cursor; later changes and the missed one both arrive.
    fake.advance(5);
    fake.set_progress(&record_name(&ms[1]), "5", &[]);
    assert_eq!(cursor, good_cursor);
    let r = check(&b, &mut ms, &mut cursor).await;
    assert_eq!(r.updates.len(), 2);
    assert_eq!(state_of(&ms, 0), (State::CallInProgress, false));
    assert_eq!(state_of(&ms, 1), (State::Done, true));
}

#[tokio::test]
async fn an_outage_on_a_later_page_fails_the_run() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut ms = Vec::new();
    for i in 0..1500 {
        let mut m = message("+420777123456", &format!("m{i}"));
        let name = fake.insert(json!({"record_type": TTS, "number": "00420777123456"}));
        m.state = State::Ready;
        m.extra_sender_data = fake.record(&name).unwrap().as_object().unwrap().clone();
        ms.push(m);
        fake.advance(1);
    }
    fake.fail_after(1, Fault::HtmlServerError);
    assert!(matches!(
        b.check_status(&ms, None).await,
        Err(BackendError::Outage(_))
    ));
}

#[tokio::test]
async fn edits_in_the_cursors_second_are_caught_by_the_overlap() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut ms = vec![
        message("+420777123456", "a"),
        message("+420777123457", "b"),
        message("+420777123458", "c"),
    ];
    for m in ms.iter_mut() {
        publish_ok(&b, m).await;
    }
    fake.set_now("2026-11-21 10:05:00");
    fake.set_progress(&record_name(&ms[0]), "3", &[]);
    let mut cursor = None;
    check(&b, &mut ms, &mut cursor).await;
    assert!(
        cursor.as_deref().unwrap().contains("10:05:00"),
        "{cursor:?}"
    );
    // Same second, after the check.
    fake.set_progress(&record_name(&ms[1]), "4", &[]);
    // A second earlier, committed late.
    fake.set_now("2026-11-21 10:04:59");
    fake.set_progress(&record_name(&ms[2]), "6", &[]);
    let r = check(&b, &mut ms, &mut cursor).await;
    assert_eq!(r.updates.len(), 2, "{r:?}");
    assert_eq!(state_of(&ms, 1), (State::Hangup, false));
    assert_eq!(state_of(&ms, 2), (State::Rescheduled, false));
}

#[tokio::test]
async fn a_message_recorded_as_sent_after_a_check_still_gets_earlier_edits() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    let b = backend(&fake, MAPPING);
    let mut old = vec![message("+420777123456", "a")];
    publish_ok(&b, &mut old[0]).await;
    // A publish in flight: the record exists, the message is not pending yet.
    let mut late = message("+420777123457", "b");
    let p = b.publish(&late).await;
    fake.advance(20);
    fake.set_progress(&record_name(&old[0]), "3", &[]);
    fake.set_progress(accepted(&p).sender_data["name"].as_str().unwrap(), "3", &[]);
    let mut cursor = None;
    check(&b, &mut old, &mut cursor).await;
    // Now the publish is recorded; the next check starts before the record was created.
    accept(&mut late, accepted(&p));
    fake.advance(60);
    let mut ms = vec![old.remove(0), late];
    let r = check(&b, &mut ms, &mut cursor).await;
    assert_eq!(r.updates.len(), 1, "{r:?}");
    assert_eq!(state_of(&ms, 1), (State::CallInProgress, false));
}
