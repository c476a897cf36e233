//! Test databases: an SQLite file in a temporary directory, or a fresh PostgreSQL database on
//! the local server (`DIALOUT_TEST_PG_URL`, default the trust-auth `postgres` user on
//! 127.0.0.1:5432), dropped when the [`TempDb`] is.

use std::sync::atomic::{AtomicU64, Ordering};

/// A database URL that lives as long as this value.
pub struct TempDb {
    pub url: String,
    _guard: Guard,
}

#[allow(dead_code)] // The directory is held only to be removed on drop.
enum Guard {
    Dir(tempfile::TempDir),
    Pg { admin: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Guard::Pg { admin, name } = self else {
            return;
        };
        if let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// An SQLite file (`test.db`) in a new temporary directory.
pub fn sqlite() -> TempDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TempDb {
        url,
        _guard: Guard::Dir(dir),
    }
}

/// A new, empty PostgreSQL database; fails with what to install when there is no server.
pub fn postgres() -> TempDb {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let admin = pg_admin_url();
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is needed for this test and is unreachable at {admin} ({e}). Start the local server \
             (e.g. `service postgresql start`) or point DIALOUT_TEST_PG_URL at one (trust auth, user postgres)."
        )
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("dialout_test_{}_{nanos}_{seq}", std::process::id());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let url = with_database(&admin, &name);
    TempDb {
        url,
        _guard: Guard::Pg { admin, name },
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("DIALOUT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// The tables of the PostgreSQL database at `url` with rows whose text holds `needle`, as
/// "N row(s) of TABLE" (for tests that prove data is gone). Blocking: call it off a runtime.
pub fn pg_rows_holding(url: &str, needle: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL: {e}"));
    let tables: Vec<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut found = Vec::new();
    for t in tables {
        let n: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM {t} x WHERE strpos(x::text, $1) > 0"),
                &[&needle],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            found.push(format!("{n} row(s) of {t}"));
        }
    }
    found
}
