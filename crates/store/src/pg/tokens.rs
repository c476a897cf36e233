//! API tokens.

use super::Db;
use crate::error::StoreError;
use crate::sql::micros;
use crate::tokens::{NewToken, Scope, StoredToken, Token};
use jiff::Timestamp;
use postgres::{GenericClient, Row, Transaction};

/// The table; also the body of the migration (schema.rs).
pub(super) const SCHEMA: &str = "
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    lookup TEXT NOT NULL UNIQUE,
    hash BYTEA NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
";

const COLS: &str = "name, scopes, created_at, last_used_at, hash";

fn read(r: &Row) -> Result<StoredToken, StoreError> {
    let scopes: String = r.try_get(1)?;
    Ok(StoredToken {
        token: Token {
            name: r.try_get(0)?,
            scopes: Scope::parse_list(&scopes),
            created_at: r.try_get(2)?,
            last_used_at: r.try_get(3)?,
        },
        hash: r.try_get(4)?,
    })
}

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

pub(super) fn add(db: &mut Tx<'_, '_>, t: &NewToken, now: Timestamp) -> Result<Token, StoreError> {
    let now = micros(now);
    let scopes = Scope::join(&t.scopes);
    let done = db.execute(
        "INSERT INTO api_tokens (name, lookup, hash, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        &[&t.name, &t.lookup, &t.hash, &scopes, &now],
    )?;
    if done == 0 {
        return Err(StoreError::TokenExists(t.name.clone()));
    }
    Ok(Token {
        name: t.name.clone(),
        scopes: t.scopes.clone(),
        created_at: now,
        last_used_at: None,
    })
}

pub(super) fn list<C: GenericClient>(db: &mut Db<'_, C>) -> Result<Vec<Token>, StoreError> {
    let sql = format!("SELECT {COLS} FROM api_tokens ORDER BY name COLLATE \"C\"");
    db.query(&sql, &[])?
        .iter()
        .map(|r| read(r).map(|s| s.token))
        .collect()
}

pub(super) fn by_lookup<C: GenericClient>(
    db: &mut Db<'_, C>,
    lookup: &str,
) -> Result<Option<StoredToken>, StoreError> {
    let sql = format!("SELECT {COLS} FROM api_tokens WHERE lookup = $1");
    db.query_opt(&sql, &[&lookup])?
        .as_ref()
        .map(read)
        .transpose()
}

pub(super) fn remove(db: &mut Tx<'_, '_>, name: &str) -> Result<bool, StoreError> {
    Ok(db.execute("DELETE FROM api_tokens WHERE name = $1", &[&name])? > 0)
}

pub(super) fn touch(db: &mut Tx<'_, '_>, name: &str, now: Timestamp) -> Result<(), StoreError> {
    db.execute(
        "UPDATE api_tokens SET last_used_at = $2 WHERE name = $1",
        &[&name, &micros(now)],
    )?;
    Ok(())
}
