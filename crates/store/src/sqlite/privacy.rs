//! Erasure and retention on SQLite (see `crate::privacy`).
//!
//! Every connection runs with `secure_delete = ON`: rewritten and deleted content is
//! overwritten with zeros, so once the write-ahead log is checkpointed the file holds no
//! copy of an erased number or content. Pages freed before this version may still hold old
//! bytes until `VACUUM`.

use super::SqliteStore;
use super::keys;
use super::outbox;
use super::rows::{ts, us};
use super::webhooks::{DELIVERY_COLS, delivery};
use crate::error::StoreError;
use crate::privacy::{ERASE_BATCH, EraseOptions, Erasure, HashKey, PrivacyStore, Redaction};
use crate::webhooks::Delivery;
use dialout_model::id::MessageId;
use dialout_model::phone::PhoneNumber;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, named_params};

pub(super) const MIGRATION: &str = "
CREATE TABLE privacy_key (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    erased_by TEXT NOT NULL,
    recipient_hash TEXT NOT NULL,
    messages INTEGER NOT NULL
);
-- Exactly the messages retention still has to erase: final, recipient not yet a hash.
CREATE INDEX messages_expiring ON messages(changed_at) WHERE is_final_state = 1 AND substr(recipient, 1, 1) = '+';
CREATE INDEX webhook_deliveries_message ON webhook_deliveries(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries(delivered_at) WHERE state = 1;
";

/// The database's hash key, made on first open.
pub(super) fn key(conn: &Connection) -> Result<HashKey, StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO privacy_key (id, key) VALUES (1, ?1)",
        [&HashKey::generate().bytes()[..]],
    )?;
    let bytes: Vec<u8> =
        conn.query_row("SELECT key FROM privacy_key WHERE id = 1", [], |r| r.get(0))?;
    HashKey::from_stored(&bytes)
}

/// Erases one message; false when it is not final, already erased or gone.
/// The keys pressed in the history's entries (a PIN is personal); the answer label and who
/// answered stay, like the state, for the counts.
fn forget_pressed(history: &mut serde_json::Value) {
    if let serde_json::Value::Array(entries) = history {
        for e in entries {
            if let Some(serde_json::Value::Object(reply)) = e.get_mut("reply") {
                reply.remove("digits");
            }
        }
    }
}

