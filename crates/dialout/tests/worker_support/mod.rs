//! Helpers for the worker tests: a database (SQLite file or a fresh PostgreSQL database),
//! a configuration with the file backend as a publish counter, and running `dialout` on them
//! (through `crate::runner`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dialout_backends::FileBackend;
use dialout_dialer::{Message, MessageId, NewMessage, PhoneNumber};
use dialout_store::prelude::*;
use dialout_store::{self as store, MessageFilter};
use jiff::Timestamp;

use crate::runner::{Dialout, Run};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub url: String,
    pg: Option<(String, String)>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// `[delivery]` keys added to every test configuration: short leases so that a killed
/// worker's claims expire quickly.
pub const FAST: &str = "lease = \"1s\"\ninterval = \"50ms\"\n";

impl Env {
    pub fn sqlite(delivery: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("dialout.db").display());
        let env = Env { dir, url, pg: None };
        env.write_config(delivery);
        env
    }

    pub fn postgres(delivery: &str) -> Env {
        let admin = std::env::var("DIALOUT_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        Env::postgres_at(&admin, delivery)
    }

    /// A fresh database on the server `admin` names (say, a private cluster).
    pub fn postgres_at(admin: &str, delivery: &str) -> Env {
        let admin = admin.to_string();
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
        let base = admin.split('?').next().unwrap();
        let cut = base
            .rfind('/')
            .filter(|i| *i > base.find("://").map_or(0, |j| j + 2))
            .unwrap_or(base.len());
        let url = format!("{}/{name}", &base[..cut]);
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
            url,
            pg: Some((admin, name)),
        };
        env.write_config(delivery);
        env
    }

    pub fn is_pg(&self) -> bool {
        self.pg.is_some()
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("dialout.toml")
    }

    /// `delivery` lines win over the `FAST` defaults.
    fn write_config(&self, delivery: &str) {
        self.set_config("", delivery);
    }

    /// The configuration again, with `backend` lines added to the file backend's table.
    pub fn set_config(&self, backend: &str, delivery: &str) {
        let key = |l: &str| l.split('=').next().unwrap_or("").trim().to_string();
        let fast: String = FAST
            .lines()
            .filter(|l| !delivery.lines().any(|d| key(d) == key(l)))
            .map(|l| format!("{l}\n"))
            .collect();
        let text = format!(
            "default_region = \"CZ\"\n[backends.out]\nkind = \"file\"\ndir = \"{}\"\n{backend}[delivery]\n{fast}{delivery}",
            self.outbox().display()
        );
        std::fs::write(self.config(), text).unwrap();
    }

    pub fn store(&self) -> std::sync::Arc<dyn Store> {
        store::open(&self.url).expect("open store")
    }

    /// Stores `n` messages for the file backend, unpublished.
    pub fn insert(&self, n: usize) -> Vec<MessageId> {
        let s = self.store();
        let recipient = PhoneNumber::from_e164("+420777123456").unwrap();
        let mut ids = Vec::with_capacity(n);
        for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
            let batch: Vec<NewMessage> = chunk
                .iter()
                .map(|i| NewMessage::new(recipient.clone(), format!("message {i}"), "out"))
                .collect();
            ids.extend(
                s.insert(&batch, dialout_store::InsertMode::QUEUED, Timestamp::now())
                    .unwrap()
                    .into_iter()
                    .map(|i| i.message.id),
            );
        }
        ids
    }

    pub fn messages(&self) -> Vec<Message> {
        self.store()
            .messages(&MessageFilter {
                limit: Some(1_000_000),
                ..Default::default()
            })
            .unwrap()
    }

    /// How many times each message reached the backend (the file backend's publish log).
    pub fn publishes(&self) -> std::collections::HashMap<String, usize> {
        FileBackend::publish_counts(&self.outbox()).unwrap()
    }

    /// Messages with a claim, straight from the database.
    pub fn claimed(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM messages WHERE claim_owner IS NOT NULL";
        match self.url.strip_prefix("sqlite://") {
            Some(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            None => postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap()
                .query_one(sql, &[])
                .unwrap()
                .get(0),
        }
    }

    /// `dialout --config … --database … ARGS` in the test directory, with no DIALOUT_*
    /// variables from outside.
    pub fn cmd(&self, args: &[&str]) -> Dialout {
        Dialout::new()
            .dir(self.dir.path())
            .arg("--config")
            .arg(self.config())
            .arg("--database")
            .arg(&self.url)
            .args(args)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).run()
    }
}

pub fn outbox_file(dir: &Path, id: MessageId) -> PathBuf {
    dir.join(format!("{id}.json"))
}
