//! The `store_marks` table: how far each scan over the messages, in key (creation) order,
//! has got (`inline_scan`: see `inline::recover`; `related_indexed`: see
//! `related.rs`). A mark is the key (`messages.n`) of the last message passed.
use crate::error::StoreError;
use rusqlite::{Connection, Row};

/// A mark's value (-1 when absent: before every key).
pub(in crate::sqlite) fn get(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT n FROM store_marks WHERE name = :name")?
        .query_row(rusqlite::named_params! { ":name": name }, |r| r.get(0))
        .optional()?
        .unwrap_or(-1))
}

/// Visits up to `limit` messages after the mark `name`, in key order, reading `columns`
/// after the key and the id (`read` gets the row, `columns` starting at index 2). `visit`
/// gets the key, the id and what `read` made, and returns false to stop before that
/// message. The mark moves up to the last message visited. Rows are read a thousand at a
/// time, so that a long stretch costs no memory. Returns how many were visited.
pub(in crate::sqlite) fn scan<T>(
    conn: &Connection,
    name: &str,
    columns: &str,
    limit: usize,
    read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    mut visit: impl FnMut(i64, &str, T) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let sql =
        format!("SELECT n, id, {columns} FROM messages WHERE n > :after ORDER BY n LIMIT :limit");
    let start = get(conn, name)?;
    let mut last = start;
    let mut visited = 0;
    'scan: while visited < limit {
        let mut chunk: Vec<(i64, String, T)> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(&sql)?;
            let chunk_size = (limit - visited).min(1000) as i64;
            let mut rows =
                stmt.query(rusqlite::named_params! { ":after": last, ":limit": chunk_size })?;
            while let Some(r) = rows.next()? {
                chunk.push((r.get(0)?, r.get(1)?, read(r)?));
            }
        }
        if chunk.is_empty() {
            break;
        }
        for (n, id, value) in chunk {
            if !visit(n, &id, value)? {
                break 'scan;
            }
            last = n;
            visited += 1;
        }
    }
    if last != start {
        set(conn, name, last)?;
    }
    Ok(visited)
}

/// Moves the mark `name` to the key `n`.
pub(in crate::sqlite) fn set(conn: &Connection, name: &str, n: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO store_marks (name, n) VALUES (:name, :n) ON CONFLICT (name) DO UPDATE SET n = excluded.n",
    )?
    .execute(rusqlite::named_params! { ":name": name, ":n": n })?;
    Ok(())
}
