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
use std::collections::HashMap;
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

/// Erases a batch of messages in a handful of statements (each message's own statements
/// would cost a round trip apiece, hundreds a batch); returns how many were erased — those
/// not final, already erased or gone are passed over.
fn erase_batch(
    db: &mut Tx<'_, '_>,
    key: &HashKey,
    ids: &[MessageId],
    opts: EraseOptions,
) -> Result<usize, StoreError> {
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    let rows = db.query(
        "SELECT id, recipient, content, extra_sender_data, error, idempotency_key, is_final_state \
         FROM messages WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&uuids],
    )?;
    let mut redactions: HashMap<Uuid, Redaction> = HashMap::new();
    let (mut ids, mut recipients, mut senders, mut errors, mut keys) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut numbers, mut hashes) = (Vec::new(), Vec::new());
    for row in rows {
        let recipient: String = row.try_get(1)?;
        let number = PhoneNumber::from_stored(&recipient)
            .map_err(|e| StoreError::corrupt("recipient", e))?;
        if !row.try_get::<_, bool>(6)? || number.is_erased() {
            continue;
        }
        let id: Uuid = row.try_get(0)?;
        let content: String = row.try_get(2)?;
        let sender: Value = row.try_get(3)?;
        let hashed = key.hash(&number);
        let r = Redaction::of(&number, &content);
        senders.push(r.json(&sender));
        errors.push(r.opt(row.try_get(4)?));
        keys.push(
            row.try_get::<_, Option<String>>(5)?
                .filter(|k| !r.touches(k)),
        );
        recipients.push(hashed.as_str().to_string());
        numbers.push(number.as_str().to_string());
        hashes.push(hashed.as_str().to_string());
        ids.push(id);
        redactions.insert(id, r);
    }
    if ids.is_empty() {
        return Ok(0);
    }
    db.execute(
        "UPDATE messages m SET recipient = u.r, content = '', extra_data = '{}'::jsonb, \
         extra_sender_data = u.s, error = u.e, idempotency_key = u.k, \
         interactive = interactive #- '{gather,prompt}', reply = reply - 'digits' \
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[]) AS u(id, r, s, e, k) \
         WHERE m.id = u.id",
        &[&ids, &recipients, &senders, &errors, &keys],
    )?;
    // The keys pressed (a PIN is personal) go; the answer label and who answered stay.
    db.execute(
        "UPDATE message_history SET reply = reply - 'digits' \
         WHERE message_id = ANY($1) AND reply IS NOT NULL",
        &[&ids],
    )?;
    let (mut history_ids, mut reasons) = (Vec::<i64>::new(), Vec::<String>::new());
    for h in db.query(
        "SELECT id, message_id, reason FROM message_history WHERE message_id = ANY($1)",
        &[&ids],
    )? {
        let reason: String = h.try_get(2)?;
        let r = &redactions[&h.try_get::<_, Uuid>(1)?];
        if r.touches(&reason) {
            history_ids.push(h.try_get(0)?);
            reasons.push(r.text(&reason));
        }
    }
    if !history_ids.is_empty() {
        db.execute(
            "UPDATE message_history h SET reason = u.r \
             FROM unnest($1::int8[], $2::text[]) AS u(id, r) WHERE h.id = u.id",
            &[&history_ids, &reasons],
        )?;
    }
    if opts.related {
        db.execute(
            "DELETE FROM message_related WHERE message_id = ANY($1)",
            &[&ids],
        )?;
    }
    db.execute(
        // `= ANY($1)` as well: a condition on the table itself, which its index answers
        // whatever the plan makes of the join.
        "UPDATE recipient_calls c SET recipient = u.h \
         FROM unnest($1::text[], $2::text[]) AS u(n, h) \
         WHERE c.recipient = u.n AND c.recipient = ANY($1)",
        &[&numbers, &hashes],
    )?;
    let (mut delivery_ids, mut d_reasons, mut d_errors) =
        (Vec::<i64>::new(), Vec::new(), Vec::new());
    for d in db.query(
        "SELECT id, message_id, reason, last_error FROM webhook_deliveries WHERE message_id = ANY($1)",
        &[&ids],
    )? {
        let r = &redactions[&d.try_get::<_, Uuid>(1)?];
        delivery_ids.push(d.try_get(0)?);
        d_reasons.push(r.opt(d.try_get(2)?));
        d_errors.push(r.opt(d.try_get(3)?));
    }
    if !delivery_ids.is_empty() {
        db.execute(
            "UPDATE webhook_deliveries d SET reason = u.r, last_error = u.e, last_response = NULL \
             FROM unnest($1::int8[], $2::text[], $3::text[]) AS u(id, r, e) WHERE d.id = u.id",
            &[&delivery_ids, &d_reasons, &d_errors],
        )?;
    }
    Ok(ids.len())
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
            erased += self.write(|db| erase_batch(db, &self.key, chunk, opts))?;
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
