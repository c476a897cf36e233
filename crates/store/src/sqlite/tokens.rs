//! API tokens.

use super::rows::{ts, us};
use crate::error::StoreError;
use crate::sql::micros;
use crate::tokens::{NewToken, Scope, StoredToken, Token};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, named_params};

/// The table; also the body of the migration (schema.rs).
pub(super) const SCHEMA: &str = "
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    lookup TEXT NOT NULL UNIQUE,
    hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
";

const COLS: &str = "name, scopes, created_at, last_used_at, hash";

fn read(r: &Row<'_>) -> Result<StoredToken, StoreError> {
    let scopes: String = r.get(1)?;
    let last: Option<i64> = r.get(3)?;
    Ok(StoredToken {
        token: Token {
            name: r.get(0)?,
            scopes: Scope::parse_list(&scopes),
            created_at: ts(r.get(2)?)?,
            last_used_at: last.map(ts).transpose()?,
        },
        hash: r.get(4)?,
    })
}

pub(super) fn add(tx: &Connection, t: &NewToken, now: Timestamp) -> Result<Token, StoreError> {
    let exists: Option<String> = tx
        .prepare_cached("SELECT name FROM api_tokens WHERE name = :name")?
        .query_row(named_params! { ":name": &t.name }, |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::TokenExists(t.name.clone()));
    }
    let now = micros(now);
    tx.prepare_cached(
        "INSERT INTO api_tokens (name, lookup, hash, scopes, created_at) \
         VALUES (:name, :lookup, :hash, :scopes, :now)",
    )?
    .execute(named_params! {
        ":name": &t.name,
        ":lookup": &t.lookup,
        ":hash": &t.hash,
        ":scopes": Scope::join(&t.scopes),
        ":now": us(now),
    })?;
    Ok(Token {
        name: t.name.clone(),
        scopes: t.scopes.clone(),
        created_at: now,
        last_used_at: None,
    })
}

pub(super) fn list(c: &Connection) -> Result<Vec<Token>, StoreError> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLS} FROM api_tokens ORDER BY name"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read(r)?.token);
    }
    Ok(out)
}

pub(super) fn by_lookup(c: &Connection, lookup: &str) -> Result<Option<StoredToken>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM api_tokens WHERE lookup = :lookup"
    ))?;
    let mut rows = stmt.query(named_params! { ":lookup": lookup })?;
    rows.next()?.map(read).transpose()
}

pub(super) fn remove(tx: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("DELETE FROM api_tokens WHERE name = :name")?
        .execute(named_params! { ":name": name })?
        > 0)
}

pub(super) fn touch(tx: &Connection, name: &str, now: Timestamp) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE api_tokens SET last_used_at = :now WHERE name = :name")?
        .execute(named_params! { ":name": name, ":now": us(micros(now)) })?;
    Ok(())
}
