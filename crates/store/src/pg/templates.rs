//! Templates on PostgreSQL.

use super::Db;
use super::rows;
use crate::error::StoreError;
use crate::sql::micros;
use dialout_model::template::NewTemplate;
use dialout_model::template::Template;
use dialout_model::template::TemplateChange;
use jiff::Timestamp;
use postgres::types::Json;
use postgres::{GenericClient, Row, Transaction};

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

const TEMPLATE_COLS: &str =
    "id, slug, body, active, allow_duplicates, created_at, changed_at, interactive";

fn read_template(r: &Row) -> Result<Template, StoreError> {
    Ok(Template {
        id: r.try_get(0)?,
        slug: r.try_get(1)?,
        body: r.try_get(2)?,
        active: r.try_get(3)?,
        allow_duplicates: r.try_get(4)?,
        created_at: r.try_get(5)?,
        changed_at: r.try_get(6)?,
        interactive: r
            .try_get::<_, Option<Json<dialout_model::interactive::Interactive>>>(7)?
            .map(|j| j.0)
            .unwrap_or_default(),
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
        "INSERT INTO templates (slug, body, active, allow_duplicates, created_at, changed_at, interactive) \
         VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (slug) DO NOTHING RETURNING {TEMPLATE_COLS}"
    );
    match db.query_opt(
        &sql,
        &[
            &t.slug,
            &t.body,
            &t.active,
            &t.allow_duplicates,
            &now,
            &rows::interactive_param(&t.interactive),
        ],
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
    c.apply_interactive(&mut t.interactive);
    if t == before {
        return Ok(t);
    }
    t.changed_at = micros(now);
    db.execute(
        "UPDATE templates SET body = $2, active = $3, allow_duplicates = $4, changed_at = $5, \
         interactive = $6 WHERE id = $1",
        &[
            &t.id,
            &t.body,
            &t.active,
            &t.allow_duplicates,
            &t.changed_at,
            &rows::interactive_param(&t.interactive),
        ],
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
