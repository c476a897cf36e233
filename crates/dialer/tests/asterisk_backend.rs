//! The Asterisk backend against the fake Asterisk (step mode, deterministic), running the
//! very dialplan file dialout ships. No store: the tests hand messages to the backend and
//! read its reports, as the delivery machinery does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dialout_backends::Asterisk;
use dialout_backends::asterisk::{AsteriskConfig, DIALPLAN, file_name};
use dialout_backends::backend::{Backend, Cancel, Found, Lookup, Pacing, Publish};
use dialout_backends::tts::EspeakNg;
use dialout_dialer::{Message, MessageId, NewMessage, PhoneNumber, State};
use dialout_testkit::fake_asterisk::{Callee, Callees, Dialplan, FakeAsterisk, Status};

const TEXT: &str = "Hello. This is a reminder of your appointment tomorrow at ten.";

fn dialplan_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/dialout.conf")
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    backend: Asterisk,
}

fn config(root: &Path, extra: &str) -> AsteriskConfig {
    let text = format!(
        "spool_dir = \"{}/outgoing\"\nchannel = \"PJSIP/{{number}}@trunk\"\nwait_time = 20\nretry_time = 60\n\
         calls_per_second = 1000\nmax_in_flight = 100\n{extra}{}",
        root.display(),
        if extra.contains("max_retries") {
            ""
        } else {
            "max_retries = 1\n"
        }
    );
    AsteriskConfig::from_table("pbx", &toml::from_str(&text).unwrap()).unwrap()
}

fn setup(extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("outgoing")).unwrap();
    let espeak = EspeakNg::new();
    if let Err(e) = dialout_backends::tts::Tts::check(&espeak, "en") {
        panic!("these tests need espeak-ng: {e}");
    }
    let backend = Asterisk::start("pbx", config(&root, extra), Arc::new(espeak)).unwrap();
    Setup {
        _dir: dir,
        root,
        backend,
    }
}

fn fake(root: &Path, callees: Callees) -> FakeAsterisk {
    FakeAsterisk::builder(root.join("outgoing"))
        .dialplan_file(dialplan_path())
        .unwrap()
        .callees(callees)
        .build()
        .unwrap()
}

fn message(number: &str) -> Message {
    let new = NewMessage::new(PhoneNumber::from_e164(number).unwrap(), TEXT, "pbx");
    Message::waiting(&new, jiff::Timestamp::now())
}

/// Publishes and records what the backend said, as the delivery code would.
async fn publish(backend: &Asterisk, m: &mut Message) {
    match backend.publish(m).await {
        Publish::Accepted(a) => {
            assert_eq!(a.state, State::Ready);
            m.state = a.state;
            m.sent_at = Some(jiff::Timestamp::now());
            m.extra_sender_data.extend(a.sender_data);
        }
        other => panic!("not accepted: {other:?}"),
    }
}

/// One intake; applies the updates to `messages` and returns the new states.
async fn intake(backend: &Asterisk, messages: &mut [Message]) -> Vec<(MessageId, State)> {
    let pending: Vec<Message> = messages
        .iter()
        .filter(|m| !m.is_final_state)
        .cloned()
        .collect();
    let report = backend.check_status(&pending, None).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let mut out = vec![];
    for u in report.updates {
        let m = messages.iter_mut().find(|m| m.id == u.id).unwrap();
        m.state = u.state;
        m.is_final_state = u.is_final;
        m.error = u.error;
        m.extra_sender_data.extend(u.sender_data);
        out.push((u.id, u.state));
    }
    out
}

#[test]
fn the_shipped_dialplan_is_within_the_fakes_subset_and_is_what_the_cli_prints() {
    let file = std::fs::read_to_string(dialplan_path()).unwrap();
    assert_eq!(
        file, DIALPLAN,
        "the embedded dialplan is the file in the repository"
    );
    let d = Dialplan::load(dialplan_path()).unwrap();
    for exten in ["s", "ivr", "failed", "h"] {
        assert!(d.has_exten("dialout-message", exten), "{exten}");
    }
}

