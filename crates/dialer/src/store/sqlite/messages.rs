//! Storing and reading messages.

use jiff::Timestamp;
use rusqlite::Connection;

use super::SqliteStore;
use super::rows::{self, COLS, related_column, to_json, us};
use crate::store::{
    Inserted, MessageFilter, StoreError, creation_entry, log_created, new_message_row, same_request,
};
use crate::{HistoryEntry, Message, MessageId, NewMessage, RelatedObject};

/// A claim to take with the insert: owner, lease, and whether the first attempt begins.
pub(super) type Claim<'a> = Option<(&'a str, Timestamp, bool)>;

impl SqliteStore {
    pub(super) fn insert_impl(
        &self,
        new: &[NewMessage],
        now: Timestamp,
        claim: Claim<'_>,
    ) -> Result<Vec<Inserted>, StoreError> {
        let inserted = self.write(|tx| {
            // Looked up once per batch, not once per message.
            let mut st = InsertStatements::new(tx)?;
            new.iter()
                .map(|n| insert_one(tx, &mut st, n, now, claim))
                .collect::<Result<Vec<_>, _>>()
        })?;
        for i in inserted.iter().filter(|i| !i.existing) {
            log_created(&i.message);
        }
        Ok(inserted)
    }

    pub(super) fn insert_chunks_impl(
        &self,
        now: Timestamp,
        next: &mut dyn FnMut() -> Option<Result<Vec<NewMessage>, StoreError>>,
    ) -> Result<Vec<Inserted>, StoreError> {
        let inserted = self.write(|tx| {
            let mut st = InsertStatements::new(tx)?;
            let mut out = Vec::new();
            // An Err returns before the commit: the transaction rolls back, nothing stored.
            while let Some(chunk) = next() {
                for n in &chunk? {
                    out.push(insert_one(tx, &mut st, n, now, None)?);
                }
            }
            Ok(out)
        })?;
        for i in inserted.iter().filter(|i| !i.existing) {
            log_created(&i.message);
        }
        Ok(inserted)
    }

    pub(super) fn insert_unique_impl(
        &self,
        new: &NewMessage,
        now: Timestamp,
        claim: Claim<'_>,
    ) -> Result<Option<Inserted>, StoreError> {
        let slug = new.template_slug.as_deref().unwrap_or_default();
        let inserted = self.write(|tx| {
            if let Some(found) = by_key(tx, new)? {
                return found.map(Some);
            }
            // Inside the write transaction (BEGIN IMMEDIATE): no other writer in between.
            if template_used_for(tx, slug, &new.related)? {
                return Ok(None);
            }
            insert_one(tx, &mut InsertStatements::new(tx)?, new, now, claim).map(Some)
        })?;
        if let Some(i) = inserted.as_ref().filter(|i| !i.existing) {
            log_created(&i.message);
        }
        Ok(inserted)
    }
}

/// The message already stored under `new`'s idempotency key, as the insert's answer.
fn by_key(
    conn: &Connection,
    new: &NewMessage,
) -> Result<Option<Result<Inserted, StoreError>>, StoreError> {
    let Some(key) = &new.idempotency_key else {
        return Ok(None);
    };
    let sql = format!("SELECT {COLS} FROM messages WHERE idempotency_key = ?1");
    Ok(rows::query(conn, &sql, [key])?.pop().map(|existing| {
        if same_request(&existing, new) {
            Ok(Inserted {
                message: existing,
                existing: true,
            })
        } else {
            Err(StoreError::IdempotencyConflict {
                key: key.clone(),
                existing: existing.id,
            })
        }
    }))
}

/// The prepared statements of an insert.
struct InsertStatements<'t> {
    message: rusqlite::CachedStatement<'t>,
    related: rusqlite::CachedStatement<'t>,
    /// For messages stored with their first attempt begun: ids above this mark are stored
    /// with an inline claim (read once per transaction; see `delivery::recover_inline`).
    inline_after: Option<String>,
}

