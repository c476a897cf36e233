//! Recording an outcome for a message as its owner last saw it, without reading it back.

use jiff::Timestamp;
use rusqlite::Connection;

use super::super::rows;
use crate::store::{Change, StoreError, plan_change};
use crate::{HistoryEntry, Message};

/// `finish` for a message as `owner` last saw it: written without reading the row back.
/// None when the row changed meanwhile (or is final); the caller then uses [`update`].
pub(in crate::store::sqlite) fn finish_known(
    conn: &Connection,
    owner: &str,
    old: &Message,
    change: &Change,
    now: Timestamp,
) -> Result<Option<(Message, Vec<HistoryEntry>)>, StoreError> {
    if old.is_final_state {
        return Ok(None);
    }
    let plan = plan_change(old, change, now);
    let history = rows::history_rows(&plan.history)?;
    let written = rows::update(
        conn,
        &plan.message,
        history.as_deref(),
        true,
        Some((owner, old)),
    )?;
    Ok((written == 1).then_some((plan.message, plan.history)))
}
