//! What a change does to a message, decided once for both databases: the new row, the
//! history rows it writes, and whether anything changed at all.

use jiff::Timestamp;

use super::{Change, micros};
use crate::{HistoryEntry, Message, NewMessage, State};

pub(crate) struct Plan {
    pub message: Message,
    pub history: Vec<HistoryEntry>,
    /// False when the change would write nothing (same values, or a final message).
    pub changed: bool,
}

/// Applies `change` to `old`. A final message is never changed.
pub(crate) fn plan_change(old: &Message, change: &Change, now: Timestamp) -> Plan {
    if old.is_final_state {
        return Plan {
            message: old.clone(),
            history: Vec::new(),
            changed: false,
        };
    }
    let now = micros(now);
    let mut new = old.clone();
    new.state = change.state;
    new.is_final_state = change.is_final;
    new.error = change.error.clone();
    if let Some(sent) = change.sent_at {
        new.sent_at = Some(micros(sent));
    }
    for (k, v) in &change.sender_data {
        new.extra_sender_data.insert(k.clone(), v.clone());
    }
    new.next_attempt_at = change.next_attempt_at.map(micros);
    new.attempt_unresolved = change.attempt_unresolved;
    if change.uncount_attempt {
        new.attempts = new.attempts.saturating_sub(1);
    }
    // `check_failures` counts failed checks since the last real update.
    if !change.check_failed && new.state != old.state {
        new.check_failures = 0;
    }

    let mut history = Vec::new();
    let entry = |to: State| HistoryEntry {
        at: now,
        from: Some(old.state),
        to,
        reason: change.reason.clone(),
    };
    if change.check_failed {
        new.check_failures += 1;
        history.push(entry(State::ErrorUpdate));
    }
    // A new error in the same state (a second failed attempt) is worth a line too.
    // So is becoming final in the same state (status window passed), and a note.
    let finality = new.is_final_state != old.is_final_state;
    if new.state != old.state
        || finality
        || change.note
        || (!change.check_failed && new.error != old.error)
    {
        history.push(entry(new.state));
    }
    let changed = new != *old;
    if changed {
        new.changed_at = now;
    }
    Plan {
        message: new,
        history,
        changed,
    }
}

/// The row a new message becomes: WAITING, no attempt yet.
pub(crate) fn new_message_row(new: &NewMessage, now: Timestamp) -> Message {
    // Times as the databases keep them (microseconds).
    let mut m = Message::waiting(new, micros(now));
    m.not_before = m.not_before.map(micros);
    m
}

/// Whether a request reusing an idempotency key asks for the same message.
pub(crate) fn same_request(existing: &Message, new: &NewMessage) -> bool {
    existing.recipient == new.recipient
        && existing.content == new.content
        && existing.template_slug == new.template_slug
}

pub(crate) fn log_created(m: &Message) {
    tracing::info!(message_id = %m.id, state = %m.state, backend = %m.backend, "message stored");
}

/// One log line per history row, written after the commit so the log never lies.
pub(crate) fn log_history(id: crate::MessageId, history: &[HistoryEntry]) {
    for h in history {
        let from = h.from.map(State::name).unwrap_or("-");
        tracing::info!(message_id = %id, from = %from, to = %h.to, reason = %h.reason, "message state changed");
    }
}

/// The messages an update wrote, each transition logged (after the commit: the log never
/// tells of a change that was rolled back).
pub(crate) fn logged(done: Vec<(Option<Message>, Vec<HistoryEntry>)>) -> Vec<Option<Message>> {
    done.into_iter()
        .map(|(message, history)| {
            if let Some(m) = &message {
                log_history(m.id, &history);
            }
            message
        })
        .collect()
}

pub(crate) const FIRST_REASON: &str = "stored";

/// The first history entry, implied by the message's creation (not stored as a row).
pub(crate) fn creation_entry(created_at: Timestamp) -> HistoryEntry {
    HistoryEntry {
        at: created_at,
        from: None,
        to: State::Waiting,
        reason: FIRST_REASON.into(),
    }
}
