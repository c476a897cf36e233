//! The PostgreSQL store, on the synchronous `postgres` crate with a small connection pool.
//! It blocks: async code calls it from blocking threads (`spawn_blocking`).

mod batch;
mod beats;
mod claim;
mod counts;
mod dnc;
mod finish;
mod import;
mod ops;
mod pace;
mod privacy;
mod rows;
mod schema;
mod templates;
mod tokens;
mod wake;
mod webhook_control;
mod webhooks;

use crate::delivery_store::BackendState;
use crate::delivery_store::Claimable;
use crate::delivery_store::Cursor;
use crate::delivery_store::DeliveryStore;
use crate::delivery_store::Seen;
use crate::dnc_store::DncStore;
use crate::error::StoreError;
use crate::health::HealthStore;
use crate::message_store::InsertMode;
use crate::message_store::Inserted;
use crate::message_store::MessageFilter;
use crate::message_store::MessageStore;
use crate::open::redact_url;
use crate::plan::Change;
use crate::store::Store;
use crate::tokens::TokenStore;
use crate::tokens::{NewToken, StoredToken, Token};
use dialout_model::id::MessageId;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_model::template::NewTemplate;
use dialout_model::template::Template;
use dialout_model::template::TemplateChange;
use jiff::Timestamp;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

const POOL_SIZE: usize = 8;

pub struct PgStore {
    config: postgres::Config,
    idle: Mutex<Vec<PgConn>>,
    /// The recipients' hash key (see `privacy.rs`), read once at open.
    key: crate::privacy::HashKey,
}

struct PgConn {
    client: Client,
    /// Prepared once per connection: the hot statements skip the parse round trip.
    stmts: HashMap<String, Statement>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a connection blocks on the client's own runtime, which tokio refuses to
        // start on one of its threads: an application may well drop its Dialer there.
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        crate::blocking::run_sync(move || drop(idle));
    }
}

/// The server's own words (its Display alone says only "db error"); they name columns and
/// constraints, never connection parameters.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// A client (or transaction) with its connection's statement cache.
pub(super) struct Db<'a, C: GenericClient> {
    c: &'a mut C,
    stmts: &'a mut HashMap<String, Statement>,
}

pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<C: GenericClient> Db<'_, C> {
    fn stmt(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }
    pub(super) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let s = self.stmt(sql)?;
        Ok(self.c.query(&s, params)?)
    }
    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let s = self.stmt(sql)?;
        Ok(self.c.query_opt(&s, params)?)
    }
    pub(super) fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        let s = self.stmt(sql)?;
        Ok(self.c.execute(&s, params)?)
    }
    /// Not cached: for queries built at run time.
    pub(super) fn query_dynamic(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        Ok(self.c.query(sql, params)?)
    }
}

impl PgStore {
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| StoreError::Url {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
        let mut store = PgStore {
            config,
            idle: Mutex::new(Vec::new()),
            key: crate::privacy::HashKey::generate(),
        };
        let mut conn = store.conn().map_err(|e| match e {
            StoreError::Postgres(source) => StoreError::Connect {
                url: redact_url(url),
                source,
            },
            other => other,
        })?;
        migrate(&mut conn.client)?;
        let key = privacy::key(&mut conn.client)?;
        drop(conn);
        store.key = key;
        Ok(store)
    }

    fn conn(&self) -> Result<Pooled<'_>, StoreError> {
        let reused = self.idle.lock().map_err(|_| StoreError::Poisoned)?.pop();
        let (conn, reused) = match reused {
            Some(c) if !c.client.is_closed() => (c, true),
            _ => (self.fresh()?, false),
        };
        Ok(Pooled {
            store: self,
            conn: Some(conn),
            reused,
        })
    }

    fn fresh(&self) -> Result<PgConn, StoreError> {
        Ok(PgConn {
            client: self.config.connect(NoTls)?,
            stmts: HashMap::new(),
        })
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, postgres::Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let mut f = Some(f);
        // An idle connection the server dropped (a restart, pg_terminate_backend) fails at
        // BEGIN, before anything was asked: a fresh one takes over. Later failures are the
        // caller's (a lost COMMIT may or may not have happened).
        let mut may_retry = conn.reused;
        loop {
            let PgConn { client, stmts } = &mut *conn;
            match client.transaction() {
                Ok(mut tx) => {
                    let f = f.take().expect("called once");
                    let out = f(&mut Db { c: &mut tx, stmts })?;
                    tx.commit()?;
                    return Ok(out);
                }
                Err(e) if may_retry && lost(&e) => may_retry = false,
                Err(e) => return Err(e.into()),
            }
            *conn = self.fresh()?;
        }
    }

    fn read<T>(
        &self,
        f: impl Fn(&mut Db<'_, Client>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let PgConn { client, stmts } = &mut *conn;
        match f(&mut Db { c: client, stmts }) {
            // Reading twice does no harm.
            Err(StoreError::Postgres(e)) if conn.reused && lost(&e) => {
                *conn = self.fresh()?;
                let PgConn { client, stmts } = &mut *conn;
                f(&mut Db { c: client, stmts })
            }
            other => other,
        }
    }
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    // Several processes may open a fresh database at once: one migrates, the others wait.
    tx.execute("SELECT pg_advisory_xact_lock(7283001)", &[])?;
    // Created only when missing: `IF NOT EXISTS` on an existing table makes the server send
    // a NOTICE, which the client logs on every command.
    let exists: bool = tx
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        tx.batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")?;
    }
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .get(0);
    let newest = schema::MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > newest {
        return Err(StoreError::SchemaTooNew {
            found: current.into(),
            known: newest.into(),
        });
    }
    for (version, sql) in schema::MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[version],
        )?;
        tracing::info!(version, "postgres schema migrated");
    }
    tx.commit()?;
    Ok(())
}

