//! The `store_marks` table: how far each scan over the messages, in id (creation) order,
//! has got (`inline_scan`: see `delivery::recover_inline`; `related_indexed`: see
//! `related.rs`).

use rusqlite::{Connection, Row};

use crate::store::StoreError;

/// A mark's value ('' when absent: before every id).
pub(super) fn get(conn: &Connection, name: &str) -> Result<String, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT value FROM store_marks WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

/// Visits up to `limit` messages after the mark `name`, in id order, reading `columns`
/// after the id (`read` gets the row, the id being column 0). `visit` returns false to stop
/// before that message. The mark moves up to the last message visited. Rows are read a
/// thousand at a time, so that a long stretch costs no memory. Returns how many were
/// visited.
pub(super) fn scan<T>(
    conn: &Connection,
    name: &str,
    columns: &str,
    limit: usize,
    read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    mut visit: impl FnMut(&str, T) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let sql = format!("SELECT id, {columns} FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2");
    let start = get(conn, name)?;
    let mut last = start.clone();
    let mut visited = 0;
    'scan: while visited < limit {
        let mut chunk: Vec<(String, T)> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query((&last, (limit - visited).min(1000) as i64))?;
            while let Some(r) = rows.next()? {
                chunk.push((r.get(0)?, read(r)?));
            }
        }
        if chunk.is_empty() {
            break;
        }
        for (id, value) in chunk {
            if !visit(&id, value)? {
                break 'scan;
            }
            last = id;
            visited += 1;
        }
    }
    if last != start {
        conn.prepare_cached("UPDATE store_marks SET value = ?1 WHERE name = ?2")?
            .execute([&last, name])?;
    }
    Ok(visited)
}
