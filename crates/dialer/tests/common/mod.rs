//! Test databases: an SQLite file in a temporary directory, or a fresh PostgreSQL database on
//! the local server (DIALOUT_TEST_PG_URL), dropped afterwards.
#![allow(dead_code)]

use std::sync::Arc;

use dialout_dialer::store::{self, Store};
use dialout_dialer::{MessageId, NewMessage, PhoneNumber, RelatedObject};

pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    _guard: Guard,
}

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

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = store::open(&url).expect("open sqlite store");
    TestDb {
        store,
        url,
        _guard: Guard::Dir(dir),
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

pub fn postgres() -> TestDb {
    let admin = pg_admin_url();
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is needed for this test and is unreachable at {admin} ({e}). Start the local server \
             (e.g. `service postgresql start`) or point DIALOUT_TEST_PG_URL at one (trust auth, user postgres)."
        )
    });
    let name = format!("dialout_test_{}", MessageId::new().as_uuid().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let url = with_database(&admin, &name);
    let store = store::open(&url).expect("open postgres store");
    TestDb {
        store,
        url,
        _guard: Guard::Pg { admin, name },
    }
}

pub fn phone(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n, Some("CZ")).expect("valid test number")
}

pub fn new_message(content: &str) -> NewMessage {
    NewMessage::new(phone("+420777123456"), content, "dummy")
}

pub fn related(s: &str) -> RelatedObject {
    s.parse().expect("valid related object")
}
