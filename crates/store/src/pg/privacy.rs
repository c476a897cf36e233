//! Erasure and retention on PostgreSQL (see `crate::privacy`).
//!
//! An UPDATE leaves the old row version on its page until VACUUM reclaims it (autovacuum
//! does, soon after); `settle` runs VACUUM on the tables an erasure rewrites.

use super::webhooks::{DELIVERY_COLS, delivery};
use super::{Db, PgStore};
use crate::error::StoreError;
use crate::privacy::{ERASE_BATCH, EraseOptions, Erasure, HashKey, PrivacyStore, Redaction};
use crate::webhooks::Delivery;
use dialout_model::id::MessageId;
use dialout_model::phone::PhoneNumber;
use jiff::Timestamp;
use postgres::{Client, Transaction};
use serde_json::Value;
use uuid::Uuid;

pub(super) const MIGRATION: &str = "
CREATE TABLE privacy_key (id INTEGER PRIMARY KEY CHECK (id = 1), key BYTEA NOT NULL);
CREATE TABLE erasures (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    erased_by TEXT NOT NULL,
    recipient_hash TEXT NOT NULL,
    messages BIGINT NOT NULL
);
-- Exactly the messages retention still has to erase: final, recipient not yet a hash.
CREATE INDEX messages_expiring ON messages(changed_at) WHERE is_final_state AND substr(recipient, 1, 1) = '+';
CREATE INDEX webhook_deliveries_message ON webhook_deliveries(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries(delivered_at) WHERE state = 1;
";

/// The database's hash key, made on first open.
pub(super) fn key(client: &mut Client) -> Result<HashKey, StoreError> {
    client.execute(
        "INSERT INTO privacy_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        &[&&HashKey::generate().bytes()[..]],
    )?;
    let row = client.query_one("SELECT key FROM privacy_key WHERE id = 1", &[])?;
    HashKey::from_stored(row.get::<_, &[u8]>(0))
}

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// Erases one message; false when it is not final, already erased or gone.
fn erase_one(
    db: &mut Tx<'_, '_>,
    key: &HashKey,
    id: MessageId,
    opts: EraseOptions,
) -> Result<bool, StoreError> {
    let uuid = id.as_uuid();
    let Some(row) = db.query_opt(
        "SELECT recipient, content, extra_sender_data, error, idempotency_key, is_final_state \
         FROM messages WHERE id = $1 FOR UPDATE",
        &[&uuid],
    )?
    else {
        return Ok(false);
    };
    let recipient: String = row.try_get(0)?;
    let number =
        PhoneNumber::from_stored(&recipient).map_err(|e| StoreError::corrupt("recipient", e))?;
    if !row.try_get::<_, bool>(5)? || number.is_erased() {
        return Ok(false);
    }
    let content: String = row.try_get(1)?;
    let sender: Value = row.try_get(2)?;
    let error: Option<String> = row.try_get(3)?;
    let idem: Option<String> = row.try_get(4)?;
    let hashed = key.hash(&number);
    let r = Redaction::of(&number, &content);
    db.execute(
        "UPDATE messages SET recipient = $2, content = '', extra_data = '{}'::jsonb, \
         extra_sender_data = $3, error = $4, idempotency_key = $5 WHERE id = $1",
        &[
            &uuid,
            &hashed.as_str(),
            &r.json(&sender),
            &r.opt(error),
            &idem.filter(|k| !r.touches(k)),
        ],
    )?;
    for h in db.query(
        "SELECT id, reason FROM message_history WHERE message_id = $1",
        &[&uuid],
    )? {
        let reason: String = h.try_get(1)?;
        if r.touches(&reason) {
            db.execute(
                "UPDATE message_history SET reason = $2 WHERE id = $1",
                &[&h.try_get::<_, i64>(0)?, &r.text(&reason)],
            )?;
        }
    }
    if opts.related {
        db.execute(
            "DELETE FROM message_related WHERE message_id = $1",
            &[&uuid],
        )?;
    }
    db.execute(
        "UPDATE recipient_calls SET recipient = $1 WHERE recipient = $2",
        &[&hashed.as_str(), &number.as_str()],
    )?;
    for d in db.query(
        "SELECT id, reason, last_error FROM webhook_deliveries WHERE message_id = $1",
        &[&uuid],
    )? {
        let reason: Option<String> = d.try_get(1)?;
        let last_error: Option<String> = d.try_get(2)?;
        db.execute(
            "UPDATE webhook_deliveries SET reason = $2, last_error = $3, last_response = NULL \
             WHERE id = $1",
            &[&d.try_get::<_, i64>(0)?, &r.opt(reason), &r.opt(last_error)],
        )?;
    }
    Ok(true)
}

fn count(row: postgres::Row) -> Result<usize, StoreError> {
    Ok(row.try_get::<_, i64>(0)? as usize)
}

impl PrivacyStore for PgStore {
    fn recipient_hash(&self, number: &PhoneNumber) -> PhoneNumber {
        self.key.hash(number)
    }

    fn erase(&self, ids: &[MessageId], opts: EraseOptions) -> Result<usize, StoreError> {
        let mut erased = 0;
        for chunk in ids.chunks(ERASE_BATCH) {
            erased += self.write(|db| {
                let mut n = 0;
                for id in chunk {
                    n += usize::from(erase_one(db, &self.key, *id, opts)?);
                }
                Ok(n)
            })?;
        }
        Ok(erased)
    }

    fn record_erasure(&self, e: &Erasure) -> Result<(), StoreError> {
        self.write(|db| {
            db.execute(
                "INSERT INTO erasures (at, erased_by, recipient_hash, messages) VALUES ($1, $2, $3, $4)",
                &[&e.at, &e.by, &e.recipient_hash, &(e.messages as i64)],
            )?;
            Ok(())
        })
    }

    fn erasures(&self) -> Result<Vec<Erasure>, StoreError> {
        self.read(|db| {
            db.query(
                "SELECT at, erased_by, recipient_hash, messages FROM erasures ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Erasure {
                    at: r.try_get(0)?,
                    by: r.try_get(1)?,
                    recipient_hash: r.try_get(2)?,
                    messages: r.try_get::<_, i64>(3)? as usize,
                })
            })
            .collect()
        })
    }

    fn expired(&self, before: Timestamp, limit: usize) -> Result<Vec<MessageId>, StoreError> {
        self.read(|db| {
            Ok(db
                .query(
                    "SELECT id FROM messages WHERE is_final_state AND substr(recipient, 1, 1) = '+' \
                     AND changed_at < $1 ORDER BY changed_at LIMIT $2",
                    &[&before, &(limit as i64)],
                )?
                .iter()
                .map(|r| MessageId::from_uuid(r.get::<_, Uuid>(0)))
                .collect())
        })
    }

    fn count_expired(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.read(|db| {
            count(
                db.query_opt(
                    "SELECT count(*) FROM messages WHERE is_final_state \
                 AND substr(recipient, 1, 1) = '+' AND changed_at < $1",
                    &[&before],
                )?
                .expect("count returns a row"),
            )
        })
    }

    fn prune_deliveries(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.write(|db| {
            Ok(db.execute(
                "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
                 WHERE state = 1 AND delivered_at < $1 ORDER BY delivered_at LIMIT $2)",
                &[&before, &(limit as i64)],
            )? as usize)
        })
    }

    fn count_prunable_deliveries(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.read(|db| {
            count(
                db.query_opt(
                    "SELECT count(*) FROM webhook_deliveries WHERE state = 1 AND delivered_at < $1",
                    &[&before],
                )?
                .expect("count returns a row"),
            )
        })
    }

    fn deliveries_of(&self, ids: &[MessageId]) -> Result<Vec<Delivery>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        self.read(|db| {
            db.query(
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE message_id = ANY($1) \
                     ORDER BY id"
                ),
                &[&ids],
            )?
            .iter()
            .map(delivery)
            .collect()
        })
    }

    fn settle(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        conn.client.batch_execute(
            "VACUUM messages, message_history, message_related, recipient_calls, webhook_deliveries",
        )?;
        Ok(())
    }
}
