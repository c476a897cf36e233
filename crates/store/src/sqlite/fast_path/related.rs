//! The index of related objects (`message_related`), kept behind by a few messages.
//!
//! A message stored on its own (what `send` does) leaves its related objects in its row's
//! `related` column only: writing the index in the same commit would cost one more 4 KB
//! page per message. Every message with a key at or below the `related_indexed` mark is in
//! the index; those above it (the tail, a few dozen) are found by reading their rows.
//! About one message in [`TAIL`] (see [`moves_tail`]), and every worker pass, move the tail
//! into the index. A message whose key is at or below the mark when it is stored (its id
//! was made before a newer message was stored and indexed) is indexed at once, in the inserting
//! transaction, so a late commit is never passed over.
use crate::error::StoreError;
use dialout_model::related::RelatedObject;
use rusqlite::Connection;

/// About how many messages stored on their own come between two moves of the tail into
/// the index.
pub(in crate::sqlite) const TAIL: usize = 64;

/// Whether storing this message moves the tail into the index: decided by the random low
/// bits of its id, so that it works the same whether one long-lived process stores every
/// message or each `dialout send` is a process of its own.
pub(in crate::sqlite) fn moves_tail(id: dialout_model::id::MessageId) -> bool {
    id.as_uuid().as_u128().is_multiple_of(TAIL as u128)
}

/// Indexes the related objects of the message with key `n`.
pub(in crate::sqlite) fn index(
    conn: &Connection,
    n: i64,
    related: &[RelatedObject],
) -> Result<(), StoreError> {
    // Most messages have none: no statement to look up (an import stores a million).
    if related.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO message_related (kind, object_key, object_id, message_n) \
         VALUES (:kind, :object_key, :object_id, :n)",
    )?;
    for r in related {
        stmt.execute(rusqlite::named_params! {
            ":kind": &r.kind,
            ":object_key": object_key(r),
            ":object_id": &r.id,
            ":n": n,
        })?;
    }
    Ok(())
}

/// Moves up to `limit` messages of the tail into the index, with one statement (SQLite reads
/// the `related` arrays itself); returns how many messages it passed.
pub(in crate::sqlite) fn index_tail(conn: &Connection, limit: usize) -> Result<usize, StoreError> {
    let start = super::marks::get(conn, "related_indexed")?;
    let (end, passed): (Option<i64>, i64) = conn
        .prepare_cached(
            "SELECT max(n), count(*) FROM (SELECT n FROM messages WHERE n > :after ORDER BY n LIMIT :limit)",
        )?
        .query_row(rusqlite::named_params! { ":after": start, ":limit": limit as i64 }, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let Some(end) = end else {
        return Ok(0);
    };
    // `related` holds `TYPE:ID` texts written from valid objects: the type has no `:`.
    conn.prepare_cached(
        "INSERT OR IGNORE INTO message_related (kind, object_key, object_id, message_n) \
         SELECT substr(j.value, 1, instr(j.value, ':') - 1), \
                dialout_object_key(substr(j.value, instr(j.value, ':') + 1)), \
                substr(j.value, instr(j.value, ':') + 1), m.n \
         FROM messages m, json_each(m.related) j \
         WHERE m.n > :after AND m.n <= :last AND m.related IS NOT NULL",
    )?
    .execute(rusqlite::named_params! { ":after": start, ":last": end })?;
    super::marks::set(conn, "related_indexed", end)?;
    Ok(passed as usize)
}

/// Registers `dialout_object_key(ID)`: the `object_key` of an object id, as [`object_key`]
/// makes it, for SQL that indexes related objects.
pub(in crate::sqlite) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "dialout_object_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let id: String = ctx.get(0)?;
            Ok(key_of_id(&id))
        },
    )
}

/// SQL selecting the keys (`messages.n`) of messages related to `:kind`, `:object_key`,
/// `:object_id` (the id text) and `:object` (`TYPE:ID`, as in the `related` column): the
/// index, then the tail.
pub(in crate::sqlite) fn keys_sql() -> &'static str {
    "SELECT message_n FROM message_related WHERE kind = :kind AND object_key = :object_key \
     AND object_id = :object_id \
     UNION ALL SELECT n FROM messages WHERE n > (SELECT n FROM store_marks WHERE name = 'related_indexed') \
     AND related IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(messages.related) WHERE json_each.value = :object)"
}

/// The `object_key` column: the id as an integer when it is one, else its text.
pub(in crate::sqlite) fn object_key(r: &RelatedObject) -> rusqlite::types::Value {
    key_of_id(&r.id)
}

fn key_of_id(id: &str) -> rusqlite::types::Value {
    match RelatedObject::int_of(id) {
        Some(n) => rusqlite::types::Value::Integer(n),
        None => rusqlite::types::Value::Text(id.to_string()),
    }
}
