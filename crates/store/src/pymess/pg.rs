//! A pymess PostgreSQL database, read in one `REPEATABLE READ READ ONLY` transaction (the
//! session's transactions are read-only too): nothing can be written to it, and every page
//! comes from the same snapshot. Django's ids are `integer`: the bounds are cast, so that
//! they are bound as `int8` whatever the column's width.

use super::{PymessSource, SourceMessage, SourceRelated, SourceRow, SourceTemplate, not_pymess};
use crate::error::StoreError;
use crate::open::redact_url;
use jiff::Timestamp;
use postgres::{Client, NoTls, Row};

pub(super) struct PgSource {
    client: Client,
}

const MESSAGES: &str = "SELECT id::int8, created_at, changed_at, sent_at, recipient::text, content, \
    template_slug::text, template_id::text, state::int8, backend::text, error, extra_data::text, \
    extra_sender_data::text, tag::text, number_of_send_attempts::int8, priority::int8, is_autodialer, \
    number_of_status_check_attempts::int8, is_final_state FROM pymess_dialermessage \
    WHERE id > $1::int8 ORDER BY id LIMIT $2::int8";

const RELATED: &str = "SELECT r.dialer_message_id::int8, ct.app_label::text, ct.model::text, r.object_id \
    FROM pymess_dialermessagerelatedobject r JOIN django_content_type ct ON ct.id = r.content_type_id \
    WHERE r.dialer_message_id > $1::int8 AND r.dialer_message_id <= $2::int8 \
    ORDER BY r.dialer_message_id, r.id";

const TEMPLATES: &str = "SELECT slug::text, body, is_active, is_allowed_duplicate_messages, created_at, \
    changed_at FROM pymess_dialertemplate ORDER BY slug";

impl PgSource {
    pub(super) fn open(url: &str) -> Result<Self, StoreError> {
        let connect = |source| StoreError::Connect {
            url: redact_url(url),
            source,
        };
        let config: postgres::Config = url.parse().map_err(connect)?;
        let mut client = config.connect(NoTls).map_err(connect)?;
        client.batch_execute(
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; \
             BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?;
        for sql in [MESSAGES, RELATED, TEMPLATES] {
            client.prepare(sql).map_err(not_pymess)?;
        }
        Ok(PgSource { client })
    }
}

fn time(row: &Row, i: usize) -> Result<Timestamp, postgres::Error> {
    row.try_get(i)
}

fn message(row: &Row) -> Result<SourceMessage, postgres::Error> {
    Ok(SourceMessage {
        id: row.try_get(0)?,
        created_at: time(row, 1)?,
        changed_at: time(row, 2)?,
        sent_at: row.try_get(3)?,
        recipient: row.try_get(4)?,
        content: row.try_get(5)?,
        template_slug: row.try_get(6)?,
        template: row.try_get(7)?,
        state: row.try_get(8)?,
        backend: row.try_get(9)?,
        error: row.try_get(10)?,
        extra_data: row.try_get(11)?,
        extra_sender_data: row.try_get(12)?,
        tag: row.try_get(13)?,
        send_attempts: row.try_get(14)?,
        priority: row.try_get(15)?,
        is_autodialer: row.try_get(16)?,
        status_check_attempts: row.try_get(17)?,
        is_final_state: row.try_get(18)?,
        related: Vec::new(),
    })
}

impl PymessSource for PgSource {
    fn count(&mut self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client
            .query_one("SELECT count(*) FROM pymess_dialermessage", &[])?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn templates(&mut self) -> Result<Vec<SourceRow<SourceTemplate>>, StoreError> {
        let rows = self.client.query(TEMPLATES, &[])?;
        rows.iter()
            .map(|r| {
                Ok(Ok(SourceTemplate {
                    slug: r.try_get(0)?,
                    body: r.try_get(1)?,
                    is_active: r.try_get(2)?,
                    is_allowed_duplicate_messages: r.try_get(3)?,
                    created_at: time(r, 4)?,
                    changed_at: time(r, 5)?,
                }))
            })
            .collect()
    }

    fn messages_after(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<SourceRow<SourceMessage>>, StoreError> {
        let rows = self.client.query(MESSAGES, &[&after, &(limit as i64)])?;
        let messages: Vec<SourceRow<SourceMessage>> = rows
            .iter()
            .map(|r| message(r).map(Ok))
            .collect::<Result<_, _>>()?;
        let Some(Ok(last)) = messages.last() else {
            return Ok(messages);
        };
        let related = self
            .client
            .query(RELATED, &[&after, &last.id])?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<_, i64>(0)?,
                    SourceRelated {
                        app_label: r.try_get(1)?,
                        model: r.try_get(2)?,
                        object_id: r.try_get(3)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, postgres::Error>>()?;
        Ok(super::attach(messages, related))
    }
}
