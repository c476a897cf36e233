//! Helpers for the AMI tests: a silent speech engine (the audio itself is not under test
//! here), a backend wired to a fake AMI server, and an intake loop as the worker runs it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_backends::Ami;
use dialout_backends::ami::AmiConfig;
use dialout_backends::backend::{Backend, Publish};
use dialout_backends::tts::{Audio, Tts, TtsError};
use dialout_dialer::{Message, NewMessage, PhoneNumber, State};
use dialout_testkit::fake_ami::FakeAmi;

pub const USER: &str = "dialout";
pub const SECRET: &str = "s3cret-ami";

/// Half a second of silence at 8 kHz for any text.
pub struct Silence;

impl Tts for Silence {
    fn name(&self) -> &str {
        "silence"
    }
    fn check(&self, _voice: &str) -> Result<String, TtsError> {
        Ok("silence 1".into())
    }
    fn speak(&self, text: &str, _voice: &str) -> Result<Audio, TtsError> {
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        Ok(Audio {
            sample_rate: 8000,
            samples: vec![0; 4000],
        })
    }
}

pub fn config(port: u16, audio_dir: &std::path::Path, extra: &str) -> AmiConfig {
    let text = format!(
        "host = \"127.0.0.1\"\nport = {port}\nusername = \"{USER}\"\nchannel = \"Local/{{digits}}@callee\"\n\
         audio_url = \"http://dialout.example:8080/audio\"\naudio_dir = \"{}\"\nwait_time = 1\n\
         calls_per_second = 10000\n{extra}{}",
        audio_dir.display(),
        if extra.contains("secret") {
            ""
        } else {
            "secret = \"s3cret-ami\"\n"
        }
    );
    AmiConfig::from_table("pbx", &toml::from_str(&text).unwrap()).unwrap()
}

pub fn backend(fake: &FakeAmi, dir: &std::path::Path, extra: &str) -> Ami {
    Ami::start("pbx", config(fake.port(), dir, extra), Arc::new(Silence))
        .unwrap()
        .with_timing(Duration::from_millis(200), Duration::from_millis(200))
}

pub fn message(number: &str) -> Message {
    let new = NewMessage::new(
        PhoneNumber::from_e164(number).unwrap(),
        "Your appointment is tomorrow at ten.",
        "pbx",
    );
    Message::waiting(&new, jiff::Timestamp::now())
}

/// Publishes and records what the backend said, as the delivery code would.
pub async fn publish(backend: &dyn Backend, m: &mut Message) {
    match backend.publish(m).await {
        Publish::Accepted(a) => {
            m.state = a.state;
            m.sent_at = Some(jiff::Timestamp::now());
            m.extra_sender_data.extend(a.sender_data);
        }
        other => panic!("not accepted: {other:?}"),
    }
}

/// One intake over the messages still in flight; applies the updates; returns the states
/// each message went through.
pub async fn intake(backend: &dyn Backend, messages: &mut [Message]) -> Vec<State> {
    let pending: Vec<Message> = messages
        .iter()
        .filter(|m| !m.is_final_state)
        .cloned()
        .collect();
    let report = backend.intake().unwrap().collect(&pending).await.unwrap();
    let mut seen = Vec::new();
    for u in report.updates {
        let m = messages.iter_mut().find(|m| m.id == u.id).unwrap();
        m.state = u.state;
        m.is_final_state = u.is_final;
        m.error = u.error;
        m.extra_sender_data.extend(u.sender_data);
        m.reply.merge(&u.reply);
        seen.push(u.state);
    }
    seen
}

/// Intake until every message is final (or `within` passes); the states seen per message.
pub async fn until_final(
    backend: &dyn Backend,
    messages: &mut [Message],
    within: Duration,
) -> Vec<Vec<State>> {
    let start = Instant::now();
    let mut history = vec![Vec::new(); messages.len()];
    while messages.iter().any(|m| !m.is_final_state) && start.elapsed() < within {
        intake(backend, messages).await;
        for (h, m) in history.iter_mut().zip(messages.iter()) {
            if h.last() != Some(&m.state) {
                h.push(m.state);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    history
}
