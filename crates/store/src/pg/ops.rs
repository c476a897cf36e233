//! Messages, templates and delivery bookkeeping on PostgreSQL.

use super::Db;
use super::rows::{self, COLS, ts_param};
use crate::delivery_store::Seen;
use crate::error::StoreError;
use crate::message_store::InsertMode;
use crate::message_store::Inserted;
use crate::message_store::MessageFilter;
use crate::message_store::Order;
use crate::plan::Change;
use crate::plan::creation_entry;
use crate::plan::new_message_row;
use crate::plan::plan_change;
use crate::plan::repeat_of;
use crate::sql::micros;
use crate::sql::unpublished_sql;
use dialout_model::id::MessageId;
use dialout_model::interactive::Reply;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_model::related::RelatedObject;
use dialout_model::template::NewTemplate;
use dialout_model::template::Template;
use dialout_model::template::TemplateChange;
use jiff::Timestamp;
use postgres::types::{Json, ToSql};
use postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// Stores one message as `mode` says (see `Store::insert`).
pub(super) fn insert_one(
    db: &mut Tx<'_, '_>,
    new: &NewMessage,
    now: Timestamp,
    mode: InsertMode<'_>,
    key: &crate::privacy::HashKey,
) -> Result<Inserted, StoreError> {
    if let Some(found) = by_key(db, new)? {
        return found;
    }
    if mode.screen.any() {
        super::dnc::screen(db, new, now, &mode.screen, key)?;
    }
    if mode.unique_per_template {
        let slug = new.template_slug.clone().unwrap_or_default();
        // Sends from one template take turns until commit, so the check stays true.
        db.execute(
            "SELECT pg_advisory_xact_lock(7283002, hashtext($1))",
            &[&slug],
        )?;
        if template_used_for(db, &slug, &new.related)? {
            return Err(StoreError::Duplicate { slug });
        }
    }
    let claim = mode.claim();
    let mut m = new_message_row(new, now);
    if claim.is_some_and(|c| c.2) {
        m.attempts = 1;
        m.attempt_unresolved = true;
    }
    let id = m.id.as_uuid();
    let priority = i16::from(m.priority.get());
    let attempts = m.attempts as i32;
    let claim_owner = claim.map(|c| c.0);
    let claim_until = claim.map(|c| ts_param(c.1));
    let stored = db.execute(
        "INSERT INTO messages (id, created_at, changed_at, recipient, content, template_slug, template_id, state, \
         backend, extra_data, extra_sender_data, tag, is_final_state, priority, predictive, attempts, not_before, \
         idempotency_key, check_failures, resent_from, attempt_unresolved, claim_owner, claim_until, time_zone, \
         interactive) \
         VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, '{}', $10, false, $11, $12, $16, $13, $14, 0, $15, $17, \
         $18, $19, $20, $21) ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
        &[
            &id,
            &m.created_at,
            &m.recipient.as_str(),
            &m.content,
            &m.template_slug,
            &m.template_id,
            &m.state.code(),
            &m.backend,
            &Json(&m.extra_data),
            &m.tag.as_ref().map(|t| t.as_str()),
            &priority,
            &m.predictive,
            &m.not_before,
            &m.idempotency_key,
            &m.resent_from.map(|r| r.as_uuid()),
            &attempts,
            &m.attempt_unresolved,
            &claim_owner,
            &claim_until,
            &m.time_zone,
            &rows::interactive_param(&m.interactive),
        ],
    )?;
    if stored == 0 {
        // Another transaction stored this idempotency key since we looked: that one wins.
        return match by_key(db, new)? {
            Some(found) => found,
            // Not the key, then: the id.
            None => Err(StoreError::AlreadyStored(m.id)),
        };
    }
    for r in &m.related {
        db.execute(
            "INSERT INTO message_related (message_id, kind, object_id, object_id_int) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            &[&id, &r.kind, &r.id, &r.id_int()],
        )?;
    }
    Ok(Inserted {
        message: m,
        existing: false,
    })
}

