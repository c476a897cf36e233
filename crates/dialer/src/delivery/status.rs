//! Status checks (`dialout check-status`, and the worker on an interval) and result intake.
//!
//! One odd record or one failing message never stops a run: it is counted against that
//! message only (its last real state kept, ERROR_UPDATE in its history), and after
//! `max_check_failures` such failures the message is made final as ERROR_UPDATE. A failure
//! of the whole backend counts against no message: the run reports it.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use super::outcome::human;
use super::{DeliveryError, DeliverySettings, blocking};
use crate::delivery::channels::Channels;
use dialout_backends::backend::{Backend, Cancel, StatusReport};
use dialout_model::duration::before;
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_model::state::State;
use dialout_store::prelude::*;
use dialout_store::{Change, Cursor, MessageFilter, Order};

/// At most this many messages per backend are handed to one check.
const CHECK_LIMIT: usize = 100_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusRun {
    pub backends: Vec<BackendCheck>,
}

impl StatusRun {
    /// No backend had an outage.
    pub fn ok(&self) -> bool {
        self.backends.iter().all(|b| b.outage.is_none())
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackendCheck {
    pub backend: String,
    /// Messages the backend was asked about.
    pub checked: usize,
    /// Messages whose state changed.
    pub updated: Vec<CheckedUpdate>,
    pub failures: Vec<CheckedFailure>,
    /// Messages past the status window, made final.
    pub expired: Vec<CheckedUpdate>,
    /// The whole backend failed: nothing was counted against any message.
    pub outage: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedUpdate {
    pub id: MessageId,
    pub state: State,
    pub state_code: i16,
    pub is_final: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedFailure {
    pub id: MessageId,
    pub error: String,
    /// The state the message keeps (or ERROR_UPDATE once made final).
    pub state: State,
    pub state_code: i16,
    pub check_failures: u32,
    pub made_final: bool,
}

/// Asks every backend about its sent, non-final messages inside the status window, and
/// makes final those past it (asking the backend to withdraw them).
pub async fn check_status(
    store: &Arc<dyn Store>,
    backends: &Channels,
) -> Result<StatusRun, DeliveryError> {
    let mut run = StatusRun::default();
    for (name, backend) in backends.iter() {
        run.backends
            .push(check_backend(store, backends.delivery(), name, backend.as_ref()).await?);
    }
    Ok(run)
}

async fn check_backend(
    store: &Arc<dyn Store>,
    settings: &DeliverySettings,
    name: &str,
    backend: &dyn Backend,
) -> Result<BackendCheck, DeliveryError> {
    let mut out = BackendCheck {
        backend: name.to_string(),
        ..Default::default()
    };
    let since = before(Timestamp::now(), settings.status_window);
    let n = name.to_string();
    let (pending, cursor) = blocking(store, move |s| {
        Ok((
            s.messages(&in_flight(&n, Some(since)))?,
            s.backend_state(&n)?.cursor,
        ))
    })
    .await?;
    let pending: Vec<Message> = pending
        .into_iter()
        .filter(|m| m.sent_at.is_some_and(|t| t >= since))
        .collect();
    if !pending.is_empty() {
        out.checked = pending.len();
        match backend.check_status(&pending, cursor.as_deref()).await {
            Err(e) => {
                tracing::error!(
                    backend = name,
                    "status check failed for the whole backend: {e}"
                );
                out.outage = Some(e.to_string());
                return Ok(out);
            }
            Ok(report) => apply_report(store, settings, &mut out, &pending, report).await?,
        }
    }
    expire(store, settings, name, backend, since, &mut out).await?;
    Ok(out)
}

/// Results that arrived on their own (each worker tick).
pub async fn intake(
    store: &Arc<dyn Store>,
    backends: &Channels,
) -> Result<StatusRun, DeliveryError> {
    let mut run = StatusRun::default();
    for (name, intake) in backends.iter().filter_map(|(n, b)| Some((n, b.intake()?))) {
        let mut out = BackendCheck {
            backend: name.to_string(),
            ..Default::default()
        };
        let n = name.to_string();
        let pending = blocking(store, move |s| s.messages(&in_flight(&n, None))).await?;
        out.checked = pending.len();
        match intake.collect(&pending).await {
            Err(e) => {
                tracing::warn!(backend = name, "result intake failed: {e}");
                out.outage = Some(e.to_string());
            }
            Ok(report) => {
                apply_report(store, backends.delivery(), &mut out, &pending, report).await?
            }
        }
        run.backends.push(out);
    }
    Ok(run)
}

/// Sent, non-final messages of `backend`, oldest sent first.
fn in_flight(backend: &str, sent_since: Option<Timestamp>) -> MessageFilter {
    MessageFilter {
        backend: Some(backend.to_string()),
        in_flight: true,
        sent_since,
        order: Order::OldestSentFirst,
        limit: Some(CHECK_LIMIT),
        ..MessageFilter::default()
    }
}

/// Applies what the backend reported, with its new cursor (if any) in the same commit.
async fn apply_report(
    store: &Arc<dyn Store>,
    settings: &DeliverySettings,
    out: &mut BackendCheck,
    pending: &[Message],
    report: StatusReport,
) -> Result<(), DeliveryError> {
    for w in &report.warnings {
        tracing::warn!(backend = %out.backend, "{w}");
    }
    out.warnings.extend(report.warnings);
    let by_id: HashMap<MessageId, &Message> = pending.iter().map(|m| (m.id, m)).collect();
    // What was applied, as the report says it: an update, or a failure.
    let mut changes: Vec<(MessageId, Change)> = Vec::new();
    let mut told: Vec<Result<CheckedUpdate, CheckedFailure>> = Vec::new();
    for u in report.updates {
        let Some(m) = by_id.get(&u.id) else {
            out.warnings.push(format!(
                "result for message {} ignored: it was not being checked",
                u.id
            ));
            continue;
        };
        if m.state == u.state
            && m.is_final_state == u.is_final
            && u.sender_data.is_empty()
            && u.reply.is_empty()
        {
            continue;
        }
        told.push(Ok(CheckedUpdate {
            id: u.id,
            state: u.state,
            state_code: u.state.code(),
            is_final: u.is_final,
            reason: u.reason.clone(),
        }));
        let change = Change::Status {
            state: u.state,
            is_final: u.is_final,
            error: u.error,
            sender_data: u.sender_data,
            reason: u.reason,
            reply: u.reply,
        };
        changes.push((u.id, change));
    }
    let max = settings.max_check_failures;
    for f in report.failures {
        let Some(m) = by_id.get(&f.id) else {
            out.warnings.push(format!(
                "check failure for message {} ignored: it was not being checked ({})",
                f.id, f.error
            ));
            continue;
        };
        let count = m.check_failures + 1;
        let made_final = count >= max;
        let (state, reason) = if made_final {
            let reason = format!(
                "status check failed {count} times: made final; last error: {}",
                f.error
            );
            (State::ErrorUpdate, reason)
        } else {
            let reason = format!("status check failed ({count} of {max}): {}", f.error);
            (m.state, reason)
        };
        tracing::warn!(id = %f.id, backend = %out.backend, "status check failed ({count} of {max}): {}", f.error);
        let change = Change::CheckFailed {
            error: f.error.clone(),
            made_final,
            reason,
        };
        changes.push((f.id, change));
        told.push(Err(CheckedFailure {
            id: f.id,
            error: f.error,
            state,
            state_code: state.code(),
            check_failures: count,
            made_final,
        }));
    }
    let (backend, cursor) = (out.backend.clone(), report.cursor);
    let stored = blocking(store, move |s| {
        let cursor = cursor.as_deref().map(|value| Cursor {
            backend: &backend,
            value,
        });
        s.apply(&changes, cursor, Timestamp::now())
    })
    .await?;
    for (told, stored) in told.into_iter().zip(stored) {
        match told {
            Err(f) => out.failures.push(f),
            Ok(u) if stored.is_some() => out.updated.push(u),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Sent, non-final messages older than the window are made final, and the backend is
/// asked to withdraw them.
async fn expire(
    store: &Arc<dyn Store>,
    settings: &DeliverySettings,
    name: &str,
    backend: &dyn Backend,
    since: Timestamp,
    out: &mut BackendCheck,
) -> Result<(), DeliveryError> {
    let n = name.to_string();
    let old: Vec<Message> = blocking(store, move |s| s.messages(&in_flight(&n, None)))
        .await?
        .into_iter()
        .filter(|m| m.sent_at.is_some_and(|t| t < since))
        .collect();
    if old.is_empty() {
        return Ok(());
    }
    let window = human(settings.status_window);
    let mut changes = Vec::with_capacity(old.len());
    for m in old {
        let base = format!("no final state within the status window ({window})");
        let c = match backend.cancel(&m).await {
            Ok(Cancel::Withdrawn) => Change::Failed {
                error: format!("{base}; withdrawn, never called"),
                ambiguous: false,
                reason: format!("{base}: withdrawn from the backend"),
            },
            Ok(Cancel::TooLate(r)) => Change::Closed {
                reason: format!("{base}; too late to withdraw: {r}"),
            },
            Ok(Cancel::Unsupported) => Change::Closed {
                reason: format!("{base}; the backend cannot withdraw messages"),
            },
            Err(e) => Change::Closed {
                reason: format!("{base}; withdrawing failed: {e}"),
            },
        };
        changes.push((m.id, c));
    }
    let applied = blocking(store, move |s| {
        let stored = s.apply(&changes, None, Timestamp::now())?;
        Ok(changes
            .into_iter()
            .zip(stored)
            .filter_map(|((id, c), m)| {
                let m = m?;
                Some(CheckedUpdate {
                    id,
                    state: m.state,
                    state_code: m.state.code(),
                    is_final: true,
                    reason: c.reason().to_string(),
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    out.expired.extend(applied);
    Ok(())
}
