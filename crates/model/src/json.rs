//! The JSON form of messages, their history and templates, the same wherever they are shown
//! (the CLI's `--json`, the HTTP API): state names with their numeric code beside them,
//! RFC 3339 UTC times.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::message::HistoryEntry;

use crate::message::Message;

use crate::template::Template;

fn time(t: Option<Timestamp>) -> Value {
    t.map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

pub fn message(m: &Message) -> Value {
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
        "time_zone": m.time_zone,
        "gather": m.interactive.gather,
        "machine": m.interactive.machine,
        "digits": m.reply.digits,
        "answer": m.reply.answer,
        "answered_by": m.reply.answered_by,
        "answered_at": time(m.reply.answered_at),
    })
}

/// The reply's fields are there only on the entry that carries one (the final state's).
pub fn history(h: &HistoryEntry) -> Value {
    let mut v = json!({
        "at": time(Some(h.at)),
        "from": h.from.map(|s| s.name()),
        "from_code": h.from.map(|s| s.code()),
        "to": h.to.name(),
        "to_code": h.to.code(),
        "reason": h.reason,
    });
    let r = &h.reply;
    let fields = [
        ("digits", r.digits.as_ref().map(|d| json!(d))),
        ("answer", r.answer.as_ref().map(|a| json!(a))),
        ("answered_by", r.answered_by.map(|b| json!(b))),
        ("answered_at", r.answered_at.map(|t| json!(t.to_string()))),
    ];
    for (k, val) in fields {
        if let Some(val) = val {
            v[k] = val;
        }
    }
    v
}

pub fn template(t: &Template) -> Value {
    json!({
        "id": t.id,
        "slug": t.slug,
        "body": t.body,
        "active": t.active,
        "allow_duplicates": t.allow_duplicates,
        "created_at": time(Some(t.created_at)),
        "changed_at": time(Some(t.changed_at)),
        "gather": t.interactive.gather,
        "machine": t.interactive.machine,
    })
}