impl<'t> InsertStatements<'t> {
    fn new(tx: &'t Connection) -> Result<Self, StoreError> {
        Ok(InsertStatements {
            message: tx.prepare_cached(
                "INSERT INTO messages (id, created_at, changed_at, recipient, content, template_slug, template_id, state, \
                 backend, extra_data, extra_sender_data, tag, is_final_state, priority, predictive, attempts, not_before, \
                 idempotency_key, check_failures, resent_from, attempt_unresolved, related, claim_owner, claim_until, \
                 inline_claim, history) \
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '{}', ?10, 0, ?11, ?12, ?13, ?14, ?15, 0, ?16, ?17, ?18, \
                 ?19, ?20, ?21, '[]')",
            )?,
            related: tx.prepare_cached(
                "INSERT OR IGNORE INTO message_related (kind, object_key, object_id, message_id) VALUES (?1, ?2, ?3, ?4)",
            )?,
            inline_after: None,
        })
    }
}

fn insert_one(
    tx: &Connection,
    st: &mut InsertStatements<'_>,
    new: &NewMessage,
    now: Timestamp,
    claim: Claim<'_>,
) -> Result<Inserted, StoreError> {
    if let Some(found) = by_key(tx, new)? {
        return found;
    }
    let mut m = new_message_row(new, now);
    let id = m.id.to_string();
    let mut inline = false;
    if claim.is_some_and(|c| c.2) {
        m.attempts = 1;
        m.attempt_unresolved = true;
        if st.inline_after.is_none() {
            st.inline_after = Some(super::delivery::inline_mark(tx)?);
        }
        // Past the mark the recovery scan will still look at it; at or below, it must be
        // in the index like any other claimed message.
        inline = st
            .inline_after
            .as_deref()
            .is_some_and(|mark| id.as_str() > mark);
    }
    st.message.execute(rusqlite::params![
        id,
        us(m.created_at),
        m.recipient.as_str(),
        m.content,
        m.template_slug,
        m.template_id,
        m.state.code(),
        m.backend,
        to_json(&m.extra_data)?,
        m.tag.as_ref().map(|t| t.as_str()),
        m.priority.get(),
        m.predictive,
        m.attempts,
        m.not_before.map(us),
        m.idempotency_key,
        m.resent_from.map(|r| r.to_string()),
        m.attempt_unresolved,
        related_column(&m.related)?,
        claim.map(|c| c.0),
        claim.map(|c| us(c.1)),
        inline,
    ])?;
    for r in &m.related {
        st.related.execute((&r.kind, object_key(r), &r.id, &id))?;
    }
    Ok(Inserted {
        message: m,
        existing: false,
    })
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
        push(
            &mut sql,
            " AND id IN (SELECT message_id FROM message_related WHERE kind = ?",
            Box::new(r.kind.clone()),
        );
        // The key finds the candidates; the text keeps `007` apart from `7`.
        push(&mut sql, " AND object_key = ?", Box::new(object_key(r)));
        push(&mut sql, " AND object_id = ?)", Box::new(r.id.clone()));
    }
    // Ids are UUID v7: their order is the order of creation.
    sql.push_str(" ORDER BY id DESC");
    if let Some(limit) = f.limit {
        push(&mut sql, " LIMIT ?", Box::new(limit as i64));
    }
    let refs: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.as_ref()).collect();
    rows::query(conn, &sql, refs.as_slice())
}

pub(super) fn history(conn: &Connection, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
    let Some((created_at, stored)) = rows::history_of(conn, id)? else {
        return Ok(Vec::new());
    };
    let mut out = vec![creation_entry(created_at)];
    out.extend(rows::read_history(&stored)?);
    Ok(out)
}

/// Exactly the same set of related objects; with none given the rule cannot apply.
pub(super) fn template_used_for(
    conn: &Connection,
    slug: &str,
    related: &[RelatedObject],
) -> Result<bool, StoreError> {
    let mut wanted = related.to_vec();
    wanted.sort();
    wanted.dedup();
    let Some(first) = wanted.first() else {
        return Ok(false);
    };
    let wanted_column = related_column(&wanted)?;
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM message_related r JOIN messages m ON m.id = r.message_id \
             WHERE r.kind = ?1 AND r.object_key = ?2 AND r.object_id = ?3 AND m.template_slug = ?4 \
             AND m.related = ?5",
        )?
        .query_row(
            (
                &first.kind,
                object_key(first),
                &first.id,
                slug,
                wanted_column,
            ),
            |r| r.get(0),
        )?;
    Ok(n > 0)
}

/// The `object_key` column: the id as an integer when it is one, else its text.
fn object_key(r: &RelatedObject) -> rusqlite::types::Value {
    match r.id_int() {
        Some(n) => rusqlite::types::Value::Integer(n),
        None => rusqlite::types::Value::Text(r.id.clone()),
    }
}
