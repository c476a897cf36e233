//! Storing and reading messages.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction};

use super::SqliteStore;
use super::rows::{self, COLS, us};
use crate::store::{FIRST_REASON, Inserted, MessageFilter, StoreError, log_created, new_message_row, same_request};
use crate::{HistoryEntry, Message, MessageId, NewMessage, RelatedObject};

impl SqliteStore {
    pub(super) fn insert_messages_impl(&self, new: &[NewMessage], now: Timestamp) -> Result<Vec<Inserted>, StoreError> {
        let inserted = self.write(|tx| new.iter().map(|n| insert_one(tx, n, now)).collect::<Result<Vec<_>, _>>())?;
        for i in inserted.iter().filter(|i| !i.existing) {
            log_created(&i.message);
        }
        Ok(inserted)
    }
}

fn insert_one(tx: &Transaction<'_>, new: &NewMessage, now: Timestamp) -> Result<Inserted, StoreError> {
    if let Some(key) = &new.idempotency_key {
        let seq: Option<i64> = tx
            .prepare_cached("SELECT seq FROM messages WHERE idempotency_key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        if let Some(seq) = seq {
            let sql = format!("SELECT {COLS} FROM messages WHERE seq = ?1");
            let (_, existing) = rows::query(tx, &sql, [seq])?.pop().ok_or_else(|| StoreError::Database("message vanished".into()))?;
            if same_request(&existing, new) {
                return Ok(Inserted { message: existing, existing: true });
            }
            return Err(StoreError::IdempotencyConflict { key: key.clone(), existing: existing.id });
        }
    }
    let m = new_message_row(new, now);
    let json = |v| serde_json::to_string(v).map_err(|e| StoreError::Database(format!("JSON data: {e}")));
    tx.prepare_cached(
        "INSERT INTO messages (id, created_at, changed_at, recipient, content, template_slug, template_id, state, \
         backend, extra_data, extra_sender_data, tag, is_final_state, priority, predictive, attempts, not_before, \
         idempotency_key, check_failures, resent_from, attempt_unresolved) \
         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '{}', ?10, 0, ?11, ?12, 0, ?13, ?14, 0, ?15, 0)",
    )?
    .execute(rusqlite::params![
        m.id.to_string(),
        us(m.created_at),
        m.recipient.as_str(),
        m.content,
        m.template_slug,
        m.template_id,
        m.state.code(),
        m.backend,
        json(&m.extra_data)?,
        m.tag.as_ref().map(|t| t.as_str()),
        m.priority.get(),
        m.predictive,
        m.not_before.map(us),
        m.idempotency_key,
        m.resent_from.map(|r| r.to_string()),
    ])?;
    let seq = tx.last_insert_rowid();
    let mut rel = tx.prepare_cached(
        "INSERT OR IGNORE INTO message_related (message_seq, kind, object_id, object_id_int) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for r in &m.related {
        rel.execute((seq, &r.kind, &r.id, r.id_int()))?;
    }
    let first = HistoryEntry { at: m.created_at, from: None, to: m.state, reason: FIRST_REASON.into() };
    rows::add_history(tx, seq, &first)?;
    Ok(Inserted { message: m, existing: false })
}

pub(super) fn list(conn: &Connection, f: &MessageFilter) -> Result<Vec<Message>, StoreError> {
    let mut sql = format!("SELECT {COLS} FROM messages WHERE 1 = 1");
    let mut params: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut push = |sql: &mut String, clause: &str, v: Box<dyn rusqlite::ToSql>| {
        params.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
    };
    if let Some(s) = f.state {
        push(&mut sql, " AND state = ?", Box::new(s.code()));
    }
    if let Some(t) = &f.tag {
        push(&mut sql, " AND tag = ?", Box::new(t.as_str().to_string()));
    }
    if let Some(b) = &f.backend {
        push(&mut sql, " AND backend = ?", Box::new(b.clone()));
    }
    if let Some(since) = f.created_since {
        push(&mut sql, " AND created_at >= ?", Box::new(us(since)));
    }
    if let Some(r) = &f.related {
        push(&mut sql, " AND seq IN (SELECT message_seq FROM message_related WHERE kind = ?", Box::new(r.kind.clone()));
        if let Some(n) = r.id_int() {
            // The integer index finds the candidates; the text keeps `007` apart from `7`.
            push(&mut sql, " AND object_id_int = ?", Box::new(n));
        }
        push(&mut sql, " AND object_id = ?)", Box::new(r.id.clone()));
    }
    sql.push_str(" ORDER BY seq DESC");
    if let Some(limit) = f.limit {
        push(&mut sql, " LIMIT ?", Box::new(limit as i64));
    }
    let refs: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.as_ref()).collect();
    Ok(rows::query(conn, &sql, refs.as_slice())?.into_iter().map(|(_, m)| m).collect())
}

pub(super) fn history(conn: &Connection, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
    let Some(seq) = rows::seq_of(conn, id)? else { return Ok(Vec::new()) };
    let mut stmt = conn.prepare_cached(
        "SELECT at, from_state, to_state, reason FROM message_history WHERE message_seq = ?1 ORDER BY id",
    )?;
    let mut rows_ = stmt.query([seq])?;
    let mut out = Vec::new();
    while let Some(r) = rows_.next()? {
        let from: Option<i64> = r.get(1)?;
        out.push(HistoryEntry {
            at: rows::ts(r.get(0)?)?,
            from: from.map(rows::state).transpose()?,
            to: rows::state(r.get(2)?)?,
            reason: r.get(3)?,
        });
    }
    Ok(out)
}

/// Exactly the same set of related objects; with none given the rule cannot apply.
pub(super) fn template_used_for(conn: &Connection, slug: &str, related: &[RelatedObject]) -> Result<bool, StoreError> {
    let mut wanted = related.to_vec();
    wanted.sort();
    wanted.dedup();
    let Some(first) = wanted.first() else { return Ok(false) };
    let mut stmt = conn.prepare_cached(
        "SELECT r.message_seq FROM message_related r JOIN messages m ON m.seq = r.message_seq \
         WHERE r.kind = ?1 AND r.object_id = ?2 AND m.template_slug = ?3",
    )?;
    let seqs = stmt.query_map((&first.kind, &first.id, slug), |r| r.get::<_, i64>(0))?.collect::<Result<Vec<_>, _>>()?;
    for seq in seqs {
        if rows::related(conn, seq)? == wanted {
            return Ok(true);
        }
    }
    Ok(false)
}
