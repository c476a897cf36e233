//! What the spool and the report files say of messages in flight: the status check and
//! the intake.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::time::Instant;

use serde_json::Value;

use super::report::Report;
use super::results::{Seen, judge};
use super::{Inner, RESCAN_EVERY, sender_name, watch};
use crate::backend::{StatusReport, StatusUpdate};
use dialout_model::message::{JsonMap, Message};

impl Inner {
    pub(super) fn examine(&self, message: &Message) -> Result<Option<StatusUpdate>, String> {
        let name = sender_name(message);
        let paths = self.config.paths(&name);
        // Spool first, archive second: Asterisk moves the file from one to the other. The
        // report last: once the Status line is there, the dialplan has written every line.
        let seen = if paths.spooled.exists() {
            Seen::Spooled
        } else {
            match fs::read_to_string(&paths.archived) {
                Ok(text) => match dialout_callfile::parse(&text) {
                    Ok(p) => Seen::Archived(Box::new(p)),
                    Err(e) => Seen::ArchiveUnreadable(e.to_string()),
                },
                Err(e) if e.kind() == ErrorKind::NotFound => Seen::Vanished,
                Err(e) => {
                    return Err(format!(
                        "cannot read the archive {}: {e}",
                        paths.archived.display()
                    ));
                }
            }
        };
        let report = match fs::read_to_string(&paths.report) {
            Ok(t) => Report::parse(&t),
            Err(e) if e.kind() == ErrorKind::NotFound => Report::default(),
            Err(e) => {
                return Err(format!(
                    "cannot read the report {}: {e}",
                    paths.report.display()
                ));
            }
        };
        let max_attempts = message
            .extra_sender_data
            .get("max_attempts")
            .and_then(Value::as_u64)
            .map_or(self.config.max_retries + 1, |n| n as u32);
        let Some(mut v) = judge(&seen, &report, max_attempts) else {
            return Ok(None);
        };
        // Failed attempts are kept with the message, so each retry shows in its history.
        let mut data = JsonMap::new();
        if let Some((n, reason)) = report.last_failure() {
            data.insert("failed_attempts".into(), Value::from(n));
            data.insert(
                "last_reason".into(),
                reason.map_or(Value::Null, Value::from),
            );
        }
        let recorded = message
            .extra_sender_data
            .get("failed_attempts")
            .and_then(Value::as_u64);
        let new_failure = data.get("failed_attempts").and_then(Value::as_u64) != recorded;
        if v.state == message.state && !v.is_final && !new_failure {
            return Ok(None);
        }
        let reply = report
            .ivr
            .reply(&message.interactive, v.is_final && report.answered());
        data.extend(report.ivr.sender_data());
        if v.state == dialout_model::state::State::AnsweredPartial
            && reply.answered_by == Some(dialout_model::interactive::AnsweredBy::Machine)
        {
            v.reason = "an answering machine answered; the message was not left".into();
        }
        Ok(Some(StatusUpdate {
            id: message.id,
            state: v.state,
            is_final: v.is_final,
            error: v.error,
            sender_data: data,
            reason: v.reason,
            reply,
        }))
    }

    pub(super) fn scan(&self, messages: &[&Message]) -> StatusReport {
        let mut report = StatusReport::default();
        for m in messages {
            match self.examine(m) {
                Ok(Some(u)) => report.updates.push(u),
                Ok(None) => {}
                Err(e) => report
                    .failures
                    .push(crate::backend::CheckFailure { id: m.id, error: e }),
            }
        }
        report
    }

    pub(super) fn intake(&self, pending: &[Message]) -> StatusReport {
        let mut watcher = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
        if watcher.is_none() {
            let dirs = [
                self.config.spool_dir.as_path(),
                self.config.done_dir.as_path(),
                self.config.report_dir.as_path(),
            ];
            match watch::Watcher::start(&dirs, self.wake.clone()) {
                Ok(w) => *watcher = Some(w),
                Err(e) => {
                    tracing::warn!(backend = %self.name, error = %e, "cannot watch the Asterisk directories; rescanning instead")
                }
            }
        }
        let mut last = self.last_rescan.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.is_none_or(|t| t.elapsed() >= RESCAN_EVERY);
        let names: HashSet<String> = pending.iter().map(sender_name).collect();
        let changed = match (&*watcher, due) {
            (Some(w), false) => w.take(|n| names.contains(n)),
            _ => None,
        };
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let report = match changed {
            Some(changed) => {
                let changed: HashSet<String> = changed.into_iter().collect();
                self.scan(
                    &pending
                        .iter()
                        .filter(|m| !known.contains(&m.id) || changed.contains(&sender_name(m)))
                        .collect::<Vec<_>>(),
                )
            }
            None => {
                *last = Some(Instant::now());
                if let Some(w) = &*watcher {
                    // Everything is looked at now; drop the hints.
                    let _ = w.take(|_| true);
                }
                self.scan(&pending.iter().collect::<Vec<_>>())
            }
        };
        *known = pending.iter().map(|m| m.id).collect();
        drop(known);
        drop(last);
        drop(watcher);
        self.cleanup_audio(pending);
        report
    }
}
