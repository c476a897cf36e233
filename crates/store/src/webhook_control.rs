//! What the webhook delivery loop needs beside [`crate::webhooks::WebhookStore`]: switching
//! an endpoint back on, keeping claims alive while their posts run, and hearing that
//! deliveries were queued.
//!
//! *The lease of a claim* (`claim_owner`, `claim_until` of a delivery): a claimer holds a
//! delivery only until `claim_until`, and only while it still works on it does it move that
//! end forward ([`WebhookControl::renew_claims`]). The lease is sized for one delivery, not
//! for a round of them: a claimer that dies (killed, crashed, cut off from the database)
//! stops renewing, and its deliveries are free again at most one lease later, never after the
//! round it had planned. A delivery is recorded only by the owner that still holds it
//! (`record_deliveries` checks the owner), so a claimer that lost its lease cannot overwrite
//! what its successor recorded; the receiver may then get the event twice (at least once,
//! with the same `webhook-id`).

use crate::error::StoreError;
use crate::webhooks::Endpoint;
use jiff::Timestamp;
use tokio::sync::watch;

pub trait WebhookControl: Send + Sync {
    /// Makes an endpoint active again (after a 410 Gone): changes committed from now on
    /// queue events for it. What failed while it was disabled stays failed (replay it).
    /// None when there is no such endpoint.
    fn enable_endpoint(&self, id: i64) -> Result<Option<Endpoint>, StoreError>;
    /// Moves the end of `owner`'s claims on these deliveries to `until`; returns how many it
    /// still held (a claim that expired and was taken by another is not renewed).
    fn renew_claims(&self, owner: &str, ids: &[i64], until: Timestamp)
    -> Result<usize, StoreError>;
    /// A channel that ticks after a commit that queued deliveries, so that an idle delivery
    /// loop wakes at once instead of at its next poll: in this process, and where the
    /// database can tell (PostgreSQL's `LISTEN/NOTIFY`) in every process. None: polling only.
    fn queued_signal(&self) -> Result<Option<watch::Receiver<u64>>, StoreError>;
}
