//! Recording an outcome for a message as its owner last saw it, without reading it back.

use super::super::outbox::Outbox;
use super::super::rows;
use crate::error::StoreError;
use crate::plan::Change;
use crate::plan::plan_change;
use dialout_model::message::HistoryEntry;
use dialout_model::message::Message;
use jiff::Timestamp;
use rusqlite::Connection;

/// `finish` for a message as `owner` last saw it: written without reading the row back.
/// None when the row changed meanwhile (or is final), or, outside a transaction, when a
/// webhook endpoint is active (its events need one); the caller then uses [`update`] or a
/// transaction. In a transaction, `outbox` (the transaction's active endpoints) gets the
/// events.
pub(in crate::sqlite) fn finish_known(
    conn: &Connection,
    owner: &str,
    old: &Message,
    change: &Change,
    now: Timestamp,
    outbox: Option<&mut Outbox>,
) -> Result<Option<(Message, Vec<HistoryEntry>)>, StoreError> {
    if old.is_final_state {
        return Ok(None);
    }
    let plan = plan_change(old, change, now);
    let history = rows::history_rows(&plan.history)?;
    let hooks = match (&outbox, conn.is_autocommit()) {
        (Some(_), _) => rows::Hooks::Count,
        (None, true) => rows::Hooks::Guard,
        (None, false) => rows::Hooks::Off,
    };
    let (written, len) = rows::update(
        conn,
        &plan.message,
        history.as_deref(),
        true,
        Some((owner, old)),
        hooks,
    )?;
    if written != 1 {
        return Ok(None);
    }
    if let Some(outbox) = outbox {
        outbox.add(
            &plan.message,
            &plan.history,
            len,
            plan.message.is_final_state,
        );
    }
    Ok(Some((plan.message, plan.history)))
}
