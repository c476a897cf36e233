//! Imported messages and templates (see `import_store.rs`) on PostgreSQL: a batch is a few
//! statements whatever its size (arrays turned into rows by `unnest`, as in `batch.rs`).
//! Source ids are recorded in `pymess_message_ids`, made on first use.

use super::PgStore;
use crate::error::StoreError;
use crate::import_store::{ImportStore, Imported, ImportedMessage, ImportedTemplate};
use dialout_model::id::MessageId;
use dialout_model::message::JsonMap;
use jiff::Timestamp;
use postgres::types::Json;
use std::collections::{BTreeSet, HashSet};
use uuid::Uuid;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS pymess_message_ids (
    source_id BIGINT PRIMARY KEY,
    message_id UUID NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
)";

const INSERT_MESSAGES: &str = "INSERT INTO messages (id, created_at, changed_at, sent_at, recipient, \
     content, template_slug, template_id, state, backend, error, extra_data, extra_sender_data, tag, \
     is_final_state, priority, predictive, attempts, next_attempt_at, not_before, idempotency_key, \
     check_failures, resent_from, attempt_unresolved, time_zone) \
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[], \
     $5::text[], $6::text[], $7::text[], $8::int8[], $9::int2[], $10::text[], $11::text[], \
     $12::jsonb[], $13::jsonb[], $14::text[], $15::bool[], $16::int2[], $17::bool[], $18::int4[], \
     $19::timestamptz[], $20::timestamptz[], $21::text[], $22::int4[], $23::uuid[], $24::bool[], \
     $25::text[])";

impl ImportStore for PgStore {
    fn import_templates(&self, templates: &[ImportedTemplate]) -> Result<Imported, StoreError> {
        self.write(|db| {
            let mut out = Imported::default();
            for t in templates {
                let stored = db.execute(
                    "INSERT INTO templates (slug, body, active, allow_duplicates, created_at, changed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING",
                    &[
                        &t.slug,
                        &t.body,
                        &t.active,
                        &t.allow_duplicates,
                        &t.created_at,
                        &t.changed_at,
                    ],
                )?;
                if stored == 1 {
                    out.imported += 1;
                } else {
                    out.existing += 1;
                }
            }
            Ok(out)
        })
    }

