//! Imported messages and templates (see `import_store.rs`) on SQLite: one INSERT per message
//! with every column, its key placed as `send` places it (`fast_path/keys.rs`), its related
//! objects indexed at once (never left to the tail), its source id recorded in
//! `pymess_message_ids`. That table is made on first use: a database that never imports
//! has none, and no schema version is spent on it.

use super::SqliteStore;
use super::fast_path::{keys, related};
use super::rows::{self, history_rows, related_column, to_json, us};
use crate::error::StoreError;
use crate::import_store::{ImportStore, Imported, ImportedMessage, ImportedTemplate, Texts};
use dialout_model::id::MessageId;
use dialout_model::message::{HistoryEntry, Message};
use rusqlite::{Connection, OptionalExtension, named_params};
use std::collections::BTreeSet;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS pymess_message_ids (
    source_id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    imported_at INTEGER NOT NULL
)";

const INSERT: &str = "INSERT INTO messages (n, id, created_at, changed_at, sent_at, recipient, \
     content, template_slug, template_id, state, backend, error, extra_data, extra_sender_data, tag, \
     is_final_state, priority, predictive, attempts, next_attempt_at, not_before, idempotency_key, \
     check_failures, resent_from, attempt_unresolved, related, claim_owner, claim_until, history, \
     inline_claim, time_zone) VALUES (:n, :id, :created_at, :changed_at, :sent_at, :recipient, \
     :content, :template_slug, :template_id, :state, :backend, :error, :extra_data, :sender_data, \
     :tag, :is_final, :priority, :predictive, :attempts, :next_attempt_at, :not_before, \
     :idempotency_key, :check_failures, :resent_from, :unresolved, :related, NULL, NULL, :history, \
     0, :time_zone)";

impl ImportedMessage {
    /// A message to import, with its source id, and the history after its creation. Its
    /// JSON columns are rendered here (where SQLite's rows are defined) rather than by the
    /// store while it writes.
    pub fn new(
        message: Message,
        history: Vec<HistoryEntry>,
        source_id: i64,
    ) -> Result<Self, StoreError> {
        let texts = Texts {
            id: message.id.to_string(),
            extra_data: to_json(&message.extra_data)?,
            extra_sender_data: to_json(&message.extra_sender_data)?,
            history: history_rows(&history)?.unwrap_or_else(|| "[]".into()),
            related: related_column(&message.related)?,
        };
        Ok(ImportedMessage {
            message,
            history,
            source_id,
            texts,
        })
    }
}