/// The message already stored under `new`'s idempotency key, as `insert_one`'s answer.
fn by_key(
    db: &mut Tx<'_, '_>,
    new: &NewMessage,
) -> Result<Option<Result<Inserted, StoreError>>, StoreError> {
    let Some(key) = &new.idempotency_key else {
        return Ok(None);
    };
    let sql = format!("SELECT {COLS} FROM messages WHERE idempotency_key = $1");
    let rows = db.query(&sql, &[key])?;
    Ok(rows::read_all(db, &rows)?
        .pop()
        .map(|existing| repeat_of(existing, new, key)))
}

pub(super) fn list<C: GenericClient>(
    db: &mut Db<'_, C>,
    f: &MessageFilter,
) -> Result<Vec<Message>, StoreError> {
    let mut sql = format!("SELECT {COLS} FROM messages WHERE true");
    let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut push = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync>| {
        params.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
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
        push(&mut sql, " AND created_at >= ?", Box::new(since));
    }
    if let Some(until) = f.created_before {
        push(&mut sql, " AND created_at < ?", Box::new(until));
    }
    if let Some(r) = &f.recipient {
        push(&mut sql, " AND recipient = ?", Box::new(r.clone()));
    }
    if let Some(a) = &f.answer {
        push(&mut sql, " AND reply ->> 'answer' = ?", Box::new(a.clone()));
    }
    if f.in_flight {
        sql.push_str(" AND NOT is_final_state AND sent_at IS NOT NULL");
    }
    if let Some(since) = f.sent_since {
        push(&mut sql, " AND sent_at >= ?", Box::new(since));
    }
    if let Some(before) = f.before {
        push(
            &mut sql,
            " AND (created_at, id) < (SELECT created_at, id FROM messages WHERE id = ?)",
            Box::new(before.as_uuid()),
        );
    }
    if let Some(r) = &f.related {
        push(
            &mut sql,
            " AND id IN (SELECT message_id FROM message_related WHERE kind = ?",
            Box::new(r.kind.clone()),
        );
        if let Some(n) = r.id_int() {
            // The integer index finds the candidates; the text keeps `007` apart from `7`.
            push(&mut sql, " AND object_id_int = ?", Box::new(n));
        }
        push(&mut sql, " AND object_id = ?)", Box::new(r.id.clone()));
    }
    sql.push_str(match f.order {
        Order::NewestFirst => " ORDER BY created_at DESC, id DESC",
        Order::OldestSentFirst => " ORDER BY sent_at, id",
    });
    if let Some(limit) = f.limit {
        push(&mut sql, " LIMIT ?", Box::new(limit as i64));
    }
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    let found = db.query_dynamic(&sql, &refs)?;
    rows::read_all(db, &found)
}

