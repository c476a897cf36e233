//! Intake: the states the session's events and AstDB records bring, for the messages still
//! in flight.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde_json::Value;

use super::calls::{ANSWERED_STALE, Call, judge};
use super::session::Link;
use super::{Inner, channel_id, lock, now_epoch, now_ms, ring_ms, sender_u32, window_end};
use crate::backend::{Publish, StatusReport, StatusUpdate};
use dialout_model::id::MessageId;
use dialout_model::message::{JsonMap, Message};
use dialout_model::state::State;

impl Inner {
    pub(super) async fn collect(&self, pending: &[Message]) -> StatusReport {
        let mut report = StatusReport::default();
        let up = self.session.link() == Link::Up;
        // Calls this process does not know (a restart of dialout): AstDB tells.
        {
            let mut calls = lock(&self.calls);
            for m in pending {
                if calls.by_id.contains_key(&m.id) || m.state == State::Rescheduled {
                    continue;
                }
                let attempt = sender_u32(m, "ami_attempt").unwrap_or(1);
                let mut c = Call::dialing(attempt, channel_id(m.id, attempt), 0);
                c.interactive = !m.interactive.is_plain();
                c.placed_ms = m
                    .extra_sender_data
                    .get("ami_placed_at_ms")
                    .and_then(Value::as_i64);
                c.audio = m
                    .extra_sender_data
                    .get("audio")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                c.unsure = true;
                calls.insert(m.id, c);
            }
        }
        if up {
            // Answered long ago and still no word: look at AstDB again (see ANSWERED_STALE).
            let long_ago =
                now_ms() - (self.config.wait_time.as_secs() as i64 + 60 + ANSWERED_STALE) * 1000;
            for c in lock(&self.calls).by_id.values_mut() {
                if c.answered && c.ended.is_none() && c.placed_ms.is_some_and(|p| p < long_ago) {
                    c.unsure = true;
                }
            }
            let unsure: Vec<(MessageId, Placed, bool)> = lock(&self.calls)
                .by_id
                .iter()
                .filter(|(_, c)| c.unsure && c.ended.is_none())
                .map(|(id, c)| (*id, (c.placed_ms, c.placed_conn), c.interactive))
                .collect();
            let stale = self.config.wait_time.as_secs() as i64 + 60;
            for (id, (at, conn), interactive) in unsure {
                let mark = self.reread.load(Ordering::SeqCst);
                match self.db_get(id).await {
                    Ok(_) if self.reread.load(Ordering::SeqCst) != mark => {
                        // Logged in again (or learnt of a restart) meanwhile: read again.
                    }
                    Ok(v) => {
                        let at = at.or_else(|| v.as_deref().and_then(record_ms));
                        let restarted = lock(&self.restarts).since(at, conn);
                        if let Some(c) = lock(&self.calls).by_id.get_mut(&id) {
                            c.apply_db(v.as_deref(), restarted, stale, now_epoch());
                        }
                    }
                    Err(e) => {
                        report.warnings.push(format!("DBGet dialout/{id}: {e}"));
                        break;
                    }
                }
                // The results of AMD() and Read() after the outcome: the dialplan writes
                // them before `complete`, so a `complete` read first has them all.
                if interactive && let Err(e) = self.read_ivr(id).await {
                    if let Some(c) = lock(&self.calls).by_id.get_mut(&id) {
                        c.unsure = true;
                    }
                    report
                        .warnings
                        .push(format!("DBGet {}/{id}: {e}", super::ivr::FAMILY));
                    break;
                }
            }
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let mut due = Vec::new();
        {
            let mut calls = lock(&self.calls);
            for m in pending {
                let Some(c) = calls.by_id.get_mut(&m.id) else {
                    if m.state == State::Rescheduled {
                        due.push(m);
                    }
                    continue;
                };
                if c.unsure {
                    continue;
                }
                let Some(mut v) = judge(c, &self.config) else {
                    continue;
                };
                // A retry that would ring after the recipient's calling window closes is not
                // made: the outcome stands as if the retries were used up.
                if let Some(after) = v.retry_in
                    && m.state != State::Rescheduled
                    && let Some(end) = window_end(m)
                    && now_ms + after.as_millis() as i64 + ring_ms(&self.config) > end
                {
                    let mut spent = c.clone();
                    spent.attempt = u32::MAX;
                    if let Some(last) = judge(&spent, &self.config) {
                        v = last;
                        v.reason =
                            format!("{}; not called again: the calling window closes", v.reason);
                    }
                }
                if let Some(after) = v.retry_in {
                    if m.state == State::Rescheduled {
                        due.push(m);
                        continue;
                    }
                    let mut data = JsonMap::new();
                    let at = now_ms + after.as_millis() as i64;
                    data.insert("ami_retry_at_ms".into(), Value::from(at));
                    data.insert("last_reason".into(), Value::String(v.reason.clone()));
                    report.updates.push(StatusUpdate {
                        id: m.id,
                        state: v.state,
                        is_final: false,
                        error: None,
                        sender_data: data,
                        reason: v.reason,
                        reply: dialout_model::interactive::Reply::default(),
                    });
                    continue;
                }
                if v.state == m.state && !v.is_final {
                    continue;
                }
                c.reported_final |= v.is_final;
                c.interactive |= !m.interactive.is_plain();
                let reply = c.ivr.reply(&m.interactive, v.is_final && c.answered);
                if v.state == State::AnsweredPartial
                    && reply.answered_by == Some(dialout_model::interactive::AnsweredBy::Machine)
                {
                    v.reason = "an answering machine answered; the message was not left".into();
                }
                report.updates.push(StatusUpdate {
                    id: m.id,
                    state: v.state,
                    is_final: v.is_final,
                    error: v.error,
                    sender_data: c.ivr.sender_data(),
                    reason: v.reason,
                    reply,
                });
            }
        }
        // Retries by outcome that are due, while there is room.
        if up {
            for m in due {
                let at = m
                    .extra_sender_data
                    .get("ami_retry_at_ms")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if at > now_ms || lock(&self.calls).live() >= self.config.max_in_flight {
                    continue;
                }
                let attempt = sender_u32(m, "ami_attempt").unwrap_or(1) + 1;
                match self.place(m, attempt, JsonMap::new()).await {
                    Publish::Accepted(a) => report.updates.push(StatusUpdate {
                        id: m.id,
                        state: State::Ready,
                        is_final: false,
                        error: None,
                        sender_data: a.sender_data,
                        reason: a.reason,
                        reply: dialout_model::interactive::Reply::default(),
                    }),
                    Publish::Failed { error } => report.updates.push(StatusUpdate {
                        id: m.id,
                        state: State::Error,
                        is_final: true,
                        error: Some(error.clone()),
                        sender_data: JsonMap::new(),
                        reason: error,
                        reply: dialout_model::interactive::Reply::default(),
                    }),
                    Publish::Retry { error, .. } => report
                        .warnings
                        .push(format!("retry of {} not placed yet: {error}", m.id)),
                    Publish::Paused { .. } | Publish::Deferred => {}
                }
            }
        }
        // Final states reported now are stored right after this: the next intake (at once,
        // not at the worker's next tick) deletes their AstDB keys.
        if report.updates.iter().any(|u| u.is_final) {
            self.wake.notify_one();
        }
        // Final states stored: their AstDB keys go.
        if up {
            let in_flight: HashSet<MessageId> = pending.iter().map(|m| m.id).collect();
            let done: Vec<(MessageId, bool)> = lock(&self.calls)
                .by_id
                .iter()
                .filter(|(id, c)| c.reported_final && !in_flight.contains(id))
                .map(|(id, c)| (*id, c.interactive))
                .collect();
            for (id, interactive) in done {
                if interactive && !self.db_del_in(super::ivr::FAMILY, id).await {
                    continue;
                }
                if self.db_del(id).await {
                    lock(&self.calls).remove(id);
                }
            }
        }
        self.cleanup_audio(pending);
        report
    }
}

/// When (epoch ms) and on which connection a call was placed, each if known.
type Placed = (Option<i64>, Option<u64>);

/// The latest moment (epoch ms) an AstDB record's time (`originated 1796249006 1`) can
/// stand for: a call whose placing time is not known otherwise counts as cut only by a
/// restart certainly after it.
fn record_ms(value: &str) -> Option<i64> {
    let secs: i64 = value.split(' ').nth(1)?.parse().ok()?;
    Some(secs * 1000 + 999)
}
