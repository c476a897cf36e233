//! The AMI backend against the fake AMI server: each outcome, retries by outcome, cancel,
//! a wrong secret, an Asterisk restart and a network cut mid-call, a group with a member
//! down. No store: the tests hand messages to the backend as the delivery code does.

mod ami_support;

use std::sync::Arc;
use std::time::Duration;

use ami_support::*;
use dialout_backends::ami::group::Strategy;
use dialout_backends::ami::{Group, Link, audio::url_key, channel_id};
use dialout_backends::backend::{Backend, Cancel, Found, Publish};
use dialout_dialer::State;
use dialout_testkit::fake_ami::{Callee, FakeAmi};

const ANSWERS: &str = "+420777000101";
const HANGS_UP: &str = "+420777000102";
const BUSY: &str = "+420777000103";
const NO_ANSWER: &str = "+420777000104";
const CONGESTION: &str = "+420777000105";
const UNREACHABLE: &str = "+420777000106";
const AUDIO_FAILS: &str = "+420777000107";

async fn fake() -> FakeAmi {
    let f = FakeAmi::start(USER, SECRET).await.unwrap();
    f.playback(Duration::from_millis(300));
    f.callee(
        &HANGS_UP[1..],
        Callee::hangs_up_after(Duration::from_millis(100)),
    );
    f.callee(&BUSY[1..], Callee::busy());
    f.callee(&NO_ANSWER[1..], Callee::NoAnswer);
    f.callee(&CONGESTION[1..], Callee::congestion());
    f.callee(&UNREACHABLE[1..], Callee::Unreachable);
    f.callee(&AUDIO_FAILS[1..], Callee::audio_fails());
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_maps_as_the_asterisk_backend_and_in_real_time() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "");
    let cases = [
        (ANSWERS, State::AnsweredComplete),
        (HANGS_UP, State::AnsweredPartial),
        (BUSY, State::Declined),
        (NO_ANSWER, State::Unanswered),
        (CONGESTION, State::Unreachable),
        (UNREACHABLE, State::Unreachable),
        (AUDIO_FAILS, State::Error),
    ];
    let mut ms: Vec<_> = cases.iter().map(|(n, _)| message(n)).collect();
    for m in ms.iter_mut() {
        publish(&b, m).await;
        assert_eq!(m.state, State::Ready);
    }
    let history = until_final(&b, &mut ms, Duration::from_secs(10)).await;
    for ((number, want), (m, h)) in cases.iter().zip(ms.iter().zip(&history)) {
        assert_eq!(m.state, *want, "{number}: {h:?} {:?}", m.error);
        assert!(m.is_final_state, "{number}");
    }
    // Answered calls show CALL_IN_PROGRESS before their final state.
    assert!(
        history[0].contains(&State::CallInProgress),
        "{:?}",
        history[0]
    );
    assert!(
        ms[6]
            .error
            .as_deref()
            .unwrap()
            .contains("PLAYBACKSTATUS=FAILED")
    );

    // What was sent: Async, ActionID, ChannelId from the message, the long audio URL.
    let o = fake.originated();
    assert_eq!(o.len(), cases.len());
    let first = o
        .iter()
        .find(|o| o.channel.contains(&ANSWERS[1..]))
        .unwrap();
    assert!(first.is_async);
    assert_eq!(first.channel, format!("Local/{}@callee", &ANSWERS[1..]));
    assert_eq!(first.context, "dialout-ami");
    assert_eq!(first.timeout_ms, 1000);
    assert_eq!(first.action_id, format!("dialout-{}-1", ms[0].id));
    assert_eq!(first.channel_id, channel_id(ms[0].id, 1));
    assert_eq!(
        first.variable("DIALOUT_ID"),
        Some(ms[0].id.to_string().as_str())
    );
    let url = format!(
        "http://dialout.example:8080/audio/{}.wav",
        url_key(SECRET, ms[0].id)
    );
    assert_eq!(first.variable("DIALOUT_AUDIO"), Some(url.as_str()));

    // Once no message is in flight, their AstDB keys are removed (DBGet, then DBDel).
    b.intake().unwrap().collect(&[]).await.unwrap();
    for m in &ms {
        assert_eq!(
            fake.db("dialout", &m.id.to_string()),
            None,
            "{}",
            m.recipient
        );
    }
    assert_eq!(fake.times_called(&ANSWERS[1..]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_outcome_policy() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(
        &fake,
        dir.path(),
        "retry_busy = { attempts = 1, delay = \"1s\" }\nretry_no_answer = { attempts = 0 }\n",
    );
    let mut ms = vec![message(BUSY), message(NO_ANSWER)];
    for m in ms.iter_mut() {
        publish(&b, m).await;
    }
    let history = until_final(&b, &mut ms, Duration::from_secs(10)).await;
    assert_eq!(ms[0].state, State::Declined, "{:?}", history[0]);
    assert!(history[0].contains(&State::Rescheduled), "{:?}", history[0]);
    assert_eq!(fake.times_called(&BUSY[1..]), 2, "busy: called again once");
    assert_eq!(ms[1].state, State::Unanswered);
    assert_eq!(fake.times_called(&NO_ANSWER[1..]), 1, "no answer: no retry");
    let o = fake.originated();
    let second = o
        .iter()
        .filter(|o| o.channel.contains(&BUSY[1..]))
        .nth(1)
        .unwrap();
    assert_eq!(second.action_id, format!("dialout-{}-2", ms[0].id));
    assert!(second.at.duration_since(o[0].at) >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_not_made_after_the_calling_window_closes() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(
        &fake,
        dir.path(),
        "retry_busy = { attempts = 3, delay = \"1s\" }\n",
    );
    // The delivery tells the backend when the recipient's window closes: in 2 s here, before
    // a retry 1 s later could have rung its full wait_time.
    let mut late = message(BUSY);
    let end = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    late.extra_sender_data.insert(
        dialout_model::hours::CALLING_HOURS_END.into(),
        end.to_string().into(),
    );
    let mut ms = vec![late];
    publish(&b, &mut ms[0]).await;
    let history = until_final(&b, &mut ms, Duration::from_secs(10)).await;
    assert_eq!(ms[0].state, State::Declined, "{:?}", history[0]);
    assert!(
        !history[0].contains(&State::Rescheduled),
        "{:?}",
        history[0]
    );
    assert_eq!(fake.times_called(&BUSY[1..]), 1, "not called again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_withdraws_a_waiting_retry_but_not_an_answered_call() {
    let fake = fake().await;
    fake.playback(Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let b = backend(
        &fake,
        dir.path(),
        "retry_busy = { attempts = 3, delay = \"1h\" }\n",
    );
    let mut ms = vec![message(ANSWERS), message(BUSY)];
    for m in ms.iter_mut() {
        publish(&b, m).await;
    }
    for _ in 0..100 {
        intake(&b, &mut ms).await;
        if ms[0].state == State::CallInProgress && ms[1].state == State::Rescheduled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (ms[0].state, ms[1].state),
        (State::CallInProgress, State::Rescheduled)
    );
    assert!(
        matches!(b.cancel(&ms[0]).await.unwrap(), Cancel::TooLate(r) if r.contains("answered"))
    );
    assert_eq!(b.cancel(&ms[1]).await.unwrap(), Cancel::Withdrawn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_pauses_the_backend_with_a_clear_error() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "secret = \"wrong-guess-123\"\n");
    let mut m = message(ANSWERS);
    match b.publish(&m).await {
        Publish::Paused { reason } => {
            assert!(reason.contains("refused"), "{reason}");
            assert!(reason.contains("\"dialout\""), "{reason}");
            assert!(reason.contains("secret"), "{reason}");
            assert!(!reason.contains("wrong-guess-123"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(b.link(), Link::AuthFailed(_)));
    assert_eq!(fake.logins(), (0, 1));
    assert_eq!(fake.times_called(&ANSWERS[1..]), 0);
    // No capacity is offered but the one message that reports the pause.
    assert_eq!(dialout_backends::backend::Pacing::capacity(&b, 0).await, 1);
    m.state = State::Waiting;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asterisk_restart_mid_call_is_read_back_from_astdb_and_nobody_is_called_twice() {
    let fake = fake().await;
    fake.playback(Duration::from_secs(3));
    let dir = tempfile::tempdir().unwrap();
    let b = backend(
        &fake,
        dir.path(),
        "retry_unreachable = { attempts = 1, delay = \"1s\" }\n",
    );
    let mut ms = vec![message(ANSWERS)];
    publish(&b, &mut ms[0]).await;
    for _ in 0..100 {
        intake(&b, &mut ms).await;
        if ms[0].state == State::CallInProgress {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ms[0].state, State::CallInProgress);
    // OriginateResponse (the answer) comes before the dialplan writes `answered`: wait for it.
    for _ in 0..200 {
        if fake.call_phase(&ms[0].id.to_string()) == Some("playing") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fake.restart(Duration::from_millis(500)).await;
    // The call was cut: the h extension turned `answered` into `hangup` in AstDB.
    assert!(
        fake.db("dialout", &ms[0].id.to_string())
            .unwrap()
            .starts_with("hangup")
    );
    assert_eq!(b.connect(Duration::from_secs(20)).await, Link::Up);
    let h = until_final(&b, &mut ms, Duration::from_secs(20)).await;
    assert_eq!(ms[0].state, State::AnsweredPartial, "{h:?}");
    assert_eq!(fake.times_called(&ANSWERS[1..]), 1);
    assert_eq!(fake.logins().0, 2, "logged in again after the restart");
    assert!(fake.actions().contains(&"dbget".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_rang_through_a_restart_is_not_retried_before_astdb_is_read() {
    let fake = fake().await;
    fake.default_callee(Callee::Answers {
        ring: Duration::from_millis(800),
        hangs_up_after: None,
    });
    let dir = tempfile::tempdir().unwrap();
    let b = backend(
        &fake,
        dir.path(),
        "retry_unreachable = { attempts = 1, delay = \"1s\" }\n",
    );
    let mut ms = vec![message(ANSWERS)];
    publish(&b, &mut ms[0]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.restart(Duration::from_millis(300)).await;
    assert!(
        fake.db("dialout", &ms[0].id.to_string())
            .unwrap()
            .starts_with("originated")
    );
    assert_eq!(b.connect(Duration::from_secs(20)).await, Link::Up);
    let h = until_final(&b, &mut ms, Duration::from_secs(20)).await;
    // Cut before anyone answered: one retry (retry_unreachable), then heard.
    assert_eq!(ms[0].state, State::AnsweredComplete, "{:?}", h[0]);
    assert!(h[0].contains(&State::Rescheduled), "{:?}", h[0]);
    assert_eq!(fake.times_called(&ANSWERS[1..]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_lost_in_a_network_cut_are_read_back_from_astdb() {
    let fake = fake().await;
    fake.playback(Duration::from_millis(400));
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "");
    let mut ms = vec![message(ANSWERS)];
    publish(&b, &mut ms[0]).await;
    for _ in 0..100 {
        intake(&b, &mut ms).await;
        if ms[0].state == State::CallInProgress {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The call ends while the connection is down: its events are lost.
    fake.cut_network(Duration::from_millis(800)).await;
    assert!(
        fake.db("dialout", &ms[0].id.to_string())
            .unwrap()
            .starts_with("complete")
    );
    assert_eq!(b.connect(Duration::from_secs(20)).await, Link::Up);
    let h = until_final(&b, &mut ms, Duration::from_secs(20)).await;
    assert_eq!(ms[0].state, State::AnsweredComplete, "{h:?}");
    assert_eq!(fake.times_called(&ANSWERS[1..]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_reads_astdb_after_an_interrupted_publish() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "");
    let mut m = message(ANSWERS);
    assert_eq!(b.lookup().unwrap().find(&m).await.unwrap(), Found::No);
    publish(&b, &mut m).await;
    assert!(matches!(
        b.lookup().unwrap().find(&m).await.unwrap(),
        Found::Yes(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_sends_nothing_to_a_member_that_is_down() {
    let up = fake().await;
    let down = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(backend(&up, &dir.path().join("a"), ""));
    let b = Arc::new(backend(&down, &dir.path().join("b"), ""));
    // Warm both sessions up, then take the second server away.
    assert_eq!(a.connect(Duration::from_secs(20)).await, Link::Up);
    assert_eq!(b.connect(Duration::from_secs(20)).await, Link::Up);
    drop(down);
    for _ in 0..50 {
        if b.link() != Link::Up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let g = Group::from_members(
        "pbxs",
        vec![("pbx1".into(), a.clone()), ("pbx2".into(), b.clone())],
        Strategy::RoundRobin,
    );
    let mut ms: Vec<_> = (0..6)
        .map(|i| message(&format!("+42077710000{i}")))
        .collect();
    for m in ms.iter_mut() {
        publish(&g, m).await;
        assert_eq!(m.extra_sender_data["member"], "pbx1");
    }
    assert_eq!(up.originated().len(), 6);
    let h = until_final(&g, &mut ms, Duration::from_secs(5)).await;
    assert!(
        ms.iter().all(|m| m.state == State::AnsweredComplete),
        "{h:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_spreads_calls_over_members_that_are_up() {
    let f1 = fake().await;
    let f2 = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(backend(&f1, &dir.path().join("a"), ""));
    let b = Arc::new(backend(&f2, &dir.path().join("b"), ""));
    for strategy in [Strategy::RoundRobin, Strategy::LeastBusy] {
        let g = Group::from_members(
            "pbxs",
            vec![("pbx1".into(), a.clone()), ("pbx2".into(), b.clone())],
            strategy,
        );
        let mut ms: Vec<_> = (0..4)
            .map(|i| message(&format!("+42077720000{i}")))
            .collect();
        for m in ms.iter_mut() {
            publish(&g, m).await;
        }
        let on1 = ms
            .iter()
            .filter(|m| m.extra_sender_data["member"] == "pbx1")
            .count();
        assert_eq!(on1, 2, "{strategy:?}");
        until_final(&g, &mut ms, Duration::from_secs(5)).await;
        assert!(ms.iter().all(|m| m.state == State::AnsweredComplete));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_is_served_only_for_the_right_key_while_the_message_needs_it() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "");
    let mut m = message(ANSWERS);
    publish(&b, &mut m).await;
    let key = url_key(SECRET, m.id);
    let path = b.audio(&m, &key).expect("served while in flight");
    assert!(path.starts_with(dir.path()) && path.is_file());
    assert_eq!(b.audio(&m, &url_key("other", m.id)), None);
    m.is_final_state = true;
    assert_eq!(b.audio(&m, &key), None, "not once final");
}

/// Erasure (`Forget`): the rendered audio goes, except while another live call plays the
/// same text, and so does the AstDB key of a call the backend still tracks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_removes_the_audio_and_the_astdb_key_but_not_a_live_calls_audio() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&fake, dir.path(), "");
    let mut done = vec![message(ANSWERS)];
    publish(&b, &mut done[0]).await;
    until_final(&b, &mut done, Duration::from_secs(5)).await;
    let key = done[0].extra_sender_data["audio"]
        .as_str()
        .unwrap()
        .to_string();
    let audio = dir.path().join(format!("{key}.wav"));
    assert!(audio.is_file());
    fake.db_put("dialout", &done[0].id.to_string(), "hangup 1796249006 16");

    // The same text, ringing now: its audio is the same file, which stays.
    let mut ringing = vec![message(NO_ANSWER)];
    publish(&b, &mut ringing[0]).await;
    assert_eq!(ringing[0].extra_sender_data["audio"], key.as_str());
    let forget = Backend::forget(&b).expect("the AMI backend forgets");
    assert_eq!(forget.forget(&done).await.unwrap(), 0);
    assert!(audio.is_file(), "a live call's audio was removed");
    assert_eq!(fake.db("dialout", &done[0].id.to_string()), None);

    until_final(&b, &mut ringing, Duration::from_secs(5)).await;
    assert_eq!(forget.forget(&done).await.unwrap(), 1);
    assert!(!audio.exists());
}
