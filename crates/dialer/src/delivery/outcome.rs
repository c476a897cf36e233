//! What a backend's answer does to a message: the `Change` recorded for each outcome, and
//! when a message is given up.

use jiff::Timestamp;

use super::hours;
use super::retry::Backoff;
use super::settings::DeliverySettings;
use dialout_backends::backend::{Accepted, Publish};
use dialout_model::duration::after;
use dialout_model::message::Message;
use dialout_store::Change;

/// ERROR after giving up, keeping the last error the backend gave.
pub(crate) fn gave_up(m: &Message, reason: &str) -> Change {
    let error = match &m.error {
        Some(e) => format!("{reason}; last error: {e}"),
        None => reason.to_string(),
    };
    failed(reason, &error)
}

pub(crate) fn failed(reason: &str, error: &str) -> Change {
    Change::Failed {
        error: error.to_string(),
        ambiguous: false,
        reason: reason.to_string(),
    }
}

pub(crate) fn accepted(acc: Accepted, reason: String) -> Change {
    Change::Accepted {
        state: acc.state,
        is_final: acc.is_final,
        sender_data: acc.sender_data,
        reason,
    }
}

/// What a backend's answer to attempt number `m.attempts` does to the message.
pub(crate) fn change_for(
    m: &Message,
    p: Publish,
    backoff: &Backoff,
    settings: &DeliverySettings,
    now: Timestamp,
) -> Change {
    let n = m.attempts;
    match p {
        Publish::Accepted(acc) => {
            let reason = acc.reason.clone();
            accepted(acc, reason)
        }
        Publish::Failed { error } => failed(&format!("attempt {n} failed for good"), &error),
        Publish::Retry { error, ambiguous } => {
            // Never outside the calling hours: moved to the next opening.
            let next = hours::retry_at(m, after(now, backoff.delay(n)), settings);
            let gave_up = |reason: String| Change::Failed {
                error: error.clone(),
                ambiguous,
                reason,
            };
            if !backoff.may_retry(n) {
                gave_up(format!(
                    "attempt {n} of {} failed: no attempts left",
                    backoff.max_attempts
                ))
            } else if next > give_up_at(m, settings) {
                gave_up(format!(
                    "attempt {n} failed and the next would come after the give-up time ({} after being due)",
                    human(settings.give_up_after)
                ))
            } else {
                Change::Retry {
                    reason: format!(
                        "attempt {n} of {} failed; next at {next}",
                        backoff.max_attempts
                    ),
                    error,
                    next,
                    ambiguous,
                }
            }
        }
        Publish::Paused { reason } => {
            tracing::warn!(id = %m.id, backend = %m.backend, "backend paused: {reason}; the message waits");
            Change::Paused {
                next: after(now, settings.retry_base),
                reason: format!("backend paused: {reason}; attempt not counted"),
            }
        }
        // Due again after a pause, so that a full backend is not asked in a tight loop.
        Publish::Deferred => Change::Deferred {
            next: after(now, settings.interval),
            reason: "backend has no capacity now; attempt not counted".into(),
        },
    }
}

/// `1h`, `90s`: durations as written in the configuration.
pub(crate) fn human(d: std::time::Duration) -> String {
    let sd = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    format!("{sd:#}")
}

/// When the message was due: created, or its not-before time if later.
pub(crate) fn due_at(m: &Message) -> Timestamp {
    m.not_before.map_or(m.created_at, |nb| nb.max(m.created_at))
}

pub(crate) fn give_up_at(m: &Message, settings: &DeliverySettings) -> Timestamp {
    hours::give_up_at(m, due_at(m), settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_model::id::MessageId;
    use dialout_model::message::JsonMap;
    use dialout_model::message::Priority;
    use dialout_model::phone::PhoneNumber;
    use dialout_model::state::State;

    fn message(attempts: u32, created_at: Timestamp) -> Message {
        Message {
            id: MessageId::new(),
            created_at,
            changed_at: created_at,
            sent_at: None,
            recipient: PhoneNumber::from_e164("+420777123456").unwrap(),
            content: "hello".into(),
            template_slug: None,
            template_id: None,
            state: State::Waiting,
            backend: "b".into(),
            error: None,
            extra_data: JsonMap::new(),
            extra_sender_data: JsonMap::new(),
            tag: None,
            is_final_state: false,
            related: vec![],
            priority: Priority::default(),
            predictive: false,
            attempts,
            next_attempt_at: None,
            not_before: None,
            idempotency_key: None,
            check_failures: 0,
            resent_from: None,
            attempt_unresolved: true,
            time_zone: None,
            interactive: Default::default(),
            reply: Default::default(),
        }
    }

    fn retry(ambiguous: bool) -> Publish {
        Publish::Retry {
            error: "timeout".into(),
            ambiguous,
        }
    }

    #[test]
    fn retries_back_off_until_the_last_attempt_then_error() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let Change::Retry { next, .. } = change_for(&message(1, now), retry(false), &b, &s, now)
        else {
            panic!("a retry");
        };
        let wait = next.duration_since(now);
        assert!(
            wait <= jiff::SignedDuration::from_secs(30)
                && wait >= jiff::SignedDuration::from_secs(24),
            "{wait:?}"
        );
        let Change::Retry {
            next, ambiguous, ..
        } = change_for(&message(2, now), retry(true), &b, &s, now)
        else {
            panic!("a retry");
        };
        let wait = next.duration_since(now);
        assert!(
            wait <= jiff::SignedDuration::from_secs(60)
                && wait >= jiff::SignedDuration::from_secs(48),
            "{wait:?}"
        );
        assert!(
            ambiguous,
            "an ambiguous failure is looked up before the next publish"
        );
        let Change::Failed { error, reason, .. } =
            change_for(&message(3, now), retry(false), &b, &s, now)
        else {
            panic!("failed");
        };
        assert!(reason.contains("no attempts left"), "{reason}");
        assert_eq!(error, "timeout");
    }

    #[test]
    fn a_retry_past_the_give_up_time_is_an_error() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let old = message(1, now - jiff::SignedDuration::from_secs(3590));
        let c = change_for(&old, retry(false), &b, &s, now);
        assert!(matches!(c, Change::Failed { .. }), "{c:?}");
        assert!(c.reason().contains("give-up"), "{}", c.reason());
    }

    #[test]
    fn paused_and_deferred_wait_uncounted() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let paused = Publish::Paused {
            reason: "401".into(),
        };
        let c = change_for(&message(1, now), paused, &b, &s, now);
        assert!(
            matches!(c, Change::Paused { next, .. } if next > now),
            "{c:?}"
        );
        let c = change_for(&message(1, now), Publish::Deferred, &b, &s, now);
        assert!(
            matches!(c, Change::Deferred { next, .. } if next > now),
            "{c:?}"
        );
    }

    #[test]
    fn accepted_and_failed() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let c = change_for(
            &message(1, now),
            Publish::Accepted(Accepted::ready(JsonMap::new(), "spooled")),
            &b,
            &s,
            now,
        );
        assert!(
            matches!(
                c,
                Change::Accepted {
                    state: State::Ready,
                    is_final: false,
                    ..
                }
            ),
            "{c:?}"
        );
        let c = change_for(
            &message(1, now),
            Publish::Failed {
                error: "invalid number".into(),
            },
            &b,
            &s,
            now,
        );
        assert!(
            matches!(&c, Change::Failed { error, ambiguous: false, .. } if error == "invalid number"),
            "{c:?}"
        );
    }
}
