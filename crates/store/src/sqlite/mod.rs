//! The embedded store: one SQLite file in WAL mode, synchronous=NORMAL, a small pool of
//! connections with cached prepared statements. Writers take the lock up front
//! (`BEGIN IMMEDIATE`) so concurrent writers wait on `busy_timeout` instead of failing.

mod beats;
mod counts;
mod delivery;
mod dnc;
mod fast_path;
mod import;
mod messages;
mod outbox;
mod pace;
mod privacy;
mod rows;
mod schema;
mod templates;
#[cfg(test)]
mod tests;
mod tokens;
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
use fast_path::{keys, related};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Idle connections kept for reuse; more are opened under load and closed afterwards.
const POOL_SIZE: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Ticks after a commit that queued webhook deliveries (see `outbox.rs`).
    queued: tokio::sync::watch::Sender<u64>,
    /// The recipients' hash key (see `privacy.rs`), read once at open.
    key: crate::privacy::HashKey,
}

impl SqliteStore {
    /// Opens (creating it, readable by its owner only) the database file and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let mut store = SqliteStore {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            queued: tokio::sync::watch::Sender::new(0),
            key: crate::privacy::HashKey::generate(),
        };
        let mut conn = store.conn()?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut conn)?;
        let key = privacy::key(&conn)?;
        drop(conn);
        store.key = key;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tells this process's delivery loops that webhook deliveries were queued (after the
    /// commit; nothing to do when none listens).
    fn tick_queued(&self) {
        if self.queued.receiver_count() > 0 {
            self.queued.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    fn conn(&self) -> Result<Pooled<'_>, StoreError> {
        let reused = self.idle.lock().map_err(poisoned)?.pop();
        let conn = match reused {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        Ok(Pooled {
            store: self,
            conn: Some(conn),
        })
    }

    /// Runs `f` in one write transaction, committed when it returns Ok and rolled back
    /// otherwise (a panic included). BEGIN and COMMIT are cached statements: parsing them
    /// anew, as `Connection::transaction` does, showed in the profile of `send`.
    fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.conn()?;
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let open = Open(&conn);
        let out = f(&conn)?;
        conn.prepare_cached("COMMIT")?.execute([])?;
        std::mem::forget(open);
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.conn()?;
        f(&conn)
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Poisoned
}

fn cannot_open(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|e| cannot_open(path, e))
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| cannot_open(path, e))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // The first statement read the file: one that is not an SQLite database fails here, and
    // the error names it.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| cannot_open(path, e))?;
    // Each message rewrites the same few hot pages (the newest leaf of the table and of the
    // index of unpublished messages); checkpointing less often writes each of them back
    // (with an fsync) once per 40 MB of WAL instead of once per 4 MB.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Deleted and rewritten content is overwritten with zeros, so an erased number does not
    // linger in the free space of a page (see `privacy.rs`).
    conn.pragma_update(None, "secure_delete", "ON")?;
    related::register_functions(&conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL)")?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let newest = schema::MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > newest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: newest,
        });
    }
    for (version, step) in schema::MIGRATIONS.iter().filter(|m| m.0 > current) {
        match step {
            schema::Migration::Sql(sql) => tx.execute_batch(sql)?,
            schema::Migration::Code(run) => run(&tx)?,
        }
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (:version, :now)",
            rusqlite::named_params! { ":version": version, ":now": Timestamp::now().as_microsecond() },
        )?;
        tracing::info!(version, "sqlite schema migrated");
    }
    tx.commit()?;
    Ok(())
}

/// An open write transaction, rolled back if dropped (an error or a panic in between).
struct Open<'c>(&'c Connection);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// A connection borrowed from the pool, returned when dropped.
struct Pooled<'a> {
    store: &'a SqliteStore,
    conn: Option<Connection>,
}

impl Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.store.idle.lock()) else {
            return;
        };
        if idle.len() < POOL_SIZE && conn.is_autocommit() {
            idle.push(conn);
        }
    }
}

impl MessageStore for SqliteStore {
    fn insert(
        &self,
        new: &[NewMessage],
        mode: InsertMode<'_>,
        now: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError> {
        if mode.unique_per_template {
            self.insert_unique_impl(new, now, mode.claim(), mode.screen)
        } else {
            self.insert_impl(new, now, mode.claim(), mode.screen)
        }
    }

    fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.read(|c| rows::find(c, id))
    }

    fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        self.read(|c| messages::list(c, filter))
    }

    fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|c| messages::history(c, id))
    }

    fn add_template(&self, template: &NewTemplate, now: Timestamp) -> Result<Template, StoreError> {
        self.write(|tx| templates::add(tx, template, now))
    }

    fn update_template(
        &self,
        slug: &str,
        change: &TemplateChange,
        now: Timestamp,
    ) -> Result<Template, StoreError> {
        self.write(|tx| templates::update(tx, slug, change, now))
    }

    fn template(&self, slug: &str) -> Result<Option<Template>, StoreError> {
        self.read(|c| templates::get(c, slug))
    }

    fn templates(&self) -> Result<Vec<Template>, StoreError> {
        self.read(templates::list)
    }

    fn remove_template(&self, slug: &str) -> Result<bool, StoreError> {
        self.write(|tx| templates::remove(tx, slug))
    }
}

