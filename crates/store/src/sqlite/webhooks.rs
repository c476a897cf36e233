//! Webhook endpoints and their outbox on SQLite.
//!
//! The events are written by the store's write path in the transaction of the change, first
//! to `webhook_outbox` (see `outbox.rs`); every method here that reads or changes
//! deliveries first moves the outbox into `webhook_deliveries`. Migration 10 created
//! triggers for this with the first endpoint; migration 13 drops them.

use super::SqliteStore;
use super::outbox;
use super::rows::{state, ts, us};
use crate::error::StoreError;
use crate::webhooks::{
    Delivery, DeliveryFilter, DeliveryState, Endpoint, NewEndpoint, Outcome, Replay, Replayed,
    Secret, TEST, WebhookStore, events_column, events_from_column,
};
use jiff::Timestamp;
use rusqlite::{Connection, Row, named_params};

pub(super) const MIGRATION: &str = "
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    tag TEXT,
    active INTEGER NOT NULL,
    disabled_reason TEXT,
    created_at INTEGER NOT NULL
);
-- One event for one endpoint. ord sorts a message's events (sequence; message.final last).
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    message_id TEXT,
    sequence INTEGER,
    ord INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_state INTEGER,
    to_state INTEGER,
    reason TEXT,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claim_owner TEXT,
    claim_until INTEGER,
    last_status INTEGER,
    last_error TEXT,
    last_response TEXT,
    delivered_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(endpoint_id, next_attempt_at) WHERE state = 0;
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, message_id, ord) WHERE state = 0;
";

pub(super) const DELIVERY_COLS: &str = "id, endpoint_id, event_type, message_id, sequence, at, from_state, \
    to_state, reason, state, attempts, queued_at, next_attempt_at, last_status, last_error, \
    last_response, delivered_at";

pub(super) const ENDPOINT_COLS: &str =
    "id, url, secret, events, tag, active, disabled_reason, created_at";

pub(super) fn endpoint(r: &Row<'_>) -> Result<Endpoint, StoreError> {
    Ok(Endpoint {
        id: r.get(0)?,
        url: r.get(1)?,
        secret: Secret(r.get(2)?),
        events: events_from_column(&r.get::<_, String>(3)?),
        tag: r.get(4)?,
        active: r.get(5)?,
        disabled_reason: r.get(6)?,
        created_at: ts(r.get(7)?)?,
    })
}

pub(super) fn delivery(r: &Row<'_>) -> Result<Delivery, StoreError> {
    let message_id: Option<String> = r.get(3)?;
    Ok(Delivery {
        id: r.get(0)?,
        endpoint_id: r.get(1)?,
        event_type: r.get(2)?,
        message_id: message_id
            .map(|m| {
                m.parse()
                    .map_err(|e| StoreError::corrupt("webhook message id", e))
            })
            .transpose()?,
        sequence: r.get(4)?,
        at: ts(r.get(5)?)?,
        from: r.get::<_, Option<i64>>(6)?.map(state).transpose()?,
        to: r.get::<_, Option<i64>>(7)?.map(state).transpose()?,
        reason: r.get(8)?,
        state: DeliveryState::from_code(r.get(9)?)?,
        attempts: r.get(10)?,
        queued_at: ts(r.get(11)?)?,
        next_attempt_at: ts(r.get(12)?)?,
        last_status: r.get(13)?,
        last_error: r.get(14)?,
        last_response: r.get(15)?,
        delivered_at: r.get::<_, Option<i64>>(16)?.map(ts).transpose()?,
    })
}

pub(super) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

fn find_delivery(conn: &Connection, id: i64) -> Result<Option<Delivery>, StoreError> {
    Ok(all(
        conn,
        &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE id = ?1"),
        [id],
        delivery,
    )?
    .pop())
}

fn claim(
    tx: &Connection,
    owner: &str,
    endpoint_id: i64,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    all(
        tx,
        &format!(
            "UPDATE webhook_deliveries SET claim_owner = :owner, claim_until = :until \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
               WHERE d.endpoint_id = :ep AND d.state = 0 AND d.next_attempt_at <= :now \
                 AND (d.claim_until IS NULL OR d.claim_until < :now) \
                 AND (d.message_id IS NULL OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                   WHERE p.endpoint_id = d.endpoint_id AND p.message_id = d.message_id \
                     AND p.state = 0 AND p.ord < d.ord)) \
               ORDER BY d.next_attempt_at LIMIT :limit) \
             RETURNING {DELIVERY_COLS}"
        ),
        named_params! {
            ":owner": owner,
            ":until": us(lease_until),
            ":ep": endpoint_id,
            ":now": us(now),
            ":limit": limit as i64,
        },
        delivery,
    )
}

impl SqliteStore {
    /// The outbox moved into `webhook_deliveries`, for a reader (a write only when there is
    /// something to move).
    fn moved(&self) -> Result<(), StoreError> {
        if self.read(outbox::any)? {
            self.write(outbox::move_all)?;
        }
        Ok(())
    }
}

