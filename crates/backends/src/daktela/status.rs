//! The bulk status check: list dialout's record types changed since the last check, a
//! thousand records a request, and map each to its message.
//!
//! The cursor is a JSON object from record type to the last `edited` value seen for it, as
//! Daktela wrote it (the instance's local time): `{"tts":"2026-11-21 10:00:00"}`. A bare
//! `2026-11-21 10:00:00` is read as that value for every type. Types are tracked apart
//! because they are listed by separate requests at different moments.

use std::collections::{BTreeMap, HashMap};

use jiff::SignedDuration;
use jiff::civil::DateTime;
use serde_json::Value;

use super::Inner;
use super::mapping::Mapped;
use super::publish::to_backend_error;
use super::record::{self, format_local, parse_local};
use crate::backend::{BackendError, CheckFailure, StatusReport, StatusUpdate};
use dialout_model::message::Message;

/// Daktela caps a page at this.
pub const TAKE: usize = 1000;
/// `edited` has one-second resolution: re-read the last second so that a record edited in
/// the same second after a page was read is not skipped.
const OVERLAP: SignedDuration = SignedDuration::from_secs(1);
/// A record can be edited between its creation and the moment dialout records the message
/// as sent (and so pending): a newly sent message is looked at from a little before that.
const LAG: SignedDuration = SignedDuration::from_mins(2);
const MAX_PAGES: usize = 100_000;
const FIELDS: [&str; 5] = ["name", "record_type", "action", "statuses", "edited"];

type Cursor = BTreeMap<String, DateTime>;

fn parse_cursor(text: &str) -> Option<Cursor> {
    if let Some(t) = parse_local(text) {
        return Some(BTreeMap::from([(String::new(), t)]));
    }
    let obj: serde_json::Map<String, Value> = serde_json::from_str(text).ok()?;
    obj.into_iter()
        .map(|(k, v)| Some((k, parse_local(v.as_str()?)?)))
        .collect()
}

fn cursor_text(c: &Cursor) -> String {
    let obj: serde_json::Map<String, Value> = c
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(format_local(*v))))
        .collect();
    Value::Object(obj).to_string()
}

impl Inner {
    pub(super) async fn check(
        &self,
        messages: &[Message],
        cursor: Option<&str>,
    ) -> Result<StatusReport, BackendError> {
        let mut report = StatusReport::default();
        let mut cursors: Cursor = match cursor.map(|c| (c, parse_cursor(c))) {
            None => Cursor::new(),
            Some((_, Some(c))) => c,
            Some((text, None)) => {
                report.warnings.push(format!(
                    "unreadable status-check cursor {text:?}: starting from the messages' own times"
                ));
                Cursor::new()
            }
        };
        let fallback = cursors.remove("");

        // Pending messages by record type, and by record name.
        let mut by_type: BTreeMap<String, Vec<&Message>> = BTreeMap::new();
        let mut by_name: HashMap<&str, &Message> = HashMap::new();
        for m in messages {
            let Some(name) = m.extra_sender_data.get("name").and_then(Value::as_str) else {
                report.failures.push(CheckFailure {
                    id: m.id,
                    error: "no Daktela record name is stored with the message".into(),
                });
                continue;
            };
            let rt = match m
                .extra_sender_data
                .get("record_type")
                .and_then(Value::as_str)
            {
                Some(t) => t.to_string(),
                None => match self.record_type(m) {
                    Ok(t) => t.to_string(),
                    Err(e) => {
                        report.failures.push(CheckFailure { id: m.id, error: e });
                        continue;
                    }
                },
            };
            by_name.insert(name, m);
            by_type.entry(rt).or_default().push(m);
        }

        let mut latest: HashMap<String, Value> = HashMap::new();
        let mut requests = 0usize;
        for (rt, pending) in &by_type {
            let cursor = cursors.get(rt).copied().or(fallback);
            let start = pending
                .iter()
                .map(|m| self.need_from(m, cursor))
                .min()
                .expect("a type has messages");
            let seen = self
                .list_changed(rt, start, &mut latest, &mut report, &mut requests)
                .await?;
            if let Some(seen) = seen {
                let next = cursor.map_or(seen, |c| c.max(seen));
                cursors.insert(rt.clone(), next);
            } else if let Some(c) = cursor {
                cursors.insert(rt.clone(), c);
            }
        }

        for (name, r) in &latest {
            let Some(m) = by_name.get(name.as_str()) else {
                continue;
            };
            self.apply(m, name, r, &mut report);
        }
        if !cursors.is_empty() {
            report.cursor = Some(cursor_text(&cursors));
        }
        tracing::info!(
            backend = %self.name,
            messages = messages.len(),
            requests,
            records = latest.len(),
            updates = report.updates.len(),
            failures = report.failures.len(),
            "Daktela status check done"
        );
        Ok(report)
    }

    /// From which `edited` value on this message's record must be read.
    fn need_from(&self, m: &Message, cursor: Option<DateTime>) -> DateTime {
        // The record's own `created` is in Daktela's clock and zone; the message's times
        // are converted with the configured zone only when it is missing.
        let base = m
            .extra_sender_data
            .get("created")
            .and_then(Value::as_str)
            .and_then(parse_local)
            .or_else(|| parse_local(&self.local_time(m.sent_at.unwrap_or(m.created_at))))
            .unwrap_or(DateTime::MIN);
        let early = base.checked_sub(LAG).unwrap_or(DateTime::MIN);
        match cursor {
            Some(c) if base <= c.checked_sub(LAG).unwrap_or(DateTime::MIN) => {
                c.checked_sub(OVERLAP).unwrap_or(c)
            }
            _ => early,
        }
    }