pub(super) fn history<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: MessageId,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let Some(created) = db.query_opt(
        "SELECT created_at FROM messages WHERE id = $1",
        &[&id.as_uuid()],
    )?
    else {
        return Ok(Vec::new());
    };
    let mut out = vec![creation_entry(created.try_get(0)?)];
    let found = db.query(
        "SELECT at, from_state, to_state, reason, reply FROM message_history WHERE message_id = $1 ORDER BY id",
        &[&id.as_uuid()],
    )?;
    for r in &found {
        let from: Option<i16> = r.try_get(1)?;
        let reply: Option<Json<Reply>> = r.try_get(4)?;
        out.push(HistoryEntry {
            at: r.try_get(0)?,
            from: from.map(rows::state).transpose()?,
            to: rows::state(r.try_get(2)?)?,
            reason: r.try_get(3)?,
            reply: reply.map(|j| j.0).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Exactly the same set of related objects; with none given the rule cannot apply.
fn template_used_for<C: GenericClient>(
    db: &mut Db<'_, C>,
    slug: &str,
    related: &[RelatedObject],
) -> Result<bool, StoreError> {
    let mut wanted = related.to_vec();
    wanted.sort();
    wanted.dedup();
    let Some(first) = wanted.first() else {
        return Ok(false);
    };
    let candidates = db.query(
        "SELECT r.message_id FROM message_related r JOIN messages m ON m.id = r.message_id \
         WHERE r.kind = $1 AND r.object_id = $2 AND m.template_slug = $3",
        &[&first.kind, &first.id, &slug],
    )?;
    for c in candidates {
        let id: Uuid = c.try_get(0)?;
        let theirs = db.query(
            "SELECT kind, object_id FROM message_related WHERE message_id = $1 ORDER BY kind COLLATE \"C\", object_id COLLATE \"C\"",
            &[&id],
        )?;
        let theirs = theirs
            .iter()
            .map(|r| {
                Ok(RelatedObject {
                    kind: r.try_get(0)?,
                    id: r.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if theirs == wanted {
            return Ok(true);
        }
    }
    Ok(false)
}

const TEMPLATE_COLS: &str = "id, slug, body, active, allow_duplicates, created_at, changed_at";

fn read_template(r: &Row) -> Result<Template, StoreError> {
    Ok(Template {
        id: r.try_get(0)?,
        slug: r.try_get(1)?,
        body: r.try_get(2)?,
        active: r.try_get(3)?,
        allow_duplicates: r.try_get(4)?,
        created_at: r.try_get(5)?,
        changed_at: r.try_get(6)?,
    })
}

pub(super) fn template<C: GenericClient>(
    db: &mut Db<'_, C>,
    slug: &str,
    for_update: bool,
) -> Result<Option<Template>, StoreError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {TEMPLATE_COLS} FROM templates WHERE slug = $1{lock}");
    db.query_opt(&sql, &[&slug])?
        .as_ref()
        .map(read_template)
        .transpose()
}

pub(super) fn templates<C: GenericClient>(db: &mut Db<'_, C>) -> Result<Vec<Template>, StoreError> {
    let sql = format!("SELECT {TEMPLATE_COLS} FROM templates ORDER BY slug COLLATE \"C\"");
    db.query(&sql, &[])?.iter().map(read_template).collect()
}

pub(super) fn add_template(
    db: &mut Tx<'_, '_>,
    t: &NewTemplate,
    now: Timestamp,
) -> Result<Template, StoreError> {
    let now = micros(now);
    let sql = format!(
        "INSERT INTO templates (slug, body, active, allow_duplicates, created_at, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (slug) DO NOTHING RETURNING {TEMPLATE_COLS}"
    );
    match db.query_opt(
        &sql,
        &[&t.slug, &t.body, &t.active, &t.allow_duplicates, &now],
    )? {
        Some(r) => read_template(&r),
        None => Err(StoreError::TemplateExists(t.slug.clone())),
    }
}

pub(super) fn update_template(
    db: &mut Tx<'_, '_>,
    slug: &str,
    c: &TemplateChange,
    now: Timestamp,
) -> Result<Template, StoreError> {
    let mut t =
        template(db, slug, true)?.ok_or_else(|| StoreError::NoTemplate(slug.to_string()))?;
    let before = t.clone();
    if let Some(b) = &c.body {
        t.body = b.clone();
    }
    if let Some(a) = c.active {
        t.active = a;
    }
    if let Some(d) = c.allow_duplicates {
        t.allow_duplicates = d;
    }
    if t == before {
        return Ok(t);
    }
    t.changed_at = micros(now);
    db.execute(
        "UPDATE templates SET body = $2, active = $3, allow_duplicates = $4, changed_at = $5 WHERE id = $1",
        &[&t.id, &t.body, &t.active, &t.allow_duplicates, &t.changed_at],
    )?;
    Ok(t)
}

pub(super) fn remove_template(db: &mut Tx<'_, '_>, slug: &str) -> Result<bool, StoreError> {
    let Some(t) = template(db, slug, true)? else {
        return Ok(false);
    };
    db.execute(
        "UPDATE messages SET template_id = NULL WHERE template_slug = $1 AND template_id = $2",
        &[&slug, &t.id],
    )?;
    db.execute("DELETE FROM templates WHERE id = $1", &[&t.id])?;
    Ok(true)
}

pub(super) fn claim_due(
    db: &mut Tx<'_, '_>,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    backend: Option<&str>,
) -> Result<Vec<Message>, StoreError> {
    // SKIP LOCKED: concurrent claimers pass over each other's rows instead of waiting, and
    // the re-check on the locked row keeps a just-claimed message out. `= ANY(ARRAY(..))`
    // updates the claimed rows by primary key; `IN (..)` let the planner hash-join a
    // sequential scan of the whole table once it had statistics.
    super::claim::claim_settings(db)?;
    let sql = format!(
        "UPDATE messages SET claim_owner = $1, claim_until = $2 WHERE id = ANY(ARRAY(SELECT id FROM messages \
         WHERE state IN {unpublished} AND NOT is_final_state \
         AND (not_before IS NULL OR not_before <= $3) AND (next_attempt_at IS NULL OR next_attempt_at <= $3) \
         AND (claim_owner IS NULL OR claim_until <= $3) AND ($5::text IS NULL OR backend = $5) \
         ORDER BY priority, created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)) RETURNING {COLS}",
        unpublished = unpublished_sql()
    );
    let limit = limit as i64;
    let found = db.query(
        &sql,
        &[&owner, &ts_param(lease_until), &now, &limit, &backend],
    )?;
    let mut out = rows::read_all(db, &found)?;
    out.sort_by_key(|m| (m.priority, m.created_at, m.id));
    Ok(out)
}

/// Claims these messages if free, or (`held`) renews `owner`'s claims on them.
pub(super) fn claim_ids(
    db: &mut Tx<'_, '_>,
    ids: &[MessageId],
    held: bool,
    owner: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Vec<Message>, StoreError> {
    let uuids: Vec<Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
    // SKIP LOCKED: a row another claimer is taking is not free, and waiting for it while
    // holding others could deadlock with a claimer that listed the ids in another order.
    let sql = format!(
        "UPDATE messages SET claim_owner = $2, claim_until = $3 WHERE id IN (SELECT id FROM messages \
         WHERE id = ANY($1) AND state IN {unpublished} AND NOT is_final_state \
         AND CASE WHEN $5 THEN claim_owner = $2 ELSE claim_owner IS NULL OR claim_until <= $4 END \
         ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING {COLS}",
        unpublished = unpublished_sql()
    );
    let found = db.query(&sql, &[&uuids, &owner, &ts_param(lease_until), &now, &held])?;
    let mut out = rows::read_all(db, &found)?;
    in_order_of(ids, &mut out);
    Ok(out)
}

/// Puts messages in the order of `ids`: a map, as a search of `ids` per comparison costs
/// milliseconds for a batch of 1,000.
fn in_order_of(ids: &[MessageId], out: &mut [Message]) {
    let mut place = std::collections::HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        place.entry(*id).or_insert(i);
    }
    out.sort_by_key(|m| place.get(&m.id).copied());
}

/// `finish` (with the owner, which must hold the claim; the claim is released) and `apply`.
pub(super) fn update(
    db: &mut Tx<'_, '_>,
    id: MessageId,
    owner: Option<&str>,
    change: &Change,
    now: Timestamp,
) -> Result<(Option<Message>, Vec<HistoryEntry>), StoreError> {
    let Some(old) = rows::find(db, id, true)? else {
        return Ok((None, Vec::new()));
    };
    if let Some(owner) = owner {
        let holder: Option<String> = db
            .query_opt(
                "SELECT claim_owner FROM messages WHERE id = $1",
                &[&id.as_uuid()],
            )?
            .and_then(|r| r.get(0));
        if holder.as_deref() != Some(owner) {
            return Ok((None, Vec::new()));
        }
    }
    let plan = plan_change(&old, change, now);
    if plan.changed || owner.is_some() {
        rows::update(db, &plan.message, owner.is_some())?;
    }
    for h in &plan.history {
        rows::add_history(db, id, h)?;
    }
    Ok((Some(plan.message), plan.history))
}

/// Begins an attempt of each message `owner` holds: one statement.
pub(super) fn begin_attempts(
    db: &mut Tx<'_, '_>,
    ids: &[MessageId],
    owner: &str,
    now: Timestamp,
) -> Result<Vec<Message>, StoreError> {
    let uuids: Vec<Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
    let sql = format!(
        "UPDATE messages SET attempts = attempts + 1, attempt_unresolved = true, changed_at = $3 \
         WHERE id = ANY($1) AND claim_owner = $2 RETURNING {COLS}"
    );
    let found = db.query(&sql, &[&uuids, &owner, &ts_param(now)])?;
    let mut out = rows::read_all(db, &found)?;
    in_order_of(ids, &mut out);
    Ok(out)
}

/// A message as updated (None: the claim was lost) and the history rows written.
pub(super) type Updated = (Option<Message>, Vec<HistoryEntry>);

/// `update` with an owner for a batch. Messages given as last seen are written without
/// reading them first (`finish::finish_seen`); the rest, and those that changed since, are
/// read and locked in one statement, then written.
pub(super) fn finish(
    db: &mut Tx<'_, '_>,
    owner: &str,
    changes: &[(Seen, Change)],
    now: Timestamp,
) -> Result<Vec<Updated>, StoreError> {
    let Some(mut done) = super::finish::finish_seen(db, owner, changes, now)? else {
        return finish_read(db, owner, changes, now);
    };
    let rest: Vec<(Seen, Change)> = changes
        .iter()
        .zip(&done)
        .filter(|(_, d)| d.is_none())
        .map(|((s, c), _)| (Seen::Id(s.id()), c.clone()))
        .collect();
    let mut rest = finish_read(db, owner, &rest, now)?.into_iter();
    Ok(done
        .iter_mut()
        .map(|d| {
            d.take()
                .or_else(|| rest.next())
                .unwrap_or((None, Vec::new()))
        })
        .collect())
}

fn finish_read(
    db: &mut Tx<'_, '_>,
    owner: &str,
    changes: &[(Seen, Change)],
    now: Timestamp,
) -> Result<Vec<Updated>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let uuids: Vec<Uuid> = changes.iter().map(|(s, _)| s.id().as_uuid()).collect();
    let owner_col = COLS.split(',').count();
    let sql = format!(
        "SELECT {COLS}, claim_owner FROM messages WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    );
    let found = db.query(&sql, &[&uuids])?;
    let holders: std::collections::HashMap<MessageId, Option<String>> = found
        .iter()
        .map(|r| Ok((MessageId::from_uuid(r.try_get(0)?), r.try_get(owner_col)?)))
        .collect::<Result<_, StoreError>>()?;
    let olds: std::collections::HashMap<MessageId, Message> = rows::read_all(db, &found)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut out = Vec::with_capacity(changes.len());
    for (seen, change) in changes {
        let id = &seen.id();
        let held = holders.get(id).is_some_and(|h| h.as_deref() == Some(owner));
        let Some(old) = olds.get(id).filter(|_| held) else {
            out.push((None, Vec::new()));
            continue;
        };
        let plan = plan_change(old, change, now);
        out.push((Some(plan.message), plan.history));
    }
    // One statement for the rows, one for their history.
    // A message changed twice in one call is written as its last change left it.
    let mut last = std::collections::HashMap::new();
    for (i, m) in out
        .iter()
        .enumerate()
        .filter_map(|(i, (m, _))| Some((i, m.as_ref()?)))
    {
        last.insert(m.id, i);
    }
    let written: Vec<&Message> = out
        .iter()
        .enumerate()
        .filter_map(|(i, (m, _))| m.as_ref().filter(|m| last.get(&m.id) == Some(&i)))
        .collect();
    super::batch::update_released(db, &written)?;
    let history: Vec<(MessageId, &HistoryEntry)> = out
        .iter()
        .filter_map(|(m, h)| Some((m.as_ref()?.id, h)))
        .flat_map(|(id, h)| h.iter().map(move |e| (id, e)))
        .collect();
    super::batch::add_history(db, &history)?;
    Ok(out)
}

pub(super) fn in_flight<C: GenericClient>(
    db: &mut Db<'_, C>,
    backend: &str,
) -> Result<usize, StoreError> {
    let n: i64 = db
        .query_opt(
            "SELECT COUNT(*) FROM messages WHERE backend = $1 AND NOT is_final_state AND sent_at IS NOT NULL",
            &[&backend],
        )?
        .map(|r| r.get(0))
        .unwrap_or(0);
    Ok(n as usize)
}
