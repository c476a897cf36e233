//! How messages, their history and templates are shown: JSON for scripts (state name with
//! `state_code` beside it, RFC 3339 UTC times) and short human text.

use dialout_dialer::Template;
use dialout_dialer::{HistoryEntry, Message};
use jiff::Timestamp;
use serde_json::{Value, json};

fn time(t: Option<Timestamp>) -> Value {
    t.map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

pub fn message_json(m: &Message) -> Value {
    json!({
        "id": m.id.to_string(),
        "state": m.state.name(),
        "state_code": m.state.code(),
        "is_final_state": m.is_final_state,
        "failed": m.failed(),
        "recipient": m.recipient.as_str(),
        "content": m.content,
        "template_slug": m.template_slug,
        "template_id": m.template_id,
        "backend": m.backend,
        "error": m.error,
        "tag": m.tag.as_ref().map(|t| t.as_str()),
        "related": m.related.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "extra_data": m.extra_data,
        "extra_sender_data": m.extra_sender_data,
        "priority": m.priority.get(),
        "predictive": m.predictive,
        "attempts": m.attempts,
        "check_failures": m.check_failures,
        "attempt_unresolved": m.attempt_unresolved,
        "idempotency_key": m.idempotency_key,
        "resent_from": m.resent_from.map(|r| r.to_string()),
        "created_at": time(Some(m.created_at)),
        "changed_at": time(Some(m.changed_at)),
        "sent_at": time(m.sent_at),
        "next_attempt_at": time(m.next_attempt_at),
        "not_before": time(m.not_before),
    })
}

pub fn history_json(h: &HistoryEntry) -> Value {
    json!({
        "at": time(Some(h.at)),
        "from": h.from.map(|s| s.name()),
        "from_code": h.from.map(|s| s.code()),
        "to": h.to.name(),
        "to_code": h.to.code(),
        "reason": h.reason,
    })
}

pub fn template_json(t: &Template) -> Value {
    json!({
        "id": t.id,
        "slug": t.slug,
        "body": t.body,
        "active": t.active,
        "allow_duplicates": t.allow_duplicates,
        "created_at": time(Some(t.created_at)),
        "changed_at": time(Some(t.changed_at)),
    })
}

/// One line: id, state, recipient, backend, and the error when there is one.
pub fn message_line(m: &Message) -> String {
    let mut line = format!(
        "{}  {} ({}){}  {}  via {}  created {}",
        m.id,
        m.state,
        m.state.code(),
        if m.is_final_state { ", final" } else { "" },
        m.recipient,
        m.backend,
        m.created_at
    );
    if let Some(e) = &m.error {
        line.push_str(&format!("  error: {e}"));
    }
    line
}

pub fn message_text(m: &Message) -> String {
    let mut out = format!("message {}\n", m.id);
    let mut field = |k: &str, v: String| out.push_str(&format!("  {k:<16}{v}\n"));
    field(
        "state",
        format!(
            "{} ({}){}",
            m.state,
            m.state.code(),
            if m.is_final_state { ", final" } else { "" }
        ),
    );
    field("recipient", m.recipient.to_string());
    field("content", m.content.clone());
    field("backend", m.backend.clone());
    if let Some(s) = &m.template_slug {
        field("template", s.clone());
    }
    if let Some(t) = &m.tag {
        field("tag", t.to_string());
    }
    if !m.related.is_empty() {
        field(
            "related",
            m.related
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if let Some(e) = &m.error {
        field("error", e.clone());
    }
    field("priority", m.priority.get().to_string());
    field("attempts", m.attempts.to_string());
    field("created_at", m.created_at.to_string());
    if let Some(t) = m.sent_at {
        field("sent_at", t.to_string());
    }
    if let Some(t) = m.not_before {
        field("not_before", t.to_string());
    }
    if let Some(t) = m.next_attempt_at {
        field("next_attempt_at", t.to_string());
    }
    if !m.extra_data.is_empty() {
        field(
            "extra_data",
            Value::Object(m.extra_data.clone()).to_string(),
        );
    }
    if !m.extra_sender_data.is_empty() {
        field(
            "sender_data",
            Value::Object(m.extra_sender_data.clone()).to_string(),
        );
    }
    out
}

pub fn history_line(h: &HistoryEntry) -> String {
    let from = h.from.map(|s| s.name()).unwrap_or("-");
    format!("  {}  {from} -> {}  {}", h.at, h.to, h.reason)
}