fn erase_one(
    tx: &Connection,
    key: &HashKey,
    id: MessageId,
    opts: EraseOptions,
) -> Result<bool, StoreError> {
    let params = named_params! { ":id": id.to_string(), ":key": keys::of(id) };
    let row = tx
        .prepare_cached(&format!(
            "SELECT n, recipient, content, extra_sender_data, error, history, idempotency_key, \
             is_final_state FROM messages WHERE {}",
            keys::by_id()
        ))?
        .query_row(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, bool>(7)?,
            ))
        })
        .optional()?;
    let Some((n, recipient, content, sender, error, history, idem, fin)) = row else {
        return Ok(false);
    };
    let number =
        PhoneNumber::from_stored(&recipient).map_err(|e| StoreError::corrupt("recipient", e))?;
    if !fin || number.is_erased() {
        return Ok(false);
    }
    let hashed = key.hash(&number);
    let r = Redaction::of(&number, &content);
    let json = |text: &str| -> Result<String, StoreError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| StoreError::corrupt("JSON data", e))?;
        let mut v = r.json(&v);
        forget_pressed(&mut v);
        Ok(v.to_string())
    };
    tx.prepare_cached(
        "UPDATE messages SET recipient = :recipient, content = '', extra_data = '{}', \
         extra_sender_data = :sender, error = :error, history = :history, \
         idempotency_key = :idem, related = CASE WHEN :related THEN NULL ELSE related END, \
         interactive = json_remove(interactive, '$.gather.prompt'), \
         reply = json_remove(reply, '$.digits') \
         WHERE n = :n",
    )?
    .execute(named_params! {
        ":recipient": hashed.as_str(),
        ":sender": json(&sender)?,
        ":error": r.opt(error),
        ":history": json(&history)?,
        ":idem": idem.filter(|k| !r.touches(k)),
        ":related": opts.related,
        ":n": n,
    })?;
    if opts.related {
        tx.prepare_cached("DELETE FROM message_related WHERE message_n = ?1")?
            .execute([n])?;
    }
    tx.prepare_cached("UPDATE recipient_calls SET recipient = ?1 WHERE recipient = ?2")?
        .execute((hashed.as_str(), number.as_str()))?;
    let mut st = tx.prepare_cached(
        "SELECT id, reason, last_error FROM webhook_deliveries WHERE message_id = ?1",
    )?;
    let found = st
        .query_map([id.to_string()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut put = tx.prepare_cached(
        "UPDATE webhook_deliveries SET reason = ?2, last_error = ?3, last_response = NULL \
         WHERE id = ?1",
    )?;
    for (d, reason, last_error) in found {
        put.execute((d, r.opt(reason), r.opt(last_error)))?;
    }
    Ok(true)
}

impl PrivacyStore for SqliteStore {
    fn recipient_hash(&self, number: &PhoneNumber) -> PhoneNumber {
        self.key.hash(number)
    }

    fn erase(&self, ids: &[MessageId], opts: EraseOptions) -> Result<usize, StoreError> {
        let mut erased = 0;
        for chunk in ids.chunks(ERASE_BATCH) {
            erased += self.write(|tx| {
                // Events still in the outbox quote history reasons too.
                if outbox::any(tx)? {
                    outbox::move_all(tx)?;
                }
                let mut n = 0;
                for id in chunk {
                    n += usize::from(erase_one(tx, &self.key, *id, opts)?);
                }
                Ok(n)
            })?;
        }
        Ok(erased)
    }

    fn record_erasure(&self, e: &Erasure) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO erasures (at, erased_by, recipient_hash, messages) VALUES (?1, ?2, ?3, ?4)",
                (us(e.at), &e.by, &e.recipient_hash, e.messages as i64),
            )?;
            Ok(())
        })
    }

    fn erasures(&self) -> Result<Vec<Erasure>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT at, erased_by, recipient_hash, messages FROM erasures ORDER BY id",
            )?;
            let raw = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            raw.into_iter()
                .map(|(at, by, recipient_hash, messages)| {
                    Ok(Erasure {
                        at: ts(at)?,
                        by,
                        recipient_hash,
                        messages: messages as usize,
                    })
                })
                .collect()
        })
    }

    fn expired(&self, before: Timestamp, limit: usize) -> Result<Vec<MessageId>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id FROM messages INDEXED BY messages_expiring \
                 WHERE is_final_state = 1 AND substr(recipient, 1, 1) = '+' AND changed_at < ?1 \
                 ORDER BY changed_at LIMIT ?2",
            )?;
            let ids = st
                .query_map((us(before), limit as i64), |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids.iter()
                .map(|id| {
                    id.parse()
                        .map_err(|e| StoreError::corrupt(format!("message id {id:?}"), e))
                })
                .collect()
        })
    }

    fn count_expired(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM messages INDEXED BY messages_expiring \
                 WHERE is_final_state = 1 AND substr(recipient, 1, 1) = '+' AND changed_at < ?1",
                )?
                .query_row([us(before)], |r| r.get(0))?;
            Ok(n as usize)
        })
    }

    fn prune_deliveries(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
                     WHERE state = 1 AND delivered_at < ?1 ORDER BY delivered_at LIMIT ?2)",
                )?
                .execute((us(before), limit as i64))?)
        })
    }

    fn count_prunable_deliveries(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM webhook_deliveries WHERE state = 1 AND delivered_at < ?1",
                )?
                .query_row([us(before)], |r| r.get(0))?;
            Ok(n as usize)
        })
    }

    fn deliveries_of(&self, ids: &[MessageId]) -> Result<Vec<Delivery>, StoreError> {
        if self.read(outbox::any)? {
            self.write(outbox::move_all)?;
        }
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE message_id = ?1 ORDER BY id"
            ))?;
            let mut out = Vec::new();
            for id in ids {
                let mut rows = st.query([id.to_string()])?;
                while let Some(r) = rows.next()? {
                    out.push(delivery(r)?);
                }
            }
            Ok(out)
        })
    }

    fn settle(&self) -> Result<(), StoreError> {
        let conn = self.conn()?;
        // Busy readers keep the log: then the next checkpoint overwrites it in time.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}
