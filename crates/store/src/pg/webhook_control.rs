//! [`WebhookControl`] on PostgreSQL: the endpoint switch, the claims' lease (see
//! `crate::webhook_control` for its invariant) and the queued signal, by `LISTEN/NOTIFY` on
//! `dialout_webhooks` (every process hears every commit that queued deliveries).

use super::webhooks::{ENDPOINT_COLS, endpoint, rows_to};
use super::{PgStore, wake};
use crate::error::StoreError;
use crate::webhook_control::WebhookControl;
use crate::webhooks::Endpoint;
use jiff::Timestamp;

/// Migration 10: when a delivery was given up (rows failed before it get the time their
/// failure was written with, `next_attempt_at`), and the triggers of migration 6 notify
/// `dialout_webhooks` when they queued something (the server sends it at commit, once per
/// transaction however many statements notified).
pub(super) const MIGRATION: &str = "
ALTER TABLE webhook_deliveries ADD COLUMN failed_at TIMESTAMPTZ;
UPDATE webhook_deliveries SET failed_at = next_attempt_at WHERE state = 2;

CREATE OR REPLACE FUNCTION webhook_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued BIGINT;
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
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        PERFORM pg_notify('dialout_webhooks', '');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION webhook_final() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued BIGINT;
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_type, message_id, sequence, ord, at,
        from_state, to_state, reason, queued_at, next_attempt_at)
    SELECT e.id, 'message.final', NEW.id, NULL, 1000000000, NEW.changed_at, NULL, NEW.state,
        NULL, now(), now()
    FROM webhook_endpoints e
    WHERE e.active AND position('message.final' IN e.events) > 0
      AND (e.tag IS NULL OR e.tag = NEW.tag);
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        PERFORM pg_notify('dialout_webhooks', '');
    END IF;
    RETURN NULL;
END $$;
";

// The triggers spell the channel out.
const _: () = assert!(matches!(wake::QUEUED.as_bytes(), b"dialout_webhooks"));

impl WebhookControl for PgStore {
    fn enable_endpoint(&self, id: i64) -> Result<Option<Endpoint>, StoreError> {
        self.write(|db| {
            Ok(rows_to(
                db,
                &format!(
                    "UPDATE webhook_endpoints SET active = true, disabled_reason = NULL \
                     WHERE id = $1 RETURNING {ENDPOINT_COLS}"
                ),
                &[&id],
                endpoint,
            )?
            .pop())
        })
    }

    fn renew_claims(
        &self,
        owner: &str,
        ids: &[i64],
        until: Timestamp,
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        self.write(|db| {
            let n = db.execute(
                "UPDATE webhook_deliveries SET claim_until = $3 \
                 WHERE id = ANY($1) AND claim_owner = $2 AND state = 0",
                &[&ids, &owner, &until],
            )?;
            Ok(n as usize)
        })
    }

    fn queued_signal(&self) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        wake::listen(&self.config, wake::QUEUED).map(Some)
    }
}
