//! How messages, their history and templates are shown: JSON for scripts (state name with
//! `state_code` beside it, RFC 3339 UTC times) and short human text.

use dialout_dialer::{HistoryEntry, Message};
use serde_json::Value;

pub use dialout_dialer::json::{
    history as history_json, message as message_json, template as template_json,
};

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
    if let Some(d) = &m.reply.digits {
        line.push_str(&format!("  pressed {d:?}"));
    }
    if let Some(a) = &m.reply.answer {
        line.push_str(&format!(" ({a})"));
    }
    if let Some(b) = m.reply.answered_by {
        line.push_str(&format!("  answered by {b}"));
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
    if let Some(z) = &m.time_zone {
        field("time_zone", z.clone());
    }
    if let Some(g) = &m.interactive.gather {
        field("gather", serde_json::to_string(g).unwrap_or_default());
    }
    if let Some(p) = m.interactive.machine {
        field("machine", p.to_string());
    }
    if let Some(d) = &m.reply.digits {
        field("digits", d.clone());
    }
    if let Some(a) = &m.reply.answer {
        field("answer", a.clone());
    }
    if let Some(b) = m.reply.answered_by {
        field("answered_by", b.to_string());
    }
    if let Some(t) = m.reply.answered_at {
        field("answered_at", t.to_string());
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
