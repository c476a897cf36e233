//! The floor for a `dialout send` process (issue 13): a program that opens an SQLite database
//! the way dialout's store does (WAL, synchronous=NORMAL), commits one row and exits.
//!
//!     cargo run --release -p dialout-dialer --example commit_one -- /tmp/x/floor.db
//!
//! `scripts/bench-startup` times it beside `dialout send`.

use rusqlite::{Connection, OpenFlags};

fn main() -> rusqlite::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "commit_one.db".into());
    // The database's directory is made when it does not exist yet.
    if let Some(parent) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS message (
             id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, content TEXT NOT NULL)",
    )?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    conn.execute(
        "INSERT INTO message (recipient, content) VALUES (?1, ?2)",
        ("+420777123456", "Your order has shipped"),
    )?;
    conn.execute_batch("COMMIT")?;
    Ok(())
}
