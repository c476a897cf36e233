//! Templates.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row};

use super::rows::{ts, us};
use crate::store::{NewTemplate, StoreError, Template, TemplateChange, micros};

const COLS: &str = "id, slug, body, active, allow_duplicates, created_at, changed_at";

fn read(r: &Row<'_>) -> Result<Template, StoreError> {
    Ok(Template {
        id: r.get(0)?,
        slug: r.get(1)?,
        body: r.get(2)?,
        active: r.get(3)?,
        allow_duplicates: r.get(4)?,
        created_at: ts(r.get(5)?)?,
        changed_at: ts(r.get(6)?)?,
    })
}

pub(super) fn get(conn: &Connection, slug: &str) -> Result<Option<Template>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM templates WHERE slug = ?1"))?;
    let mut rows = stmt.query([slug])?;
    rows.next()?.map(read).transpose()
}

pub(super) fn list(conn: &Connection) -> Result<Vec<Template>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM templates ORDER BY slug"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read(r)?);
    }
    Ok(out)
}

pub(super) fn add(
    tx: &Connection,
    t: &NewTemplate,
    now: Timestamp,
) -> Result<Template, StoreError> {
    let exists: Option<i64> = tx
        .prepare_cached("SELECT id FROM templates WHERE slug = ?1")?
        .query_row([&t.slug], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::TemplateExists(t.slug.clone()));
    }
    let now = micros(now);
    tx.prepare_cached(
        "INSERT INTO templates (slug, body, active, allow_duplicates, created_at, changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute((&t.slug, &t.body, t.active, t.allow_duplicates, us(now)))?;
    Ok(Template {
        id: tx.last_insert_rowid(),
        slug: t.slug.clone(),
        body: t.body.clone(),
        active: t.active,
        allow_duplicates: t.allow_duplicates,
        created_at: now,
        changed_at: now,
    })
}

pub(super) fn update(
    tx: &Connection,
    slug: &str,
    c: &TemplateChange,
    now: Timestamp,
) -> Result<Template, StoreError> {
    let mut t = get(tx, slug)?.ok_or_else(|| StoreError::NoTemplate(slug.to_string()))?;
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
    tx.prepare_cached("UPDATE templates SET body = ?2, active = ?3, allow_duplicates = ?4, changed_at = ?5 WHERE id = ?1")?
        .execute((t.id, &t.body, t.active, t.allow_duplicates, us(t.changed_at)))?;
    Ok(t)
}

pub(super) fn remove(tx: &Connection, slug: &str) -> Result<bool, StoreError> {
    let Some(t) = get(tx, slug)? else {
        return Ok(false);
    };
    tx.prepare_cached(
        "UPDATE messages SET template_id = NULL WHERE template_slug = ?1 AND template_id = ?2",
    )?
    .execute((slug, t.id))?;
    tx.prepare_cached("DELETE FROM templates WHERE id = ?1")?
        .execute([t.id])?;
    Ok(true)
}
