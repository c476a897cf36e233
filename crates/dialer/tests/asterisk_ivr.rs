//! Interactive calls on the call-file backend against the fake Asterisk (step mode),
//! running the shipped dialplan: every callee of `ivr_support` ends in its state with its
//! keys, answer and verdict, the call files carry only checked values, a plain message
//! still takes extension `s`.

mod ivr_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dialout_backends::Asterisk;
use dialout_backends::asterisk::AsteriskConfig;
use dialout_backends::backend::{Backend, Publish};
use dialout_backends::tts::{Audio, Tts, TtsError};
use dialout_dialer::Message;
use dialout_testkit::fake_asterisk::{Callee, Callees, FakeAsterisk};

/// Two seconds of silence for any text: the message and the prompt last 2 s each.
struct TwoSeconds;

impl Tts for TwoSeconds {
    fn name(&self) -> &str {
        "two-seconds"
    }
    fn check(&self, _voice: &str) -> Result<String, TtsError> {
        Ok("two-seconds 1".into())
    }
    fn speak(&self, text: &str, _voice: &str) -> Result<Audio, TtsError> {
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        // The text's length changes one sample, so the message and prompt differ.
        Ok(Audio {
            sample_rate: 8000,
            samples: vec![text.len() as i16; 16000],
        })
    }
}

fn dialplan_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/dialout.conf")
}

fn backend(root: &Path) -> Asterisk {
    std::fs::create_dir_all(root.join("outgoing")).unwrap();
    let text = format!(
        "spool_dir = \"{}/outgoing\"\nchannel = \"PJSIP/{{number}}@trunk\"\nwait_time = 20\nretry_time = 60\n\
         calls_per_second = 1000\nmax_in_flight = 100\nmax_retries = 0\n",
        root.display()
    );
    let config = AsteriskConfig::from_table("pbx", &toml::from_str(&text).unwrap()).unwrap();
    Asterisk::start("pbx", config, Arc::new(TwoSeconds)).unwrap()
}

fn callees() -> Callees {
    let mut callees = Callees::new(Callee::answers());
    for c in ivr_support::cases() {
        let callee = match c.hangup_after {
            Some(h) => Callee::talks_then_hangs_up(c.party.clone(), h),
            None => Callee::talks(c.party.clone()),
        };
        callees = callees.exact(&format!("PJSIP/{}@trunk", c.number), callee);
    }
    callees
}

async fn publish(b: &Asterisk, m: &mut Message) {
    match b.publish(m).await {
        Publish::Accepted(a) => {
            m.state = a.state;
            m.extra_sender_data.extend(a.sender_data);
        }
        other => panic!("not accepted: {other:?}"),
    }
}

async fn intake(b: &Asterisk, ms: &mut [Message]) {
    let pending: Vec<Message> = ms.iter().filter(|m| !m.is_final_state).cloned().collect();
    let report = b.check_status(&pending, None).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    for u in report.updates {
        let m = ms.iter_mut().find(|m| m.id == u.id).unwrap();
        m.state = u.state;
        m.is_final_state = u.is_final;
        m.error = u.error;
        m.extra_sender_data.extend(u.sender_data);
        m.reply.merge(&u.reply);
    }
}

#[tokio::test]
async fn every_callee_ends_with_its_keys_answer_and_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path());
    let cases = ivr_support::cases();
    let mut ms: Vec<_> = cases
        .iter()
        .map(|c| ivr_support::message(c, "pbx"))
        .collect();
    for m in ms.iter_mut() {
        assert_eq!(b.check_interactive(&m.interactive), Ok(()));
        publish(&b, m).await;
    }
    let mut fake = FakeAsterisk::builder(dir.path().join("outgoing"))
        .dialplan_file(dialplan_path())
        .unwrap()
        .callees(callees())
        .build()
        .unwrap();
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert!(obs.errors().is_empty(), "{:?}", obs.errors());
    intake(&b, &mut ms).await;
    for (c, m) in cases.iter().zip(&ms) {
        ivr_support::check(c, m);
        assert_eq!(obs.dials.len(), cases.len(), "one file per message");
        assert!(
            obs.dials.values().all(|&n| n == 1),
            "nobody is called twice"
        );
    }
    assert_eq!(
        ms[0]
            .extra_sender_data
            .get("amd_cause")
            .and_then(|v| v.as_str()),
        Some("HUMAN-816-800")
    );

    // What the fake read from the first call file: extension ivr and the variables.
    let first = obs
        .attempts
        .iter()
        .find(|a| a.channel.contains(cases[0].number))
        .unwrap();
    assert_eq!(first.call_file.extension, "ivr");
    let var = |k: &str| {
        first
            .call_file
            .variables
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(var("DIALOUT_MACHINE").as_deref(), Some("ignore"));
    assert_eq!(var("DIALOUT_KEYS").as_deref(), Some("12"));
    assert_eq!(var("DIALOUT_FINISH").as_deref(), Some("#"));
    let prompt = var("DIALOUT_PROMPT").unwrap();
    assert_ne!(
        Some(prompt.clone()),
        var("DIALOUT_AUDIO"),
        "the prompt has its own audio"
    );
    assert!(Path::new(&format!("{prompt}.wav")).is_file());
    // Keys during the message were lost; the repeated prompt ran twice for a wrong key.
    let reads = |n: &str| {
        obs.attempts
            .iter()
            .find(|a| a.channel.contains(n))
            .unwrap()
            .apps
            .iter()
            .filter(|r| r.app == "Read")
            .count()
    };
    assert_eq!(reads(cases[3].number), 2);
    assert_eq!(reads(cases[0].number), 1);
}

#[tokio::test]
async fn a_plain_message_still_takes_extension_s() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(dir.path());
    let mut new = dialout_dialer::NewMessage::new(
        dialout_dialer::PhoneNumber::from_e164("+420777100099").unwrap(),
        "Plain.",
        "pbx",
    );
    new.interactive = Default::default();
    let mut m = Message::waiting(&new, jiff::Timestamp::now());
    publish(&b, &mut m).await;
    let mut fake = FakeAsterisk::builder(dir.path().join("outgoing"))
        .dialplan_file(dialplan_path())
        .unwrap()
        .build()
        .unwrap();
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    let a = &obs.attempts[0];
    assert_eq!(a.call_file.extension, "s");
    assert!(
        a.call_file
            .variables
            .iter()
            .all(|(k, _)| !k.starts_with("DIALOUT_MACHINE"))
    );
    let apps: Vec<&str> = a.apps.iter().map(|r| r.app.as_str()).collect();
    assert_eq!(
        apps,
        [
            "NoOp", "Set", "Answer", "Wait", "Playback", "Set", "Hangup", "Set"
        ],
        "the plain path runs as before"
    );
    let mut ms = vec![m];
    intake(&b, &mut ms).await;
    assert_eq!(ms[0].state, dialout_dialer::State::AnsweredComplete);
    assert!(ms[0].reply.is_empty());
}
