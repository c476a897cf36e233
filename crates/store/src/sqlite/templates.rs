//! Templates.

use super::rows::{interactive_column, ts, us};
use crate::error::StoreError;
use crate::sql::micros;
use dialout_model::template::NewTemplate;
use dialout_model::template::Template;
use dialout_model::template::TemplateChange;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, named_params};

const COLS: &str = "id, slug, body, active, allow_duplicates, created_at, changed_at, interactive";

fn read(r: &Row<'_>) -> Result<Template, StoreError> {
    Ok(Template {
        id: r.get(0)?,
        slug: r.get(1)?,
        body: r.get(2)?,
        active: r.get(3)?,
        allow_duplicates: r.get(4)?,
        created_at: ts(r.get(5)?)?,
        changed_at: ts(r.get(6)?)?,
        interactive: match r.get::<_, Option<String>>(7)? {
            Some(t) => serde_json::from_str(&t)
                .map_err(|e| StoreError::corrupt("template interactive", e))?,
            None => Default::default(),
        },
    })
}

pub(super) fn get(conn: &Connection, slug: &str) -> Result<Option<Template>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLS} FROM templates WHERE slug = :slug"))?;
    let mut rows = stmt.query(named_params! { ":slug": slug })?;
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
        .prepare_cached("SELECT id FROM templates WHERE slug = :slug")?
        .query_row(named_params! { ":slug": &t.slug }, |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::TemplateExists(t.slug.clone()));
    }
    let now = micros(now);
    tx.prepare_cached(
        "INSERT INTO templates (slug, body, active, allow_duplicates, created_at, changed_at, \
         interactive) VALUES (:slug, :body, :active, :allow_duplicates, :now, :now, :interactive)",
    )?
    .execute(named_params! {
        ":slug": &t.slug,
        ":body": &t.body,
        ":active": t.active,
        ":allow_duplicates": t.allow_duplicates,
        ":now": us(now),
        ":interactive": interactive_column(&t.interactive)?,
    })?;
    Ok(Template {
        id: tx.last_insert_rowid(),
        slug: t.slug.clone(),
        body: t.body.clone(),
        active: t.active,
        allow_duplicates: t.allow_duplicates,
        created_at: now,
        changed_at: now,
        interactive: t.interactive.clone(),
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
    c.apply_interactive(&mut t.interactive);
    if t == before {
        return Ok(t);
    }
    t.changed_at = micros(now);
    tx.prepare_cached(
        "UPDATE templates SET body = :body, active = :active, allow_duplicates = :allow_duplicates, \
         changed_at = :now, interactive = :interactive WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": t.id,
        ":body": &t.body,
        ":active": t.active,
        ":allow_duplicates": t.allow_duplicates,
        ":now": us(t.changed_at),
        ":interactive": interactive_column(&t.interactive)?,
    })?;
    Ok(t)
}

pub(super) fn remove(tx: &Connection, slug: &str) -> Result<bool, StoreError> {
    let Some(t) = get(tx, slug)? else {
        return Ok(false);
    };
    tx.prepare_cached(
        "UPDATE messages SET template_id = NULL WHERE template_slug = :slug AND template_id = :id",
    )?
    .execute(named_params! { ":slug": slug, ":id": t.id })?;
    tx.prepare_cached("DELETE FROM templates WHERE id = :id")?
        .execute(named_params! { ":id": t.id })?;
    Ok(true)
}
