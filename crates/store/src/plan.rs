//! What a change does to a message, decided once for both databases: the new row, the
//! history rows it writes, and whether anything changed at all.
use crate::sql::micros;
use dialout_model::interactive::Reply;
use dialout_model::message::HistoryEntry;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_model::state::State;
use jiff::Timestamp;

/// What happened to a stored message, with the reason its history gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The backend took the message (or was found to have it): sent now, in `state`.
    Accepted {
        state: State,
        is_final: bool,
        sender_data: JsonMap,
        reason: String,
    },
    /// The attempt failed; the next is due at `next`. `ambiguous`: the backend may have
    /// got the message, so it is asked before the next publish.
    Retry {
        error: String,
        next: Timestamp,
        ambiguous: bool,
        reason: String,
    },
    /// ERROR, final: failed for good, no attempts left, given up, refused, withdrawn.
    /// `ambiguous` as in `Retry`.
    Failed {
        error: String,
        ambiguous: bool,
        reason: String,
    },
    /// The backend did not take the attempt (paused): it is not counted, the message waits
    /// as it was until `next`.
    Paused { next: Timestamp, reason: String },
    /// As `Paused`, for lack of capacity, without a history line.
    Deferred { next: Timestamp, reason: String },
    /// Outside the recipient's calling hours before any attempt was begun: the message keeps
    /// its state (and an unresolved attempt stays unresolved) and is due again at `next`.
    Postponed { next: Timestamp, reason: String },
    /// A state the backend reported, with what the callee answered (merged into the
    /// message's reply).
    Status {
        state: State,
        is_final: bool,
        error: Option<String>,
        sender_data: JsonMap,
        reason: String,
        reply: Reply,
    },
    /// A status check failed for this message: counted; the state is kept, unless
    /// `made_final` (too many failures), which makes it ERROR_UPDATE, final.
    CheckFailed {
        error: String,
        made_final: bool,
        reason: String,
    },
    /// Final in the state it is in (no final state came within the status window).
    Closed { reason: String },
    /// ERROR, final, never published: the reason is its error.
    Cancelled { reason: String },
    /// Only a history line (a cancel the backend could not honour).
    Note { reason: String },
}

impl Change {
    pub fn reason(&self) -> &str {
        match self {
            Change::Accepted { reason, .. }
            | Change::Retry { reason, .. }
            | Change::Failed { reason, .. }
            | Change::Paused { reason, .. }
            | Change::Deferred { reason, .. }
            | Change::Postponed { reason, .. }
            | Change::Status { reason, .. }
            | Change::CheckFailed { reason, .. }
            | Change::Closed { reason }
            | Change::Cancelled { reason }
            | Change::Note { reason } => reason,
        }
    }
}

/// A change as the row takes it: every column it sets.
struct RowChange {
    state: State,
    is_final: bool,
    /// Replaces the message's error (None clears it).
    error: Option<String>,
    /// Set when Some.
    sent_at: Option<Timestamp>,
    /// Merged into `extra_sender_data`.
    sender_data: JsonMap,
    next_attempt_at: Option<Timestamp>,
    attempt_unresolved: bool,
    /// `check_failures += 1` and a history row `to: ERROR_UPDATE`.
    check_failed: bool,
    /// The attempt begun for this change did not happen: `attempts -= 1`.
    uncount_attempt: bool,
    /// A history row even when nothing else changes.
    note: bool,
    /// Merged into the message's reply.
    reply: Reply,
}

impl RowChange {
    /// Nothing but what `f` sets: the state, finality and error of `old` kept.
    fn keep(old: &Message, f: impl FnOnce(&mut RowChange)) -> RowChange {
        let mut c = RowChange {
            state: old.state,
            is_final: old.is_final_state,
            error: old.error.clone(),
            sent_at: None,
            sender_data: JsonMap::new(),
            next_attempt_at: None,
            attempt_unresolved: false,
            check_failed: false,
            uncount_attempt: false,
            note: false,
            reply: Reply::default(),
        };
        f(&mut c);
        c
    }

