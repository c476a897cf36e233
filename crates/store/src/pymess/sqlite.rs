//! A pymess SQLite file, opened read-only (`SQLITE_OPEN_READ_ONLY`): nothing is written to
//! it, not even a journal. The pages are read in one read transaction, a consistent snapshot.

use super::{
    PymessSource, SourceMessage, SourceRelated, SourceRow, SourceTemplate, Unreadable, attach,
    not_pymess, parse_time,
};
use crate::error::StoreError;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OpenFlags, Row};
use std::path::Path;

pub(super) struct SqliteSource {
    conn: Connection,
    zone: TimeZone,
}

const MESSAGES: &str = "SELECT id, created_at, changed_at, sent_at, recipient, content, \
    template_slug, template_id, state, backend, error, extra_data, extra_sender_data, tag, \
    number_of_send_attempts, priority, is_autodialer, number_of_status_check_attempts, \
    is_final_state FROM pymess_dialermessage WHERE id > ?1 ORDER BY id LIMIT ?2";

const RELATED: &str = "SELECT r.dialer_message_id, ct.app_label, ct.model, r.object_id \
    FROM pymess_dialermessagerelatedobject r JOIN django_content_type ct ON ct.id = r.content_type_id \
    WHERE r.dialer_message_id > ?1 AND r.dialer_message_id <= ?2 ORDER BY r.dialer_message_id, r.id";

const TEMPLATES: &str = "SELECT slug, body, is_active, is_allowed_duplicate_messages, created_at, \
    changed_at FROM pymess_dialertemplate ORDER BY slug";

impl SqliteSource {
    pub(super) fn open(path: &Path, zone: TimeZone) -> Result<Self, StoreError> {
        let cannot = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.to_path_buf(),
            source: e.to_string().into(),
        };
        if !path.is_file() {
            return Err(cannot(&"no such file"));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| cannot(&e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // The first statement reads the file: one that is not SQLite fails here.
        conn.execute_batch("BEGIN").map_err(|e| cannot(&e))?;
        conn.prepare(MESSAGES).map_err(not_pymess)?;
        conn.prepare(RELATED).map_err(not_pymess)?;
        conn.prepare(TEMPLATES).map_err(not_pymess)?;
        Ok(SqliteSource { conn, zone })
    }

    fn time(&self, row: &Row<'_>, i: usize) -> Result<Option<jiff::Timestamp>, String> {
        // Read in place: no string is made for a time.
        let text = row
            .get_ref(i)
            .map_err(|e| e.to_string())?
            .as_str_or_null()
            .map_err(|e| e.to_string())?;
        text.map(|t| parse_time(t, &self.zone)).transpose()
    }

    fn message(&self, row: &Row<'_>) -> rusqlite::Result<SourceRow<SourceMessage>> {
        let id: i64 = row.get(0)?;
        let required = |i: usize, what: &str| match self.time(row, i) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(format!("{what} is empty")),
            Err(e) => Err(format!("{what}: {e}")),
        };
        let times = (|| {
            let created = required(1, "created_at")?;
            let changed = required(2, "changed_at")?;
            let sent = self.time(row, 3).map_err(|e| format!("sent_at: {e}"))?;
            Ok::<_, String>((created, changed, sent))
        })();
        let (created_at, changed_at, sent_at) = match times {
            Ok(t) => t,
            Err(reason) => {
                return Ok(Err(Unreadable {
                    id: id.to_string(),
                    reason,
                }));
            }
        };
        Ok(Ok(SourceMessage {
            id,
            created_at,
            changed_at,
            sent_at,
            recipient: row.get(4)?,
            content: row.get(5)?,
            template_slug: row.get(6)?,
            template: row.get(7)?,
            state: row.get(8)?,
            backend: row.get(9)?,
            error: row.get(10)?,
            extra_data: row.get(11)?,
            extra_sender_data: row.get(12)?,
            tag: row.get(13)?,
            send_attempts: row.get(14)?,
            priority: row.get(15)?,
            is_autodialer: row.get(16)?,
            status_check_attempts: row.get(17)?,
            is_final_state: row.get(18)?,
            related: Vec::new(),
        }))
    }
}

impl PymessSource for SqliteSource {
    fn count(&mut self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM pymess_dialermessage", [], |r| {
                r.get(0)
            })?;
        Ok(n as u64)
    }

    fn templates(&mut self) -> Result<Vec<SourceRow<SourceTemplate>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(TEMPLATES)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let slug: String = row.get(0)?;
            let times = (|| {
                let c = self.time(row, 4)?.ok_or("created_at is empty")?;
                let ch = self.time(row, 5)?.ok_or("changed_at is empty")?;
                Ok::<_, String>((c, ch))
            })();
            out.push(match times {
                Ok((created_at, changed_at)) => Ok(SourceTemplate {
                    slug,
                    body: row.get(1)?,
                    is_active: row.get(2)?,
                    is_allowed_duplicate_messages: row.get(3)?,
                    created_at,
                    changed_at,
                }),
                Err(reason) => Err(Unreadable { id: slug, reason }),
            });
        }
        Ok(out)
    }

    fn messages_after(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SourceRow<SourceMessage>>, StoreError> {
        let mut messages = Vec::with_capacity(limit);
        {
            let mut stmt = self.conn.prepare_cached(MESSAGES)?;
            let mut rows = stmt.query((after, limit as i64))?;
            while let Some(row) = rows.next()? {
                messages.push(self.message(row)?);
            }
        }
        let last = match messages.last() {
            Some(Ok(m)) => m.id,
            Some(Err(u)) => u.id.parse().unwrap_or(i64::MAX),
            None => return Ok(messages),
        };
        let mut stmt = self.conn.prepare_cached(RELATED)?;
        let related = stmt
            .query_map((after, last), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    SourceRelated {
                        app_label: r.get(1)?,
                        model: r.get(2)?,
                        object_id: r.get(3)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(attach(messages, related))
    }
}