#[tokio::test]
async fn every_kind_of_callee_reaches_its_truthful_state() {
    let s = setup("");
    let kinds: Vec<(&str, Vec<Callee>, State, u32)> = vec![
        (
            "+420777000001",
            vec![Callee::answers()],
            State::AnsweredComplete,
            1,
        ),
        (
            "+420777000002",
            vec![Callee::answers_then_hangs_up(2.5)],
            State::AnsweredPartial,
            1,
        ),
        ("+420777000003", vec![Callee::busy()], State::Declined, 2),
        ("+420777000004", vec![Callee::rejects()], State::Declined, 2),
        (
            "+420777000005",
            vec![Callee::no_answer()],
            State::Unanswered,
            2,
        ),
        (
            "+420777000006",
            vec![Callee::congestion()],
            State::Unreachable,
            2,
        ),
        (
            "+420777000007",
            vec![Callee::unreachable()],
            State::Unreachable,
            2,
        ),
        (
            "+420777000008",
            vec![Callee::busy(), Callee::answers()],
            State::AnsweredComplete,
            2,
        ),
        (
            "+420777000009",
            vec![Callee::busy(), Callee::no_answer()],
            State::Unanswered,
            2,
        ),
    ];
    let mut callees = Callees::new(Callee::unreachable());
    for (n, seq, _, _) in &kinds {
        callees = callees.exact_sequence(&format!("PJSIP/{n}@trunk"), seq.clone());
    }
    let mut fake = fake(&s.root, callees);
    let mut messages: Vec<Message> = kinds.iter().map(|(n, ..)| message(n)).collect();
    for m in messages.iter_mut() {
        publish(&s.backend, m).await;
    }
    // Step through fake time, taking results in between, as the worker does.
    let mut seen_rescheduled = vec![];
    let mut seen_in_call = vec![];
    for _ in 0..400 {
        fake.run_for(Duration::from_millis(500));
        for (id, state) in intake(&s.backend, &mut messages).await {
            match state {
                State::Rescheduled => seen_rescheduled.push(id),
                State::CallInProgress => seen_in_call.push(id),
                _ => {}
            }
        }
        if messages.iter().all(|m| m.is_final_state) {
            break;
        }
    }
    let obs = fake.observations();
    assert!(
        obs.errors().is_empty(),
        "the dialplan left the fake's subset: {:?}",
        obs.errors()
    );
    for ((number, _, want, attempts), m) in kinds.iter().zip(&messages) {
        assert_eq!(m.state, *want, "{number}: {:?}", m.error);
        assert!(m.is_final_state, "{number}");
        let name = file_name(m.id);
        assert_eq!(obs.attempts_of(&name).count() as u32, *attempts, "{number}");
        if *attempts == 2 {
            assert!(
                seen_rescheduled.contains(&m.id),
                "{number}: RESCHEDULED after the first failed attempt"
            );
        }
        if *want == State::AnsweredComplete || *want == State::AnsweredPartial {
            assert!(
                seen_in_call.contains(&m.id),
                "{number}: CALL_IN_PROGRESS while playing"
            );
        }
    }
    // The audio was played from the cache, not missing.
    let warnings: Vec<_> = obs
        .attempts
        .iter()
        .flat_map(|a| a.warnings.clone())
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[tokio::test]
async fn a_result_waits_for_the_status_line() {
    let s = setup("");
    let mut fake = FakeAsterisk::builder(s.root.join("outgoing"))
        .dialplan_file(dialplan_path())
        .unwrap()
        .callees(Callees::new(Callee::answers()))
        .archive_gap(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut m = vec![message("+420777000011")];
    publish(&s.backend, &mut m[0]).await;
    // Long enough for the call to end and the archive rename, short of the Status append.
    fake.run_for(Duration::from_secs(20));
    let archived = s.root.join("outgoing_done").join(file_name(m[0].id));
    assert!(archived.exists(), "archived");
    assert!(
        !std::fs::read_to_string(&archived)
            .unwrap()
            .contains("Status:")
    );
    intake(&s.backend, &mut m).await;
    assert!(
        !m[0].is_final_state,
        "no final state before the Status line: {:?}",
        m[0].state
    );
    fake.run_for(Duration::from_secs(20));
    intake(&s.backend, &mut m).await;
    assert_eq!(m[0].state, State::AnsweredComplete);
}

#[tokio::test]
async fn spooling_is_never_repeated_and_find_sees_what_was_spooled() {
    let s = setup("");
    let mut fake = fake(&s.root, Callees::new(Callee::answers()));
    let mut m = message("+420777000021");
    assert_eq!(s.backend.find(&m).await.unwrap(), Found::No);
    publish(&s.backend, &mut m).await;
    assert!(matches!(s.backend.find(&m).await.unwrap(), Found::Yes(_)));
    // A second publish (a crash between spooling and the state update) spools nothing.
    let again = s.backend.publish(&m).await;
    assert!(
        matches!(&again, Publish::Accepted(a) if a.reason.contains("already spooled")),
        "{again:?}"
    );
    fake.run_until_idle().unwrap();
    assert!(
        matches!(s.backend.find(&m).await.unwrap(), Found::Yes(_)),
        "found through its archive"
    );
    let again = s.backend.publish(&m).await;
    assert!(matches!(again, Publish::Accepted(_)));
    fake.run_until_idle().unwrap();
    assert_eq!(
        fake.observations().dials.get(&file_name(m.id)),
        Some(&1),
        "dialed once"
    );
}

#[tokio::test]
async fn cancel_withdraws_a_waiting_file_but_not_a_call_being_dialed() {
    let s = setup("");
    let mut fake = fake(&s.root, Callees::new(Callee::no_answer()));
    let mut waiting = message("+420777000031");
    publish(&s.backend, &mut waiting).await;
    assert_eq!(s.backend.cancel(&waiting).await.unwrap(), Cancel::Withdrawn);
    assert!(!s.root.join("outgoing").join(file_name(waiting.id)).exists());
    let mut ringing = message("+420777000032");
    publish(&s.backend, &mut ringing).await;
    fake.run_for(Duration::from_secs(5));
    assert!(matches!(
        s.backend.cancel(&ringing).await.unwrap(),
        Cancel::TooLate(_)
    ));
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert_eq!(
        obs.attempts_of(&file_name(waiting.id)).count(),
        0,
        "the withdrawn call was never dialed"
    );
    assert_eq!(
        obs.end_of(&file_name(ringing.id)).map(|e| e.status),
        Some(Status::Expired)
    );
}

#[tokio::test]
async fn a_file_that_vanishes_without_an_archive_is_an_error() {
    let s = setup("");
    let mut m = vec![message("+420777000041")];
    publish(&s.backend, &mut m[0]).await;
    std::fs::remove_file(s.root.join("outgoing").join(file_name(m[0].id))).unwrap();
    intake(&s.backend, &mut m).await;
    assert_eq!(m[0].state, State::Error);
    assert!(
        m[0].error
            .as_deref()
            .unwrap_or("")
            .contains("without an archive"),
        "{:?}",
        m[0].error
    );
}

#[tokio::test]
async fn pacing_defers_beyond_max_in_flight_and_calls_per_second() {
    let s = setup("");
    assert_eq!(s.backend.capacity(0).await, 100);
    assert_eq!(s.backend.capacity(99).await, 1);
    assert_eq!(s.backend.capacity(100).await, 0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("outgoing")).unwrap();
    let mut c = config(dir.path(), "");
    c.calls_per_second = 2.0;
    c.max_in_flight = 3;
    let b = Asterisk::start("pbx", c, Arc::new(EspeakNg::new())).unwrap();
    let mut published = 0;
    let mut deferred = 0;
    for i in 0..4 {
        let m = message(&format!("+42077700005{i}"));
        match b.publish(&m).await {
            Publish::Accepted(_) => published += 1,
            Publish::Deferred => deferred += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((published, deferred), (2, 2), "two calls per second");
    // The spool holds 2 of our files: in flight counts them even if the store says 0.
    assert_eq!(b.capacity(0).await, 0, "no slot left this second");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        b.capacity(0).await,
        1,
        "max_in_flight 3 minus the 2 files in the spool"
    );
}

#[test]
fn a_staging_dir_on_another_filesystem_is_refused_at_start_up() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("outgoing")).unwrap();
    let shm = Path::new("/dev/shm");
    let other = shm
        .metadata()
        .map(|m| m.dev())
        .unwrap_or_else(|e| panic!("this test needs /dev/shm (tmpfs): {e}"));
    assert_ne!(
        other,
        dir.path().metadata().unwrap().dev(),
        "this test needs /dev/shm on another filesystem than {}",
        dir.path().display()
    );
    let staging = tempfile::tempdir_in(shm).unwrap();
    let c = config(
        dir.path(),
        &format!("staging_dir = \"{}\"\n", staging.path().display()),
    );
    let err = Asterisk::start("pbx", c, Arc::new(EspeakNg::new()))
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(text.contains("backends.pbx.staging_dir"), "{text}");
    assert!(text.contains("another filesystem"), "{text}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("outgoing"))
            .unwrap()
            .count(),
        0,
        "nothing left in the spool"
    );
}

#[tokio::test]
async fn audio_stays_while_a_message_or_a_spooled_file_needs_it() {
    let s = setup("");
    let backend = s.backend.with_audio_grace(Duration::ZERO);
    let audio_files = |root: &Path| {
        std::fs::read_dir(root.join("dialout/audio"))
            .unwrap()
            .count()
    };
    let mut a = message("+420777000061");
    a.content = "First text.".into();
    let mut b = message("+420777000062");
    b.content = "Second text.".into();
    publish(&backend, &mut a).await;
    publish(&backend, &mut b).await;
    assert_eq!(audio_files(&s.root), 2);
    // Both call files are still in the spool: nothing goes, even with no pending message.
    assert_eq!(backend.cleanup_audio(&[]), 0);
    std::fs::remove_file(s.root.join("outgoing").join(file_name(b.id))).unwrap();
    // b's file left the spool; a is pending and in the spool.
    assert_eq!(backend.cleanup_audio(std::slice::from_ref(&a)), 1);
    assert_eq!(audio_files(&s.root), 1);
    let mut fake = fake(&s.root, Callees::new(Callee::answers()));
    fake.run_until_idle().unwrap();
    assert!(
        fake.observations()
            .attempts
            .iter()
            .all(|at| at.warnings.is_empty()),
        "a's audio was there to play"
    );
    assert_eq!(backend.cleanup_audio(&[]), 1, "a is done: its audio goes");
    assert_eq!(audio_files(&s.root), 0);
}

#[tokio::test]
async fn each_failed_attempt_is_reported_with_its_reason() {
    let s = setup("max_retries = 2\n");
    let mut fake = fake(
        &s.root,
        Callees::new(Callee::unreachable()).exact_sequence(
            "PJSIP/+420777000071@trunk",
            vec![Callee::busy(), Callee::no_answer(), Callee::congestion()],
        ),
    );
    let mut m = vec![message("+420777000071")];
    publish(&s.backend, &mut m[0]).await;
    let mut updates = vec![];
    for _ in 0..400 {
        fake.run_for(Duration::from_secs(2));
        for (_, state) in intake(&s.backend, &mut m).await {
            updates.push((
                state,
                m[0].extra_sender_data.get("failed_attempts").cloned(),
                m[0].extra_sender_data.get("last_reason").cloned(),
            ));
        }
        if m[0].is_final_state {
            break;
        }
    }
    let j = |n: u64| Some(serde_json::Value::from(n));
    assert_eq!(
        updates,
        vec![
            (State::Rescheduled, j(1), j(5)),
            (State::Rescheduled, j(2), j(3)),
            (State::Unreachable, j(3), j(8))
        ],
        "one update per failed attempt; the last attempt's congestion decides"
    );
}

#[tokio::test]
async fn with_user_set_everything_dialout_creates_belongs_to_asterisk() {
    use std::os::unix::fs::MetadataExt;
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody must exist on the test machine");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("outgoing")).unwrap();
    let c = config(root, "user = \"nobody\"\n");
    let started = Asterisk::start("pbx", c, Arc::new(EspeakNg::new()));
    if !nix::unistd::geteuid().is_root() {
        // Without CAP_CHOWN nothing can be given to the Asterisk user: a clear start-up error.
        let err = started.err().expect("refused without root").to_string();
        assert!(err.contains("Asterisk user"), "{err}");
        return;
    }
    let backend = started.unwrap();
    let mut m = message("+420777000081");
    publish(&backend, &mut m).await;
    let audio = std::fs::read_dir(root.join("dialout/audio"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for p in [
        root.join("outgoing").join(file_name(m.id)),
        root.join("outgoing/.dialout-staging"),
        root.join("outgoing_done"),
        root.join("dialout"),
        root.join("dialout/audio"),
        root.join("dialout/reports"),
        audio,
    ] {
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (nobody.uid.as_raw(), nobody.gid.as_raw()),
            "{}",
            p.display()
        );
    }
}

#[tokio::test]
async fn audio_longer_than_max_audio_seconds_is_refused_before_spooling() {
    let s = setup("max_audio_seconds = 1\n");
    let m = message("+420777123456");
    match s.backend.publish(&m).await {
        Publish::Failed { error } => {
            assert!(error.contains("max_audio_seconds (1 s)"), "{error}");
        }
        other => panic!("not refused: {other:?}"),
    }
    let spooled: Vec<_> = std::fs::read_dir(s.root.join("outgoing"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "call"))
        .collect();
    assert!(spooled.is_empty(), "nothing spooled: {spooled:?}");
    // The same text fits the default limit (300 s), and a limit written as a duration.
    let roomy = setup("max_audio_seconds = \"2m\"\n");
    let mut m = message("+420777123456");
    publish(&roomy.backend, &mut m).await;
}

#[test]
fn max_audio_seconds_must_be_positive() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "spool_dir = \"{}/outgoing\"\nchannel = \"PJSIP/{{number}}@trunk\"\nmax_audio_seconds = 0\n",
        dir.path().display()
    );
    let e = AsteriskConfig::from_table("pbx", &toml::from_str(&text).unwrap()).unwrap_err();
    assert!(e.to_string().contains("max_audio_seconds"), "{e}");
}
