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

impl Filters {
    /// The store filter, or what is wrong with the input (shown above the table).
    pub(crate) fn to_filter(&self, limit: Option<usize>) -> Result<MessageFilter, String> {
        let mut f = MessageFilter {
            limit,
            ..Default::default()
        };
        if let Some(s) = some(&self.state) {
            f.state = Some(State::parse(s).ok_or_else(|| format!("unknown state {s:?}"))?);
        }
        if let Some(t) = some(&self.tag) {
            f.tag = Some(Tag::new(t).map_err(|e| e.to_string())?);
        }
        if let Some(r) = some(&self.related) {
            f.related = Some(r.parse::<RelatedObject>().map_err(|e| e.to_string())?);
        }
        if let Some(r) = some(&self.recipient) {
            // Stored as E.164: spaces and dashes a user types are dropped.
            f.recipient = Some(r.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
        }
        if let Some(s) = some(&self.since) {
            f.created_since = Some(parse_time(s).ok_or_else(|| format!("cannot read time {s:?}"))?);
        }
        if let Some(s) = some(&self.until) {
            f.created_before =
                Some(parse_time(s).ok_or_else(|| format!("cannot read time {s:?}"))?);
        }
        if let Some(b) = some(&self.before) {
            f.before = Some(
                b.parse::<MessageId>()
                    .map_err(|e| format!("page cursor: {e}"))?,
            );
        }
        Ok(f)
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
            ("since", f.since.as_str()),
            ("until", f.until.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}
