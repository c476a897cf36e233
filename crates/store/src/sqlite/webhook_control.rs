//! [`WebhookControl`] on SQLite: the endpoint switch, the claims' lease (see
//! `crate::webhook_control` for its invariant) and the in-process queued signal.

use super::SqliteStore;
use super::rows::us;
use super::webhooks::{ENDPOINT_COLS, all, endpoint};
use crate::error::StoreError;
use crate::webhook_control::WebhookControl;
use crate::webhooks::Endpoint;
use jiff::Timestamp;

/// Migration 14: when a delivery was given up. Rows failed before it get the time their
/// failure was written with (`next_attempt_at`, set to the moment of failure).
pub(super) const FAILED_AT: &str = "
ALTER TABLE webhook_deliveries ADD COLUMN failed_at INTEGER;
UPDATE webhook_deliveries SET failed_at = next_attempt_at WHERE state = 2;
";

impl WebhookControl for SqliteStore {
    fn enable_endpoint(&self, id: i64) -> Result<Option<Endpoint>, StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE webhook_endpoints SET active = 1, disabled_reason = NULL WHERE id = ?1",
                [id],
            )?;
            Ok(all(
                tx,
                &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = ?1"),
                [id],
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
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE webhook_deliveries SET claim_until = ?3 \
                 WHERE id = ?1 AND claim_owner = ?2 AND state = 0",
            )?;
            let mut held = 0;
            for id in ids {
                held += stmt.execute((id, owner, us(until)))?;
            }
            Ok(held)
        })
    }

    fn queued_signal(&self) -> Result<Option<tokio::sync::watch::Receiver<u64>>, StoreError> {
        Ok(Some(self.queued.subscribe()))
    }
}