    fn lower(old: &Message, change: &Change, now: Timestamp) -> RowChange {
        let error = |e: &str| Some(e.to_string());
        match change {
            Change::Accepted {
                state,
                is_final,
                sender_data,
                ..
            } => RowChange::keep(old, |c| {
                (c.state, c.is_final, c.error) = (*state, *is_final, None);
                c.sent_at = Some(now);
                c.sender_data = sender_data.clone();
            }),
            Change::Retry {
                error: e,
                next,
                ambiguous,
                ..
            } => RowChange::keep(old, |c| {
                (c.state, c.is_final, c.error) = (State::ErrorRetry, false, error(e));
                c.next_attempt_at = Some(*next);
                c.attempt_unresolved = *ambiguous;
                // Every failed attempt gets its history line, even with the same error.
                c.note = true;
            }),
            Change::Failed {
                error: e,
                ambiguous,
                ..
            } => RowChange::keep(old, |c| {
                (c.state, c.is_final, c.error) = (State::Error, true, error(e));
                c.attempt_unresolved = *ambiguous;
            }),
            Change::Paused { next, .. } | Change::Deferred { next, .. } => {
                RowChange::keep(old, |c| {
                    c.is_final = false;
                    c.next_attempt_at = Some(*next);
                    c.uncount_attempt = true;
                    c.note = matches!(change, Change::Paused { .. });
                })
            }
            Change::Postponed { next, .. } => RowChange::keep(old, |c| {
                c.next_attempt_at = Some(*next);
                c.attempt_unresolved = old.attempt_unresolved;
                c.note = true;
            }),
            Change::Status {
                state,
                is_final,
                error,
                sender_data,
                reply,
                ..
            } => RowChange::keep(old, |c| {
                (c.state, c.is_final, c.error) = (*state, *is_final, error.clone());
                c.sender_data = sender_data.clone();
                c.reply = reply.clone();
            }),
            Change::CheckFailed {
                error: e,
                made_final,
                ..
            } => RowChange::keep(old, |c| {
                if *made_final {
                    (c.state, c.is_final) = (State::ErrorUpdate, true);
                }
                c.error = error(e);
                c.check_failed = true;
            }),
            Change::Closed { .. } => RowChange::keep(old, |c| c.is_final = true),
            Change::Cancelled { reason } => RowChange::keep(old, |c| {
                (c.state, c.is_final, c.error) = (State::Error, true, error(reason));
            }),
            Change::Note { .. } => RowChange::keep(old, |c| c.note = true),
        }
    }
}

pub struct Plan {
    pub message: Message,
    pub history: Vec<HistoryEntry>,
    /// False when the change would write nothing (same values, or a final message).
    pub changed: bool,
}