impl DeliveryStore for SqliteStore {
    fn claim(
        &self,
        owner: &str,
        which: Claimable<'_>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        self.write(|tx| match which {
            Claimable::Due {
                limit,
                backend: Some(b),
                pace,
            } if !pace.is_none() => pace::claim(tx, b, &pace, limit, now, |tx, room| {
                delivery::claim_due(tx, owner, now, lease_until, room, Some(b))
            }),
            Claimable::Due { limit, backend, .. } => {
                delivery::claim_due(tx, owner, now, lease_until, limit, backend)
            }
            Claimable::Ids(ids) => delivery::claim_ids(tx, ids, false, owner, now, lease_until),
            Claimable::Held(ids) => delivery::claim_ids(tx, ids, true, owner, now, lease_until),
        })
    }

    fn begin_attempts(
        &self,
        owner: &str,
        ids: &[MessageId],
        now: Timestamp,
    ) -> Result<Vec<Message>, StoreError> {
        self.write(|tx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(delivery::begin_attempt(tx, *id, owner, now)?);
            }
            Ok(out)
        })
    }

    fn finish(
        &self,
        owner: &str,
        changes: &[(Seen, Change)],
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError> {
        // One message as last seen (what `send` publishes): one guarded UPDATE, atomic on
        // its own, without BEGIN and COMMIT around it (not when a webhook endpoint is
        // active: then the events need the transaction below).
        if let [(Seen::Message(old), change)] = changes {
            let done =
                fast_path::finish::finish_known(&*self.conn()?, owner, old, change, now, None)?;
            if let Some((m, history)) = done {
                crate::plan::log_history(m.id, &history);
                return Ok(vec![Some(m)]);
            }
        }
        let (done, queued) = self.write(|tx| {
            let mut outbox = outbox::Outbox::begin(tx)?;
            let done = changes
                .iter()
                .map(|(seen, c)| {
                    if let Seen::Message(old) = seen
                        && let Some((m, h)) = fast_path::finish::finish_known(
                            tx,
                            owner,
                            old,
                            c,
                            now,
                            outbox.as_mut(),
                        )?
                    {
                        return Ok((Some(m), h));
                    }
                    delivery::update(tx, seen.id(), Some(owner), c, now, outbox.as_mut())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let queued = match outbox {
                Some(outbox) => outbox.write(tx)?,
                None => false,
            };
            Ok((done, queued))
        })?;
        if queued {
            self.tick_queued();
        }
        Ok(crate::plan::logged(done))
    }

    fn release(&self, owner: &str, ids: &[MessageId]) -> Result<usize, StoreError> {
        self.write(|tx| delivery::release(tx, owner, ids))
    }

    fn apply(
        &self,
        changes: &[(MessageId, Change)],
        cursor: Option<Cursor<'_>>,
        now: Timestamp,
    ) -> Result<Vec<Option<Message>>, StoreError> {
        let (done, queued) = self.write(|tx| {
            let mut outbox = outbox::Outbox::begin(tx)?;
            let done = changes
                .iter()
                .map(|(id, c)| delivery::update(tx, *id, None, c, now, outbox.as_mut()))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let queued = match outbox {
                Some(outbox) => outbox.write(tx)?,
                None => false,
            };
            if let Some(cursor) = cursor {
                delivery::set_cursor(tx, cursor, now)?;
            }
            Ok((done, queued))
        })?;
        if queued {
            self.tick_queued();
        }
        Ok(crate::plan::logged(done))
    }

    fn backend_state(&self, backend: &str) -> Result<BackendState, StoreError> {
        self.read(|c| {
            Ok(BackendState {
                in_flight: delivery::in_flight(c, backend)?,
                cursor: delivery::cursor(c, backend)?,
            })
        })
    }

    fn catch_up(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.write(|tx| {
            related::index_tail(tx, limit)?;
            fast_path::inline::recover(tx, now, limit)
        })
    }
}

impl HealthStore for SqliteStore {
    fn state_counts(
        &self,
        since: Timestamp,
        bucket: jiff::SignedDuration,
    ) -> Result<Vec<crate::health::StateCount>, StoreError> {
        self.read(|c| counts::by_state(c, since, bucket))
    }

    fn queue_depth(&self) -> Result<usize, StoreError> {
        self.read(counts::queue_depth)
    }

    fn beat(&self, b: &crate::beats::WorkerBeat) -> Result<(), StoreError> {
        self.write(|c| beats::beat(c, b))
    }

    fn beats(&self, since: Timestamp) -> Result<Vec<crate::beats::WorkerBeat>, StoreError> {
        self.read(|c| beats::beats(c, since))
    }
}

impl DncStore for SqliteStore {
    fn dnc_add(&self, entries: &[dialout_model::dnc::DncEntry]) -> Result<usize, StoreError> {
        self.write(|tx| dnc::add(tx, entries))
    }

    fn dnc_remove(&self, number: &dialout_model::phone::PhoneNumber) -> Result<bool, StoreError> {
        self.write(|tx| dnc::remove(tx, number))
    }

    fn dnc_list(&self) -> Result<Vec<dialout_model::dnc::DncEntry>, StoreError> {
        self.read(dnc::list)
    }

    fn dnc_find(
        &self,
        numbers: &[dialout_model::phone::PhoneNumber],
        now: Timestamp,
    ) -> Result<Vec<dialout_model::dnc::DncEntry>, StoreError> {
        self.read(|c| dnc::find(c, numbers, now))
    }
}

impl TokenStore for SqliteStore {
    fn add_token(&self, t: &NewToken, now: Timestamp) -> Result<Token, StoreError> {
        self.write(|tx| tokens::add(tx, t, now))
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.read(tokens::list)
    }

    fn token_by_lookup(&self, lookup: &str) -> Result<Option<StoredToken>, StoreError> {
        self.read(|c| tokens::by_lookup(c, lookup))
    }

    fn remove_token(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| tokens::remove(tx, name))
    }

    fn touch_token(&self, name: &str, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| tokens::touch(tx, name, now))
    }
}

impl Store for SqliteStore {
    fn webhooks(&self) -> &dyn super::webhooks::WebhookStore {
        self
    }
}
