//! Webhook endpoints and their outbox on PostgreSQL.
//!
//! The outbox rows are written by triggers: one per statement that inserts into
//! `message_history` (however many rows it inserts, one `INSERT ... SELECT` over them), and
//! one when a message becomes final. They run in the writing transaction, so an event commits
//! with its change or not at all. Without an active endpoint they return at once.

use super::rows::state;
use super::{Db, PgStore};
use crate::error::StoreError;
use crate::webhooks::{
    Delivery, DeliveryFilter, DeliveryState, Endpoint, FINAL, FINAL_ORD, NewEndpoint, Outcome,
    Replay, Replayed, STATE_CHANGED, Secret, TEST, WebhookStore, events_column, events_from_column,
};
use dialout_model::id::MessageId;
use jiff::Timestamp;
use postgres::Row;

pub(super) const MIGRATION: &str = "
CREATE TABLE webhook_endpoints (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    tag TEXT,
    active BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
-- One event for one endpoint. ord sorts a message's events (sequence; message.final last).
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    message_id UUID,
    sequence BIGINT,
    ord BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    from_state SMALLINT,
    to_state SMALLINT,
    reason TEXT,
    state SMALLINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claim_owner TEXT,
    claim_until TIMESTAMPTZ,
    last_status INTEGER,
    last_error TEXT,
    last_response TEXT,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(endpoint_id, next_attempt_at) WHERE state = 0;
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, message_id, ord) WHERE state = 0;

-- sequence: the row's place among its message's history rows (their ids grow in commit
-- order for one message: its changes are serialized by claims and row locks).
CREATE FUNCTION webhook_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE active) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (endpoint_id, event_type, message_id, sequence, ord, at,
        from_state, to_state, reason, queued_at, next_attempt_at)
    SELECT e.id, 'message.state_changed', n.message_id, s.seq, s.seq, n.at, n.from_state,
        n.to_state, n.reason, now(), now()
    FROM webhook_new_history n
    JOIN messages m ON m.id = n.message_id
    CROSS JOIN LATERAL (SELECT count(*) AS seq FROM message_history h
        WHERE h.message_id = n.message_id AND h.id <= n.id) s
    JOIN webhook_endpoints e ON e.active AND position('message.state_changed' IN e.events) > 0
        AND (e.tag IS NULL OR e.tag = m.tag)
    ORDER BY e.id, n.id;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_state_changed AFTER INSERT ON message_history
    REFERENCING NEW TABLE AS webhook_new_history
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_state_changed();

-- sequence is counted at delivery: this update may come before the history row.
CREATE FUNCTION webhook_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_type, message_id, sequence, ord, at,
        from_state, to_state, reason, queued_at, next_attempt_at)
    SELECT e.id, 'message.final', NEW.id, NULL, 1000000000, NEW.changed_at, NULL, NEW.state,
        NULL, now(), now()
    FROM webhook_endpoints e
    WHERE e.active AND position('message.final' IN e.events) > 0
      AND (e.tag IS NULL OR e.tag = NEW.tag);
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_final AFTER UPDATE OF is_final_state ON messages
    FOR EACH ROW WHEN (NEW.is_final_state AND NOT OLD.is_final_state)
    EXECUTE FUNCTION webhook_final();
";

// The triggers spell these out.
const _: () = assert!(FINAL_ORD == 1_000_000_000);
const _: [&str; 2] = [STATE_CHANGED, FINAL];

pub(super) const DELIVERY_COLS: &str = "id, endpoint_id, event_type, message_id, sequence, at, from_state, \
    to_state, reason, state, attempts, queued_at, next_attempt_at, last_status, last_error, \
    last_response, delivered_at";

pub(super) const ENDPOINT_COLS: &str =
    "id, url, secret, events, tag, active, disabled_reason, created_at";

