//! Shared by the daktela_*.rs tests: a backend pointed at the fake, messages, and a tiny
//! in-memory stand-in for the store that applies what the backend reports.
#![allow(dead_code)]

use std::sync::Arc;

use dialout_backends::Daktela;
use dialout_backends::backend::{Accepted, Backend, Publish, StatusReport};
use dialout_dialer::{Message, NewMessage, PhoneNumber};
use dialout_testkit::fake_daktela::FakeDaktela;
use jiff::Timestamp;
use serde_json::Value;

pub const TOKEN: &str = "tok-7f3a9c2e51d84b60aa19";
pub const TTS: &str = "records_tts";
pub const PREDICTIVE: &str = "records_predictive";

/// The options of a backend on the fake; keys in `extra` (TOML) win.
pub fn options(fake: &FakeDaktela, extra: &str) -> toml::Table {
    let text = format!(
        "url = \"{}\"\naccess_token = \"{TOKEN}\"\nautodialer_record_type = \"{TTS}\"\npredictive_record_type = \"{PREDICTIVE}\"\ntimeout = 1.0\nrequests_per_second = 0\n",
        fake.url()
    );
    let mut base: toml::Table = toml::from_str(&text).expect("test configuration parses");
    let extra: toml::Table = toml::from_str(extra).expect("extra test configuration parses");
    base.extend(extra);
    base
}

pub fn backend(fake: &FakeDaktela, extra: &str) -> Arc<Daktela> {
    Arc::new(Daktela::from_options("dk", &options(fake, extra)).expect("backend builds"))
}

pub fn message(number: &str, content: &str) -> Message {
    let new = NewMessage::new(PhoneNumber::from_e164(number).unwrap(), content, "dk");
    Message::waiting(&new, Timestamp::now())
}

/// What the store does with an accepted publish.
pub fn accept(m: &mut Message, a: &Accepted) {
    m.state = a.state;
    m.is_final_state = a.is_final;
    m.sent_at = Some(Timestamp::now());
    m.extra_sender_data.extend(a.sender_data.clone());
}

pub fn accepted(p: &Publish) -> &Accepted {
    match p {
        Publish::Accepted(a) => a,
        other => panic!("expected Accepted, got {other:?}"),
    }
}

/// Publishes and records the acceptance, as the delivery machinery would.
pub async fn publish_ok(b: &Daktela, m: &mut Message) {
    let p = b.publish(m).await;
    accept(m, accepted(&p));
}

/// Applies a status report to the messages; returns how many changed.
pub fn apply(messages: &mut [Message], report: &StatusReport) -> usize {
    for u in &report.updates {
        let m = messages
            .iter_mut()
            .find(|m| m.id == u.id)
            .expect("update for a known message");
        m.state = u.state;
        m.is_final_state = u.is_final;
        m.extra_sender_data.extend(u.sender_data.clone());
    }
    report.updates.len()
}

pub fn pending(messages: &[Message]) -> Vec<Message> {
    messages
        .iter()
        .filter(|m| !m.is_final_state)
        .cloned()
        .collect()
}

pub fn record_name(m: &Message) -> String {
    m.extra_sender_data
        .get("name")
        .and_then(Value::as_str)
        .expect("message has a record name")
        .to_string()
}