    fn template_ids(&self, slugs: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
        let slugs = slugs.to_vec();
        self.read(move |db| {
            db.query(
                "SELECT slug, id FROM templates WHERE slug = ANY($1)",
                &[&slugs],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    fn import_messages(&self, messages: &[ImportedMessage]) -> Result<Imported, StoreError> {
        if messages.is_empty() {
            return Ok(Imported::default());
        }
        self.write(|db| {
            db.execute(TABLE, &[])?;
            let sources: Vec<i64> = messages.iter().map(|m| m.source_id).collect();
            let ids: Vec<Uuid> = messages.iter().map(|m| m.message.id.as_uuid()).collect();
            let new: HashSet<i64> = db
                .query(
                    "INSERT INTO pymess_message_ids (source_id, message_id, imported_at) \
                     SELECT s, m, now() FROM unnest($1::int8[], $2::uuid[]) AS u(s, m) \
                     ON CONFLICT (source_id) DO NOTHING RETURNING source_id",
                    &[&sources, &ids],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let rows: Vec<&ImportedMessage> = messages
                .iter()
                .filter(|m| new.contains(&m.source_id))
                .collect();
            insert_rows(db, &rows)?;
            let in_flight: BTreeSet<&str> = rows
                .iter()
                .map(|i| &i.message)
                .filter(|m| m.sent_at.is_some() && !m.is_final_state)
                .map(|m| m.backend.as_str())
                .collect();
            let in_flight: Vec<&str> = in_flight.into_iter().collect();
            if !in_flight.is_empty() {
                db.execute(
                    "DELETE FROM backend_cursors WHERE backend = ANY($1)",
                    &[&in_flight],
                )?;
            }
            Ok(Imported {
                imported: rows.len(),
                existing: messages.len() - rows.len(),
            })
        })
    }

    fn imported_id(&self, source_id: i64) -> Result<Option<MessageId>, StoreError> {
        self.write(|db| {
            db.execute(TABLE, &[])?;
            db.query_opt(
                "SELECT message_id FROM pymess_message_ids WHERE source_id = $1",
                &[&source_id],
            )?
            .map(|r| Ok(MessageId::from_uuid(r.try_get(0)?)))
            .transpose()
        })
    }
}

type Tx<'a, 'b> = super::Db<'a, postgres::Transaction<'b>>;

/// The messages, their related objects and history; the history's webhook events (made by
/// the outbox trigger when an endpoint is active) are taken back: an import is no event.
fn insert_rows(db: &mut Tx<'_, '_>, rows: &[&ImportedMessage]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ms: Vec<&dialout_model::message::Message> = rows.iter().map(|i| &i.message).collect();
    let ids: Vec<Uuid> = ms.iter().map(|m| m.id.as_uuid()).collect();
    let col = |f: fn(&dialout_model::message::Message) -> Timestamp| -> Vec<Timestamp> {
        ms.iter().map(|m| f(m)).collect()
    };
    let (created, changed) = (col(|m| m.created_at), col(|m| m.changed_at));
    let opt = |f: fn(&dialout_model::message::Message) -> Option<Timestamp>| {
        ms.iter().map(|m| f(m)).collect::<Vec<_>>()
    };
    let (sent, next, not_before) = (
        opt(|m| m.sent_at),
        opt(|m| m.next_attempt_at),
        opt(|m| m.not_before),
    );
    let recipient: Vec<&str> = ms.iter().map(|m| m.recipient.as_str()).collect();
    let content: Vec<&str> = ms.iter().map(|m| m.content.as_str()).collect();
    let slug: Vec<Option<&str>> = ms.iter().map(|m| m.template_slug.as_deref()).collect();
    let template_id: Vec<Option<i64>> = ms.iter().map(|m| m.template_id).collect();
    let state: Vec<i16> = ms.iter().map(|m| m.state.code()).collect();
    let backend: Vec<&str> = ms.iter().map(|m| m.backend.as_str()).collect();
    let error: Vec<Option<&str>> = ms.iter().map(|m| m.error.as_deref()).collect();
    let extra: Vec<Json<&JsonMap>> = ms.iter().map(|m| Json(&m.extra_data)).collect();
    let sender: Vec<Json<&JsonMap>> = ms.iter().map(|m| Json(&m.extra_sender_data)).collect();
    let tag: Vec<Option<&str>> = ms
        .iter()
        .map(|m| m.tag.as_ref().map(|t| t.as_str()))
        .collect();
    let is_final: Vec<bool> = ms.iter().map(|m| m.is_final_state).collect();
    let priority: Vec<i16> = ms.iter().map(|m| i16::from(m.priority.get())).collect();
    let predictive: Vec<bool> = ms.iter().map(|m| m.predictive).collect();
    let attempts: Vec<i32> = ms.iter().map(|m| m.attempts as i32).collect();
    let idem: Vec<Option<&str>> = ms.iter().map(|m| m.idempotency_key.as_deref()).collect();
    let failures: Vec<i32> = ms.iter().map(|m| m.check_failures as i32).collect();
    let resent: Vec<Option<Uuid>> = ms
        .iter()
        .map(|m| m.resent_from.map(|r| r.as_uuid()))
        .collect();
    let unresolved: Vec<bool> = ms.iter().map(|m| m.attempt_unresolved).collect();
    let time_zone: Vec<Option<&str>> = ms.iter().map(|m| m.time_zone.as_deref()).collect();
    db.execute(
        INSERT_MESSAGES,
        &[
            &ids,
            &created,
            &changed,
            &sent,
            &recipient,
            &content,
            &slug,
            &template_id,
            &state,
            &backend,
            &error,
            &extra,
            &sender,
            &tag,
            &is_final,
            &priority,
            &predictive,
            &attempts,
            &next,
            &not_before,
            &idem,
            &failures,
            &resent,
            &unresolved,
            &time_zone,
        ],
    )?;
    let (mut r_id, mut r_kind, mut r_obj, mut r_int) = (vec![], vec![], vec![], vec![]);
    let (mut h_id, mut h_at, mut h_from, mut h_to, mut h_reason) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in rows {
        for r in &i.message.related {
            r_id.push(i.message.id.as_uuid());
            r_kind.push(r.kind.as_str());
            r_obj.push(r.id.as_str());
            r_int.push(r.id_int());
        }
        for h in &i.history {
            h_id.push(i.message.id.as_uuid());
            h_at.push(h.at);
            h_from.push(h.from.map(|s| s.code()));
            h_to.push(h.to.code());
            h_reason.push(h.reason.as_str());
        }
    }
    if !r_id.is_empty() {
        db.execute(
            "INSERT INTO message_related (message_id, kind, object_id, object_id_int) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int8[]) ON CONFLICT DO NOTHING",
            &[&r_id, &r_kind, &r_obj, &r_int],
        )?;
    }
    if !h_id.is_empty() {
        db.execute(
            "INSERT INTO message_history (message_id, at, from_state, to_state, reason) \
             SELECT m, at, f, t, r FROM unnest($1::uuid[], $2::timestamptz[], $3::int2[], $4::int2[], $5::text[]) \
             WITH ORDINALITY AS u(m, at, f, t, r, o) ORDER BY o",
            &[&h_id, &h_at, &h_from, &h_to, &h_reason],
        )?;
        db.execute(
            "DELETE FROM webhook_deliveries WHERE message_id = ANY($1) \
             AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE active)",
            &[&ids],
        )?;
    }
    Ok(())
}