struct Pooled<'a> {
    store: &'a PgStore,
    conn: Option<PgConn>,
    /// Taken from the pool (it may have died while idle), not connected just now.
    reused: bool,
}

/// The connection is gone (closed, or the server ended the session), not the statement.
fn lost(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || e.as_db_error().is_some_and(|d| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(d.code())
        })
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

impl Deref for Pooled<'_> {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut PgConn {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.store.idle.lock()) else {
            return;
        };
        if idle.len() < POOL_SIZE && !conn.client.is_closed() {
            idle.push(conn);
        }
    }
}

impl MessageStore for PgStore {
    fn insert(
        &self,
        new: &[NewMessage],
        mode: InsertMode<'_>,
        now: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError> {
        let inserted = self.write(|db| {
            dnc::lock_recipients(db, new, &mode.screen)?;
            // Caps and dedupe are judged per message, in `ops::insert_one`; the do-not-call
            // list alone is one query for the whole batch.
            let one_by_one = mode.unique_per_template
                || mode.screen.records()
                || !new.iter().all(batch::is_plain);
            if !one_by_one && mode.screen.dnc {
                dnc::refuse_listed(db, new, now)?;
            }
            let stored = if one_by_one {
                new.iter()
                    .map(|n| ops::insert_one(db, n, now, mode, &self.key))
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                let all: Vec<&NewMessage> = new.iter().collect();
                batch::insert_plain(db, &all, now, mode)?
            };
            // Idle workers wake at the commit instead of the next poll.
            if matches!(mode.start, crate::message_store::Start::Queued)
                && stored.iter().any(|i| !i.existing)
            {
                wake::notify(db)?;
            }
            Ok(stored)
        })?;
        for i in inserted.iter().filter(|i| !i.existing) {
            crate::plan::log_created(&i.message);
        }
        Ok(inserted)
    }

    fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.read(|db| rows::find(db, id, false))
    }

    fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        self.read(|db| ops::list(db, filter))
    }

    fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|db| ops::history(db, id))
    }

    fn add_template(&self, template: &NewTemplate, now: Timestamp) -> Result<Template, StoreError> {
        self.write(|db| templates::add_template(db, template, now))
    }

    fn update_template(
        &self,
        slug: &str,
        change: &TemplateChange,
        now: Timestamp,
    ) -> Result<Template, StoreError> {
        self.write(|db| templates::update_template(db, slug, change, now))
    }

    fn template(&self, slug: &str) -> Result<Option<Template>, StoreError> {
        self.read(|db| templates::template(db, slug, false))
    }

    fn templates(&self) -> Result<Vec<Template>, StoreError> {
        self.read(templates::templates)
    }

    fn remove_template(&self, slug: &str) -> Result<bool, StoreError> {
        self.write(|db| templates::remove_template(db, slug))
    }
}