impl WebhookStore for SqliteStore {
    fn add_endpoint(&self, new: &NewEndpoint, now: Timestamp) -> Result<Endpoint, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO webhook_endpoints (url, secret, events, tag, active, created_at) \
                 VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                (
                    &new.url,
                    &new.secret.0,
                    events_column(&new.events),
                    &new.tag,
                    us(now),
                ),
            )?;
            let id = tx.last_insert_rowid();
            all(
                tx,
                &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = ?1"),
                [id],
                endpoint,
            )?
            .pop()
            .ok_or_else(|| StoreError::corrupt("webhook endpoint", "not stored"))
        })
    }

    fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.read(|c| {
            all(
                c,
                &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints ORDER BY id"),
                [],
                endpoint,
            )
        })
    }

    fn remove_endpoint(&self, id: i64) -> Result<bool, StoreError> {
        self.write(|tx| {
            outbox::move_all(tx)?;
            tx.execute(
                "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1",
                [id],
            )?;
            Ok(tx.execute("DELETE FROM webhook_endpoints WHERE id = ?1", [id])? > 0)
        })
    }

    fn disable_endpoint(&self, id: i64, reason: &str, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| {
            outbox::move_all(tx)?;
            tx.execute(
                "UPDATE webhook_endpoints SET active = 0, disabled_reason = ?2 WHERE id = ?1",
                (id, reason),
            )?;
            tx.execute(
                "UPDATE webhook_deliveries SET state = 2, last_error = ?2, claim_owner = NULL, \
                 claim_until = NULL, next_attempt_at = ?3, failed_at = ?3 \
                 WHERE endpoint_id = ?1 AND state = 0",
                (id, format!("endpoint disabled: {reason}"), us(now)),
            )?;
            Ok(())
        })
    }

    fn enqueue_test(
        &self,
        endpoint_id: i64,
        owner: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<Delivery>, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO webhook_deliveries (endpoint_id, event_type, ord, at, queued_at, \
                 next_attempt_at, claim_owner, claim_until) \
                 SELECT id, ?2, 0, ?3, ?3, 0, ?4, ?5 FROM webhook_endpoints WHERE id = ?1",
                (endpoint_id, TEST, us(now), owner, us(lease_until)),
            )?;
            if n == 0 {
                return Ok(None);
            }
            find_delivery(tx, tx.last_insert_rowid())
        })
    }

    fn claim_deliveries(
        &self,
        owner: &str,
        endpoint_id: i64,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.write(|tx| {
            let mut claimed = claim(tx, owner, endpoint_id, now, lease_until, limit)?;
            // Events still in the outbox come after every one already moved.
            while claimed.len() < limit && outbox::move_some(tx, limit - claimed.len())? > 0 {
                claimed.extend(claim(
                    tx,
                    owner,
                    endpoint_id,
                    now,
                    lease_until,
                    limit - claimed.len(),
                )?);
            }
            Ok(claimed)
        })
    }

    fn record_deliveries(
        &self,
        owner: &str,
        outcomes: &[(i64, Outcome)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE webhook_deliveries SET state = :state, attempts = attempts + 1, \
                 next_attempt_at = :next, last_status = :status, last_error = :error, \
                 last_response = :response, delivered_at = :delivered, claim_owner = NULL, \
                 claim_until = NULL, failed_at = CASE WHEN :state = 2 THEN :now END \
                 WHERE id = :id AND claim_owner = :owner AND state = 0",
            )?;
            for (id, outcome) in outcomes {
                let (st, next, status, error, response, delivered) = match outcome {
                    Outcome::Delivered { status, response } => (
                        DeliveryState::Delivered,
                        us(now),
                        Some(*status),
                        None,
                        Some(response.as_str()),
                        Some(us(now)),
                    ),
                    Outcome::Retry {
                        at,
                        status,
                        error,
                        response,
                    } => (
                        DeliveryState::Pending,
                        us(*at),
                        *status,
                        Some(error.as_str()),
                        response.as_deref(),
                        None,
                    ),
                    Outcome::Failed {
                        status,
                        error,
                        response,
                    } => (
                        DeliveryState::Failed,
                        us(now),
                        *status,
                        Some(error.as_str()),
                        response.as_deref(),
                        None,
                    ),
                };
                stmt.execute(named_params! {
                    ":state": st.code(),
                    ":next": next,
                    ":status": status,
                    ":error": error,
                    ":response": response,
                    ":delivered": delivered,
                    ":id": id,
                    ":owner": owner,
                    ":now": us(now),
                })?;
            }
            Ok(())
        })
    }

    fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.moved()?;
        self.read(|c| {
            all(
                c,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries \
                     WHERE (:ep IS NULL OR endpoint_id = :ep) AND (:failed = 0 OR state = 2) \
                     ORDER BY id DESC LIMIT :limit"
                ),
                named_params! {
                    ":ep": filter.endpoint_id,
                    ":failed": filter.failed_only,
                    ":limit": filter.limit as i64,
                },
                delivery,
            )
        })
    }

    fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        self.moved()?;
        self.read(|c| find_delivery(c, id))
    }

    fn replay(&self, which: Replay, now: Timestamp) -> Result<Replayed, StoreError> {
        let (chosen, param) = match which {
            Replay::Id(id) => ("d.id = :p", id),
            Replay::FailedSince(t) => ("d.state = 2 AND d.failed_at >= :p", us(t)),
        };
        let done = self.write(|tx| {
            outbox::move_all(tx)?;
            let disabled = all(
                tx,
                &format!(
                    "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d \
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE NOT e.active AND {chosen} ORDER BY d.endpoint_id"
                ),
                named_params! { ":p": param },
                |r| Ok(r.get::<_, i64>(0)?),
            )?;
            if !disabled.is_empty() {
                return Ok(Replayed::Disabled(disabled));
            }
            let n = tx.execute(
                &format!(
                    "UPDATE webhook_deliveries AS d SET state = 0, attempts = 0, \
                     queued_at = :now, next_attempt_at = :now, claim_owner = NULL, \
                     claim_until = NULL, delivered_at = NULL, failed_at = NULL WHERE {chosen}"
                ),
                named_params! { ":now": us(now), ":p": param },
            )?;
            Ok(Replayed::Queued(n))
        })?;
        if matches!(done, Replayed::Queued(n) if n > 0) {
            self.tick_queued();
        }
        Ok(done)
    }
}
