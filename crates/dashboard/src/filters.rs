//! The messages page's filters: read from the query string, echoed back into the form and
//! into the links (next page, CSV export, refresh).

use dialout_dialer::{MessageFilter, MessageId, RelatedObject, State, Tag};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct Filters {
    pub state: String,
    pub tag: String,
    pub related: String,
    pub recipient: String,
    /// The label of the callee's keys (interactive calls).
    pub answer: String,
    /// UTC: `2026-12-03`, `2026-12-03T10:00` or RFC 3339.
    pub since: String,
    pub until: String,
    /// The next page starts after this message.
    pub before: String,
}

fn some(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

/// A time as a user types it; a date or a time without a zone is UTC.
pub(crate) fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

/// What is wrong with one field of the form: its name and the words shown beside it.
pub(crate) type FieldError = (&'static str, String);

impl Filters {
    /// The store filter, or what is wrong with each field that cannot be read (shown next
    /// to that field).
    pub(crate) fn to_filter(&self, limit: Option<usize>) -> Result<MessageFilter, Vec<FieldError>> {
        let mut f = MessageFilter {
            limit,
            ..Default::default()
        };
        let mut errors = Vec::new();
        let mut check = |field: &'static str, r: Result<(), String>| {
            if let Err(e) = r {
                errors.push((field, e));
            }
        };
        if let Some(s) = some(&self.state) {
            check(
                "state",
                State::parse(s)
                    .map(|st| f.state = Some(st))
                    .ok_or_else(|| format!("unknown state {s:?}")),
            );
        }
        if let Some(t) = some(&self.tag) {
            check(
                "tag",
                Tag::new(t)
                    .map(|t| f.tag = Some(t))
                    .map_err(|e| e.to_string()),
            );
        }
        if let Some(r) = some(&self.related) {
            check(
                "related",
                r.parse::<RelatedObject>()
                    .map(|r| f.related = Some(r))
                    .map_err(|e| e.to_string()),
            );
        }
        if let Some(r) = some(&self.recipient) {
            // Stored as E.164: spaces and dashes a user types are dropped.
            f.recipient = Some(r.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
        }
        if let Some(a) = some(&self.answer) {
            f.answer = Some(a.to_string());
        }
        for (field, text, slot) in [
            ("since", &self.since, &mut f.created_since),
            ("until", &self.until, &mut f.created_before),
        ] {
            if let Some(s) = some(text) {
                check(
                    field,
                    parse_time(s).map(|t| *slot = Some(t)).ok_or_else(|| {
                        format!("cannot read time {s:?} (write 2026-12-03 or 2026-12-03T10:00)")
                    }),
                );
            }
        }
        if let Some(b) = some(&self.before) {
            check(
                "before",
                b.parse::<MessageId>()
                    .map(|id| f.before = Some(id))
                    .map_err(|e| format!("page cursor: {e}")),
            );
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(errors)
        }
    }

    /// The query string of these filters, without the page cursor.
    pub(crate) fn query(&self) -> String {
        let mut f = self.clone();
        f.before.clear();
        let pairs: Vec<(&str, &str)> = [
            ("state", f.state.as_str()),
            ("tag", f.tag.as_str()),
            ("related", f.related.as_str()),
            ("recipient", f.recipient.as_str()),
            ("answer", f.answer.as_str()),
            ("since", f.since.as_str()),
            ("until", f.until.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}
