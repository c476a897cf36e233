//! Row keys of the `messages` table.
//!
//! A table keyed by an integer that grows takes a new row with one page write at its end;
//! keyed by the id text (schema 1 to 5), SQLite rebalanced three pages every few messages
//! (see docs/benchmarks.md). The key of a message is the leading 63 bits of its id, which
//! grow with every id one process makes (see `crate::id`), so no index maps ids to rows.
//! Two processes may make ids with the same leading bits; the second message stored then
//! takes the next key after the largest, and `message_keys` records it. A lookup by id reads
//! `message_keys` first (almost always empty) and the id column always.
use crate::error::StoreError;
use dialout_model::id::MessageId;
use rusqlite::{Connection, named_params};
use std::sync::LazyLock;

/// The key a message gets unless another message has it already.
pub(in crate::sqlite) fn of(id: MessageId) -> i64 {
    (id.as_uuid().as_u128() >> 65) as i64
}

/// SQL matching the row of the message whose id (text) is `:id` and key (from [`of`]) is
/// `:key`.
pub(in crate::sqlite) fn by_id() -> &'static str {
    "n = coalesce((SELECT n FROM message_keys WHERE id = :id), :key) AND id = :id"
}

/// Whether an INSERT failed because its key is taken.
pub(in crate::sqlite) fn taken(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A key for a message whose own key is taken, recorded for lookups; an error if the
/// message itself is what has it. Runs in the inserting write transaction.
pub(in crate::sqlite) fn displaced(tx: &Connection, id: &str, key: i64) -> Result<i64, StoreError> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT COUNT(*) FROM messages WHERE {}", by_id()));
    let stored: i64 = tx
        .prepare_cached(&SQL)?
        .query_row(named_params! { ":id": id, ":key": key }, |r| r.get(0))?;
    if stored > 0 {
        return Err(StoreError::AlreadyStored(
            id.parse()
                .map_err(|e| StoreError::corrupt("message id", e))?,
        ));
    }
    let n: i64 = tx
        .prepare_cached("SELECT coalesce(max(n), 0) + 1 FROM messages")?
        .query_row([], |r| r.get(0))?;
    tx.prepare_cached("INSERT INTO message_keys (id, n) VALUES (:id, :n)")?
        .execute(named_params! { ":id": id, ":n": n })?;
    tracing::debug!(
        message_id = id,
        key,
        n,
        "message id shares its leading bits with another: keyed after the newest"
    );
    Ok(n)
}