    /// Lists one record type from `start`, keeping the newest copy of each record of a
    /// pending message. Returns the last `edited` seen.
    async fn list_changed(
        &self,
        record_type: &str,
        mut start: DateTime,
        latest: &mut HashMap<String, Value>,
        report: &mut StatusReport,
        requests: &mut usize,
    ) -> Result<Option<DateTime>, BackendError> {
        let mut skip = 0usize;
        let mut last_seen: Option<DateTime> = None;
        for _ in 0..MAX_PAGES {
            let filters = [
                ("record_type", "eq", record_type.to_string()),
                ("edited", "gte", format_local(start)),
            ];
            let params = record::list_params(&filters, &FIELDS, "edited", skip, TAKE);
            *requests += 1;
            let page = self.client.list(&params).await.map_err(to_backend_error)?;
            let mut page_last: Option<DateTime> = None;
            for r in &page.data {
                let Some(name) = record::name(r) else {
                    report
                        .warnings
                        .push("Daktela listed a record without a name; ignored".into());
                    continue;
                };
                let edited = record::edited(r);
                match edited {
                    Some(e) => {
                        page_last = Some(page_last.map_or(e, |p| p.max(e)));
                        last_seen = Some(last_seen.map_or(e, |p| p.max(e)));
                    }
                    None => report.warnings.push(format!(
                        "Daktela record {name} has no readable `edited` time"
                    )),
                }
                let newer = match latest.get(name) {
                    Some(old) => record::edited(old) <= edited,
                    None => true,
                };
                if newer {
                    latest.insert(name.to_string(), r.clone());
                }
            }
            if page.data.len() < TAKE {
                return Ok(last_seen);
            }
            let Some(last) = page_last else {
                skip += page.data.len();
                continue;
            };
            // Page by the `edited` values returned, re-reading the last second but one. When
            // that would re-read more than half a page (a crowded second), continue from
            // the last second itself, skipping what this page showed of it.
            let times: Vec<DateTime> = page.data.iter().filter_map(record::edited).collect();
            let overlap_from = last.checked_sub(OVERLAP).unwrap_or(last);
            let reread = times.iter().filter(|t| **t >= overlap_from).count();
            if overlap_from > start && reread <= TAKE / 2 {
                start = overlap_from;
                skip = 0;
            } else {
                let in_last = times.iter().filter(|t| **t == last).count();
                skip = if last == start {
                    skip + in_last
                } else {
                    in_last
                };
                start = last;
            }
        }
        Err(BackendError::Outage(format!(
            "Daktela listed more than {MAX_PAGES} pages of {record_type}; stopped"
        )))
    }

    fn apply(&self, m: &Message, name: &str, r: &Value, report: &mut StatusReport) {
        // Seen already (at publish, or by an earlier check; the overlap re-reads records).
        // `edited` alone cannot tell: it has one-second resolution.
        let stored = |k: &str| m.extra_sender_data.get(k);
        let known = stored("edited")
            .and_then(Value::as_str)
            .and_then(parse_local);
        if known.is_some()
            && known == record::edited(r)
            && stored("action") == r.get("action")
            && stored("statuses") == r.get("statuses")
        {
            return;
        }
        let action = record::action(r);
        let status = record::first_status(r);
        match self
            .config
            .mapping
            .map(action.as_deref(), status.as_deref())
        {
            Mapped::State {
                state,
                is_final,
                warning,
            } => {
                if let Some(w) = warning {
                    report
                        .warnings
                        .push(format!("message {}: Daktela record {name}: {w}", m.id));
                }
                if state != m.state || is_final != m.is_final_state {
                    let reason = format!(
                        "Daktela record {name}: action {}, status {}",
                        action.as_deref().unwrap_or("none"),
                        status.as_deref().unwrap_or("none")
                    );
                    report.updates.push(StatusUpdate {
                        id: m.id,
                        state,
                        is_final,
                        error: None,
                        sender_data: record::sender_data(r),
                        reason,
                        reply: dialout_model::interactive::Reply::default(),
                    });
                }
            }
            Mapped::Skip(w) => report
                .warnings
                .push(format!("message {}: Daktela record {name}: {w}", m.id)),
            Mapped::Fail(e) => report.failures.push(CheckFailure {
                id: m.id,
                error: format!("Daktela record {name}: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_bare_form() {
        let c =
            parse_cursor(r#"{"tts":"2026-11-21 10:00:00","pred":"2026-11-20 23:59:59"}"#).unwrap();
        assert_eq!(
            cursor_text(&c),
            r#"{"pred":"2026-11-20 23:59:59","tts":"2026-11-21 10:00:00"}"#
        );
        let bare = parse_cursor("2026-11-21 10:00:00").unwrap();
        assert_eq!(format_local(bare[""]), "2026-11-21 10:00:00");
        assert!(parse_cursor("garbage").is_none());
        assert!(parse_cursor(r#"{"tts": 5}"#).is_none());
    }
}