/// Applies `change` to `old`. A final message is never changed.
pub fn plan_change(old: &Message, change: &Change, now: Timestamp) -> Plan {
    if old.is_final_state {
        return Plan {
            message: old.clone(),
            history: Vec::new(),
            changed: false,
        };
    }
    let now = micros(now);
    let reason = change.reason();
    let change = RowChange::lower(old, change, now);
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
    new.reply.merge(&change.reply);
    new.reply.answered_at = new.reply.answered_at.map(micros);
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
        reason: reason.to_string(),
        reply: Reply::default(),
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
        let mut e = entry(new.state);
        // The entry of the final state tells what the callee answered.
        if new.is_final_state {
            e.reply = new.reply.clone();
        }
        history.push(e);
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
pub fn new_message_row(new: &NewMessage, now: Timestamp) -> Message {
    // Times as the databases keep them (microseconds).
    let mut m = Message::waiting(new, micros(now));
    m.not_before = m.not_before.map(micros);
    m
}

/// What a request reusing idempotency key `key` gets: the message stored first when it
/// asks for the same one (recipient, content, template), a conflict otherwise.
pub fn repeat_of(
    existing: Message,
    new: &NewMessage,
    key: &str,
) -> Result<crate::message_store::Inserted, crate::error::StoreError> {
    let same = existing.recipient == new.recipient
        && existing.content == new.content
        && existing.template_slug == new.template_slug;
    if same {
        Ok(crate::message_store::Inserted {
            message: existing,
            existing: true,
        })
    } else {
        Err(crate::error::StoreError::IdempotencyConflict {
            key: key.to_string(),
            existing: existing.id,
        })
    }
}

pub fn log_created(m: &Message) {
    tracing::info!(message_id = %m.id, state = %m.state, backend = %m.backend, "message stored");
}

/// One log line per history row, written after the commit so the log never lies.
pub fn log_history(id: dialout_model::id::MessageId, history: &[HistoryEntry]) {
    for h in history {
        let from = h.from.map(State::name).unwrap_or("-");
        tracing::info!(message_id = %id, from = %from, to = %h.to, reason = %h.reason, "message state changed");
    }
}

/// The messages an update wrote, each transition logged (after the commit: the log never
/// tells of a change that was rolled back).
pub fn logged(done: Vec<(Option<Message>, Vec<HistoryEntry>)>) -> Vec<Option<Message>> {
    done.into_iter()
        .map(|(message, history)| {
            if let Some(m) = &message {
                log_history(m.id, &history);
            }
            message
        })
        .collect()
}

pub const FIRST_REASON: &str = "stored";

/// The first history entry, implied by the message's creation (not stored as a row).
pub fn creation_entry(created_at: Timestamp) -> HistoryEntry {
    HistoryEntry {
        at: created_at,
        from: None,
        to: State::Waiting,
        reason: FIRST_REASON.into(),
        reply: Reply::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_model::phone::PhoneNumber;

    fn begun() -> Message {
        let phone = PhoneNumber::from_e164("+420777123456").unwrap();
        let mut m = Message::waiting(&NewMessage::new(phone, "hi", "b"), Timestamp::UNIX_EPOCH);
        (m.attempts, m.attempt_unresolved) = (1, true);
        m.error = Some("earlier".into());
        m
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn transitions_lower_to_rows() {
        let m = begun();
        let reason = || "r".to_string();
        let p = plan_change(
            &m,
            &Change::Paused {
                next: at(9),
                reason: reason(),
            },
            at(1),
        );
        assert_eq!((p.message.state, p.message.attempts), (State::Waiting, 0));
        assert_eq!(p.message.error.as_deref(), Some("earlier"), "kept");
        assert_eq!(p.message.next_attempt_at, Some(at(9)));
        assert_eq!(p.history.len(), 1, "a paused attempt is noted");
        let p = plan_change(
            &m,
            &Change::Deferred {
                next: at(9),
                reason: reason(),
            },
            at(1),
        );
        assert!(p.history.is_empty(), "a deferral is not");

        let retry = Change::Retry {
            error: "timeout".into(),
            next: at(30),
            ambiguous: true,
            reason: reason(),
        };
        let p = plan_change(&m, &retry, at(1));
        assert_eq!(p.message.state, State::ErrorRetry);
        assert!(p.message.attempt_unresolved && !p.message.is_final_state);

        let failed = Change::CheckFailed {
            error: "500".into(),
            made_final: false,
            reason: reason(),
        };
        let p = plan_change(&m, &failed, at(1));
        assert_eq!(
            (p.message.state, p.message.check_failures),
            (State::Waiting, 1)
        );
        assert_eq!(p.history[0].to, State::ErrorUpdate);

        let p = plan_change(&m, &Change::Closed { reason: reason() }, at(1));
        assert_eq!(
            (p.message.state, p.message.is_final_state),
            (State::Waiting, true)
        );
        let p = plan_change(
            &m,
            &Change::Cancelled {
                reason: "stop".into(),
            },
            at(1),
        );
        assert_eq!(p.message.error.as_deref(), Some("stop"));
        assert!(p.message.is_final_state);

        let p = plan_change(&m, &Change::Note { reason: reason() }, at(1));
        assert_eq!(p.message.state, m.state);
        assert_eq!(p.history.len(), 1);
        // A final message is never changed.
        let done = plan_change(&m, &Change::Closed { reason: reason() }, at(1)).message;
        assert!(!plan_change(&done, &retry, at(2)).changed);
    }
}