impl ImportStore for SqliteStore {
    fn import_templates(&self, templates: &[ImportedTemplate]) -> Result<Imported, StoreError> {
        self.write(|tx| {
            let mut out = Imported::default();
            let mut stmt = tx.prepare_cached(
                "INSERT INTO templates (slug, body, active, allow_duplicates, created_at, changed_at) \
                 VALUES (:slug, :body, :active, :allow_duplicates, :created_at, :changed_at) \
                 ON CONFLICT (slug) DO NOTHING",
            )?;
            for t in templates {
                let stored = stmt.execute(named_params! {
                    ":slug": &t.slug,
                    ":body": &t.body,
                    ":active": t.active,
                    ":allow_duplicates": t.allow_duplicates,
                    ":created_at": us(t.created_at),
                    ":changed_at": us(t.changed_at),
                })?;
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
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT id FROM templates WHERE slug = :slug")?;
            let mut out = Vec::new();
            for slug in slugs {
                let id: Option<i64> = stmt
                    .query_row(named_params! { ":slug": slug }, |r| r.get(0))
                    .optional()?;
                if let Some(id) = id {
                    out.push((slug.clone(), id));
                }
            }
            Ok(out)
        })
    }

    fn import_messages(&self, messages: &[ImportedMessage]) -> Result<Imported, StoreError> {
        if messages.is_empty() {
            return Ok(Imported::default());
        }
        self.write(|tx| {
            tx.execute_batch(TABLE)?;
            let now = us(jiff::Timestamp::now());
            let mut record = tx.prepare_cached(
                "INSERT INTO pymess_message_ids (source_id, message_id, imported_at) \
                 VALUES (:source_id, :message_id, :now) ON CONFLICT (source_id) DO NOTHING",
            )?;
            let mut insert = tx.prepare_cached(INSERT)?;
            let mut out = Imported::default();
            let mut in_flight = BTreeSet::new();
            for m in messages {
                let id = m.texts.id.as_str();
                if record.execute(named_params! {
                    ":source_id": m.source_id, ":message_id": id, ":now": now,
                })? == 0
                {
                    out.existing += 1;
                    continue;
                }
                insert_one(tx, &mut insert, m)?;
                if m.message.sent_at.is_some() && !m.message.is_final_state {
                    in_flight.insert(m.message.backend.as_str());
                }
                out.imported += 1;
            }
            let mut forget =
                tx.prepare_cached("DELETE FROM backend_cursors WHERE backend = :backend")?;
            for backend in in_flight {
                forget.execute(named_params! { ":backend": backend })?;
            }
            Ok(out)
        })
    }

    fn imported_id(&self, source_id: i64) -> Result<Option<MessageId>, StoreError> {
        self.read(|conn| {
            conn.execute_batch(TABLE)?;
            let id: Option<String> = conn
                .prepare_cached("SELECT message_id FROM pymess_message_ids WHERE source_id = :id")?
                .query_row(named_params! { ":id": source_id }, |r| r.get(0))
                .optional()?;
            id.map(|i| i.parse().map_err(|e| StoreError::corrupt("message id", e)))
                .transpose()
        })
    }
}

fn insert_one(
    tx: &Connection,
    stmt: &mut rusqlite::CachedStatement<'_>,
    imported: &ImportedMessage,
) -> Result<(), StoreError> {
    let (m, t) = (&imported.message, &imported.texts);
    let id = t.id.as_str();
    let own = keys::of(m.id);
    let (created, changed, sent) = (us(m.created_at), us(m.changed_at), m.sent_at.map(us));
    let (state, tag, priority) = (
        m.state.code(),
        m.tag.as_ref().map(|t| t.as_str()),
        m.priority.get(),
    );
    let (next, not_before) = (m.next_attempt_at.map(us), m.not_before.map(us));
    let resent_from = m.resent_from.map(|r| r.to_string());
    let mut n = own;
    loop {
        let result = rows::execute_in_order(
            stmt,
            &[
                (":n", &n),
                (":id", &id),
                (":created_at", &created),
                (":changed_at", &changed),
                (":sent_at", &sent),
                (":recipient", &m.recipient.as_str()),
                (":content", &m.content),
                (":template_slug", &m.template_slug),
                (":template_id", &m.template_id),
                (":state", &state),
                (":backend", &m.backend),
                (":error", &m.error),
                (":extra_data", &t.extra_data),
                (":sender_data", &t.extra_sender_data),
                (":tag", &tag),
                (":is_final", &m.is_final_state),
                (":priority", &priority),
                (":predictive", &m.predictive),
                (":attempts", &m.attempts),
                (":next_attempt_at", &next),
                (":not_before", &not_before),
                (":idempotency_key", &m.idempotency_key),
                (":check_failures", &m.check_failures),
                (":resent_from", &resent_from),
                (":unresolved", &m.attempt_unresolved),
                (":related", &t.related),
                (":history", &t.history),
                (":time_zone", &m.time_zone),
            ],
        );
        match result {
            Ok(_) => break,
            // Two source messages made in the same half microsecond: the next free key.
            Err(StoreError::Sqlite(e)) if keys::taken(&e) && n == own => {
                n = keys::displaced(tx, id, own)?
            }
            Err(e) => return Err(e),
        }
    }
    related::index(tx, n, &m.related)
}