pub(super) fn endpoint(r: &Row) -> Result<Endpoint, StoreError> {
    Ok(Endpoint {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        secret: Secret(r.try_get(2)?),
        events: events_from_column(r.try_get::<_, &str>(3)?),
        tag: r.try_get(4)?,
        active: r.try_get(5)?,
        disabled_reason: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

pub(super) fn delivery(r: &Row) -> Result<Delivery, StoreError> {
    let status: Option<i32> = r.try_get(13)?;
    Ok(Delivery {
        id: r.try_get(0)?,
        endpoint_id: r.try_get(1)?,
        event_type: r.try_get(2)?,
        message_id: r
            .try_get::<_, Option<uuid::Uuid>>(3)?
            .map(MessageId::from_uuid),
        sequence: r.try_get(4)?,
        at: r.try_get(5)?,
        from: r.try_get::<_, Option<i16>>(6)?.map(state).transpose()?,
        to: r.try_get::<_, Option<i16>>(7)?.map(state).transpose()?,
        reason: r.try_get(8)?,
        state: DeliveryState::from_code(i64::from(r.try_get::<_, i16>(9)?))?,
        attempts: r.try_get::<_, i32>(10)?.max(0) as u32,
        queued_at: r.try_get(11)?,
        next_attempt_at: r.try_get(12)?,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: r.try_get(14)?,
        last_response: r.try_get(15)?,
        delivered_at: r.try_get(16)?,
    })
}

pub(super) fn rows_to<T, C: postgres::GenericClient>(
    db: &mut Db<'_, C>,
    sql: &str,
    params: &super::Params<'_>,
    f: fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    db.query(sql, params)?.iter().map(f).collect()
}

impl WebhookStore for PgStore {
    fn add_endpoint(&self, new: &NewEndpoint, now: Timestamp) -> Result<Endpoint, StoreError> {
        self.write(|db| {
            rows_to(
                db,
                &format!(
                    "INSERT INTO webhook_endpoints (url, secret, events, tag, active, created_at) \
                     VALUES ($1, $2, $3, $4, true, $5) RETURNING {ENDPOINT_COLS}"
                ),
                &[
                    &new.url,
                    &new.secret.0,
                    &events_column(&new.events),
                    &new.tag,
                    &now,
                ],
                endpoint,
            )?
            .pop()
            .ok_or_else(|| StoreError::corrupt("webhook endpoint", "not stored"))
        })
    }

    fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.read(|db| {
            rows_to(
                db,
                &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints ORDER BY id"),
                &[],
                endpoint,
            )
        })
    }

    fn remove_endpoint(&self, id: i64) -> Result<bool, StoreError> {
        self.write(|db| Ok(db.execute("DELETE FROM webhook_endpoints WHERE id = $1", &[&id])? > 0))
    }

    fn disable_endpoint(&self, id: i64, reason: &str, now: Timestamp) -> Result<(), StoreError> {
        self.write(|db| {
            db.execute(
                "UPDATE webhook_endpoints SET active = false, disabled_reason = $2 WHERE id = $1",
                &[&id, &reason],
            )?;
            db.execute(
                "UPDATE webhook_deliveries SET state = 2, last_error = $2, claim_owner = NULL, \
                 claim_until = NULL, next_attempt_at = $3, failed_at = $3 \
                 WHERE endpoint_id = $1 AND state = 0",
                &[&id, &format!("endpoint disabled: {reason}"), &now],
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
        self.write(|db| {
            Ok(rows_to(
                db,
                &format!(
                    "INSERT INTO webhook_deliveries (endpoint_id, event_type, ord, at, queued_at, \
                     next_attempt_at, claim_owner, claim_until) \
                     SELECT id, $2, 0, $3, $3, $3, $4, $5 FROM webhook_endpoints \
                     WHERE id = $1 RETURNING {DELIVERY_COLS}"
                ),
                &[&endpoint_id, &TEST, &now, &owner, &lease_until],
                delivery,
            )?
            .pop())
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
        let limit = limit as i64;
        self.write(|db| {
            rows_to(
                db,
                &format!(
                    "UPDATE webhook_deliveries SET claim_owner = $1, claim_until = $2 \
                     WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                       WHERE d.endpoint_id = $3 AND d.state = 0 AND d.next_attempt_at <= $4 \
                         AND (d.claim_until IS NULL OR d.claim_until < $4) \
                         AND (d.message_id IS NULL OR NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                           WHERE p.endpoint_id = d.endpoint_id AND p.message_id = d.message_id \
                             AND p.state = 0 AND p.ord < d.ord)) \
                       ORDER BY d.next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) \
                     RETURNING {DELIVERY_COLS}"
                ),
                &[&owner, &lease_until, &endpoint_id, &now, &limit],
                delivery,
            )
        })
    }

    fn record_deliveries(
        &self,
        owner: &str,
        outcomes: &[(i64, Outcome)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            for (id, outcome) in outcomes {
                let (st, next, status, error, response, delivered) = match outcome {
                    Outcome::Delivered { status, response } => (
                        DeliveryState::Delivered,
                        now,
                        Some(*status),
                        None,
                        Some(response.as_str()),
                        Some(now),
                    ),
                    Outcome::Retry {
                        at,
                        status,
                        error,
                        response,
                    } => (
                        DeliveryState::Pending,
                        *at,
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
                        now,
                        *status,
                        Some(error.as_str()),
                        response.as_deref(),
                        None,
                    ),
                };
                let code = st.code() as i16;
                let status = status.map(i32::from);
                db.execute(
                    "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, \
                     next_attempt_at = $2, last_status = $3, last_error = $4, last_response = $5, \
                     delivered_at = $6, claim_owner = NULL, claim_until = NULL, \
                     failed_at = CASE WHEN $1::SMALLINT = 2 THEN $9::TIMESTAMPTZ END \
                     WHERE id = $7 AND claim_owner = $8 AND state = 0",
                    &[
                        &code, &next, &status, &error, &response, &delivered, id, &owner, &now,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        let limit = filter.limit as i64;
        self.read(|db| {
            rows_to(
                db,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries \
                     WHERE ($1::BIGINT IS NULL OR endpoint_id = $1) AND (NOT $2 OR state = 2) \
                     ORDER BY id DESC LIMIT $3"
                ),
                &[&filter.endpoint_id, &filter.failed_only, &limit],
                delivery,
            )
        })
    }

    fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        self.read(|db| {
            Ok(rows_to(
                db,
                &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE id = $1"),
                &[&id],
                delivery,
            )?
            .pop())
        })
    }

    fn replay(&self, which: Replay, now: Timestamp) -> Result<Replayed, StoreError> {
        let (chosen, param): (&str, &(dyn postgres::types::ToSql + Sync)) = match &which {
            Replay::Id(id) => ("d.id = $1", id),
            Replay::FailedSince(t) => ("d.state = 2 AND d.failed_at >= $1", t),
        };
        self.write(|db| {
            let disabled: Vec<i64> = db
                .query_dynamic(
                    &format!(
                        "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d \
                         JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                         WHERE NOT e.active AND {chosen} ORDER BY d.endpoint_id"
                    ),
                    &[param],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            if !disabled.is_empty() {
                return Ok(Replayed::Disabled(disabled));
            }
            let n = db.query_dynamic(
                &format!(
                    "WITH done AS (UPDATE webhook_deliveries AS d SET state = 0, attempts = 0, \
                     queued_at = $2, next_attempt_at = $2, claim_owner = NULL, \
                     claim_until = NULL, delivered_at = NULL, failed_at = NULL \
                     WHERE {chosen} RETURNING 1) SELECT count(*) FROM done"
                ),
                &[param, &now],
            )?;
            let n: i64 = match n.first() {
                Some(r) => r.try_get(0)?,
                None => 0,
            };
            if n > 0 {
                super::wake::notify_queued(db)?;
            }
            Ok(Replayed::Queued(n as usize))
        })
    }
}
