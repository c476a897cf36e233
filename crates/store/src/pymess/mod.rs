//! Reading a django-pymess 0.7 database (SQLite or PostgreSQL), read-only: its dialer
//! messages (`pymess_dialermessage`), their related objects
//! (`pymess_dialermessagerelatedobject`: a `content_type` from `django_content_type` and an
//! `object_id`) and its dialer templates (`pymess_dialertemplate`, keyed by slug). Rows come
//! as pymess wrote them; what dialout makes of them is decided by the caller.

mod pg;
mod sqlite;

use crate::error::StoreError;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A dialer message as pymess stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceMessage {
    pub id: i64,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub recipient: String,
    pub content: Option<String>,
    pub template_slug: Option<String>,
    /// The template link: pymess keys templates by slug.
    pub template: Option<String>,
    pub state: i64,
    /// The backend's Python class (`pymess.backend.dialer.daktela.DaktelaDialerBackend`);
    /// None before any backend handled the message.
    pub backend: Option<String>,
    pub error: Option<String>,
    /// JSON text, or None for SQL NULL.
    pub extra_data: Option<String>,
    pub extra_sender_data: Option<String>,
    pub tag: Option<String>,
    pub send_attempts: i64,
    pub priority: i64,
    pub is_autodialer: bool,
    pub status_check_attempts: i64,
    pub is_final_state: bool,
    pub related: Vec<SourceRelated>,
}

/// A related object: its Django content type and id.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRelated {
    pub app_label: String,
    pub model: String,
    pub object_id: String,
}

/// A dialer template as pymess stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTemplate {
    pub slug: String,
    pub body: Option<String>,
    pub is_active: bool,
    pub is_allowed_duplicate_messages: bool,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
}

/// A row that could not be read as pymess writes it (a time that is no time, say).
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    /// Its primary key: the message id, or the template slug.
    pub id: String,
    pub reason: String,
}

pub type SourceRow<T> = Result<T, Unreadable>;

/// An open pymess database, read in one read-only snapshot where the database has them.
pub trait PymessSource: Send {
    /// How many dialer messages there are.
    fn count(&mut self) -> Result<u64, StoreError>;
    fn templates(&mut self) -> Result<Vec<SourceRow<SourceTemplate>>, StoreError>;
    /// Up to `limit` messages with ids above `after`, in id order, with their related objects.
    fn messages_after(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SourceRow<SourceMessage>>, StoreError>;
}

/// Opens a pymess database read-only: `sqlite://PATH` (or `sqlite:///abs/path`) or
/// `postgres://...`. SQLite keeps times as text without a zone: they are read in
/// `naive_zone` (UTC where Django had `USE_TZ = True`).
pub fn open_source(url: &str, naive_zone: TimeZone) -> Result<Box<dyn PymessSource>, StoreError> {
    if let Some(path) = crate::open::sqlite_path(url) {
        Ok(Box::new(sqlite::SqliteSource::open(path, naive_zone)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(pg::PgSource::open(url)?))
    } else {
        Err(StoreError::Url {
            url: crate::open::redact_url(url),
            reason: "expected sqlite://PATH or postgres://USER@HOST/DATABASE".into(),
        })
    }
}

/// A Django time as SQLite keeps it (`2026-05-01 09:30:00.123456`, sometimes with an
/// offset), read in `zone` when it has none.
pub(crate) fn parse_time(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let t = text.trim();
    // Django's SQLite backend writes `YYYY-MM-DD HH:MM:SS[.ffffff]` with no offset: such a
    // text goes straight to the civil parse (a failed parse as a timestamp costs an error
    // value, three times a row over an import).
    let offset = t
        .get(10..)
        .is_some_and(|rest| rest.contains(['+', '-', 'Z', 'z']));
    if offset && let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    let civil: jiff::civil::DateTime = t
        .parse()
        .map_err(|e| format!("unreadable time {text:?}: {e}"))?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| format!("time {text:?} in {}: {e}", zone.iana_name().unwrap_or("?")))
}

/// The messages of one page with their related objects attached (both sorted by id).
pub(crate) fn attach(
    mut rows: Vec<SourceRow<SourceMessage>>,
    related: Vec<(i64, SourceRelated)>,
) -> Vec<SourceRow<SourceMessage>> {
    let mut related = related.into_iter().peekable();
    for row in rows.iter_mut().flatten() {
        while related.peek().is_some_and(|(id, _)| *id < row.id) {
            related.next();
        }
        while let Some((_, r)) = related.next_if(|(id, _)| *id == row.id) {
            row.related.push(r);
        }
    }
    rows
}

/// Says that the database is not what `import-pymess` reads.
pub(crate) fn not_pymess(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(
        "the pymess database (expected django-pymess 0.7's tables pymess_dialermessage, \
         pymess_dialermessagerelatedobject, pymess_dialertemplate and django_content_type)",
        e,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_times_with_and_without_zone() {
        let utc = TimeZone::UTC;
        assert_eq!(
            parse_time("2026-05-01 09:30:00.123456", &utc).unwrap(),
            "2026-05-01T09:30:00.123456Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_time("2026-05-01 09:30:00", &utc).unwrap(),
            "2026-05-01T09:30:00Z".parse::<Timestamp>().unwrap()
        );
        let prague = TimeZone::get("Europe/Prague").unwrap();
        assert_eq!(
            parse_time("2026-05-01 11:30:00", &prague).unwrap(),
            "2026-05-01T09:30:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_time("2026-05-01 11:30:00+02:00", &utc).unwrap(),
            "2026-05-01T09:30:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_time("yesterday", &utc).is_err());
    }
}