impl DeliveryStore for PgStore {
    fn claim(
        &self,
        owner: &str,
        which: Claimable<'_>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        self.write(|db| match which {
            Claimable::Due {
                limit,
                backend: Some(b),
                pace,
            } if !pace.is_none() => pace::claim(db, b, &pace, limit, now, |db, room| {
                ops::claim_due(db, owner, now, lease_until, room, Some(b))
            }),
            Claimable::Due { limit, backend, .. } => {
                ops::claim_due(db, owner, now, lease_until, limit, backend)
            }
            Claimable::Ids(ids) => ops::claim_ids(db, ids, false, owner, now, lease_until),
            Claimable::Held(ids) => ops::claim_ids(db, ids, true, owner, now, lease_until),
        })
    }

    fn begin_attempts(
        &self,
        owner: &str,
        ids: &[MessageId],
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        self.write(|db| ops::begin_attempts(db, ids, owner, now))
    }

    fn finish(
        &self,
        owner: &str,
        changes: &[(Seen, Change)],
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError> {
        let done = self.write(|db| ops::finish(db, owner, changes, now))?;
        Ok(crate::plan::logged(done))
    }

    fn release(&self, owner: &str, ids: &[MessageId]) -> Result<usize, StoreError> {
        let uuids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        self.write(|db| {
            Ok(db.execute(
                "UPDATE messages SET claim_owner = NULL, claim_until = NULL \
                 WHERE claim_owner = $1 AND id = ANY($2)",
                &[&owner, &uuids],
            )? as usize)
        })
    }

    fn apply(
        &self,
        changes: &[(MessageId, Change)],
        cursor: Option<Cursor<'_>>,
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError> {
        let done = self.write(|db| {
            let done = changes
                .iter()
                .map(|(id, c)| ops::update(db, *id, None, c, now))
                .collect::<Result<Vec<_>, StoreError>>()?;
            if let Some(c) = cursor {
                db.execute(
                    "INSERT INTO backend_cursors (backend, cursor, changed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (backend) DO UPDATE SET cursor = excluded.cursor, changed_at = excluded.changed_at",
                    &[&c.backend, &c.value, &now],
                )?;
            }
            Ok(done)
        })?;
        Ok(crate::plan::logged(done))
    }

    fn due_signal(&self) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        wake::listen(&self.config, wake::DUE).map(Some)
    }

    fn backend_state(&self, backend: &str) -> Result<BackendState, StoreError> {
        self.read(|db| {
            let cursor = db
                .query_opt(
                    "SELECT cursor FROM backend_cursors WHERE backend = $1",
                    &[&backend],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            Ok(BackendState {
                in_flight: ops::in_flight(db, backend)?,
                cursor,
            })
        })
    }
}

impl HealthStore for PgStore {
    fn queue_depth(&self) -> Result<usize, StoreError> {
        let sql = format!(
            // As the claim's partial index says it, so that index answers.
            "SELECT COUNT(*) FROM messages WHERE state IN {} AND NOT is_final_state",
            crate::sql::unpublished_sql()
        );
        self.read(|db| {
            let n: i64 = db.query(&sql, &[])?[0].try_get(0)?;
            Ok(n as usize)
        })
    }

    fn state_counts(
        &self,
        since: Timestamp,
        bucket: jiff::SignedDuration,
    ) -> Result<Vec<crate::health::StateCount>, StoreError> {
        self.read(|db| counts::by_state(db, since, bucket))
    }

    fn beat(&self, b: &crate::beats::WorkerBeat) -> Result<(), StoreError> {
        self.write(|db| beats::beat(db, b))
    }

    fn beats(&self, since: Timestamp) -> Result<Vec<crate::beats::WorkerBeat>, StoreError> {
        self.read(|db| beats::beats(db, since))
    }
}

impl DncStore for PgStore {
    fn dnc_add(&self, entries: &[dialout_model::dnc::DncEntry]) -> Result<usize, StoreError> {
        self.write(|db| dnc::add(db, entries))
    }

    fn dnc_remove(&self, number: &dialout_model::phone::PhoneNumber) -> Result<bool, StoreError> {
        self.write(|db| dnc::remove(db, number))
    }

    fn dnc_list(&self) -> Result<Vec<dialout_model::dnc::DncEntry>, StoreError> {
        self.read(dnc::list)
    }

    fn dnc_find(
        &self,
        numbers: &[dialout_model::phone::PhoneNumber],
        now: Timestamp,
    ) -> Result<Vec<dialout_model::dnc::DncEntry>, StoreError> {
        self.read(|db| dnc::find(db, numbers, now))
    }
}

impl TokenStore for PgStore {
    fn add_token(&self, t: &NewToken, now: Timestamp) -> Result<Token, StoreError> {
        self.write(|db| tokens::add(db, t, now))
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.read(tokens::list)
    }

    fn token_by_lookup(&self, lookup: &str) -> Result<Option<StoredToken>, StoreError> {
        self.read(|db| tokens::by_lookup(db, lookup))
    }

    fn remove_token(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|db| tokens::remove(db, name))
    }

    fn touch_token(&self, name: &str, now: Timestamp) -> Result<(), StoreError> {
        self.write(|db| tokens::touch(db, name, now))
    }
}

impl Store for PgStore {
    fn webhooks(&self) -> &dyn super::webhooks::WebhookStore {
        self
    }
}
