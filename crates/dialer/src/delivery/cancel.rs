//! Cancelling a message (the backend withdraws it where it still can) and resending one
//! (a new message linked to the old).

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use super::{DeliveryError, blocking, owner_id, publish_now};
use crate::delivery::channels::Channels;
use dialout_backends::backend::Cancel;
use dialout_model::duration::after;
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_store::prelude::*;
use dialout_store::{Change, Claimable, InsertMode};

/// What `cancel` did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CancelOutcome {
    /// It had not been published: it never will be (ERROR, final).
    Cancelled { message: Message },
    /// The backend withdrew it (ERROR, final).
    Withdrawn { message: Message },
    /// The backend has already acted on it (or may have); the message is unchanged.
    TooLate { message: Message, reason: String },
    /// The backend cannot withdraw messages; the message is unchanged.
    Unsupported { message: Message },
}

impl CancelOutcome {
    pub fn message(&self) -> &Message {
        match self {
            CancelOutcome::Cancelled { message }
            | CancelOutcome::Withdrawn { message }
            | CancelOutcome::TooLate { message, .. }
            | CancelOutcome::Unsupported { message } => message,
        }
    }

    /// The message will not be called.
    pub fn stopped(&self) -> bool {
        matches!(
            self,
            CancelOutcome::Cancelled { .. } | CancelOutcome::Withdrawn { .. }
        )
    }
}

fn cancelled(reason: &str) -> Change {
    Change::Cancelled {
        reason: reason.to_string(),
    }
}

pub async fn cancel(
    store: &Arc<dyn Store>,
    backends: &Channels,
    id: MessageId,
) -> Result<CancelOutcome, DeliveryError> {
    let m = blocking(store, move |s| s.message(id))
        .await?
        .ok_or(DeliveryError::NotFound(id))?;
    if m.is_final_state {
        return Err(DeliveryError::Refused {
            id,
            action: "cancelled",
            reason: format!("it is final ({})", m.state),
        });
    }
    if m.state.is_unpublished() && !m.attempt_unresolved {
        // Take the claim so that no publisher can hand it over while we cancel it.
        let owner = owner_id();
        let now = Timestamp::now();
        let until = after(now, backends.delivery().lease);
        let o = owner.clone();
        let done = blocking(store, move |s| {
            let got = s.claim(&o, Claimable::Ids(&[id]), now, until)?;
            if got.is_empty() {
                return Ok(None);
            }
            // `finish` releases the claim.
            let change = cancelled("cancelled before it was published");
            Ok(s.finish(&o, &[(id.into(), change)], now)?.pop().flatten())
        })
        .await?;
        if let Some(message) = done {
            return Ok(CancelOutcome::Cancelled { message });
        }
        let now_m = blocking(store, move |s| s.message(id))
            .await?
            .ok_or(DeliveryError::NotFound(id))?;
        if now_m.state.is_unpublished() || now_m.is_final_state {
            return Err(DeliveryError::Refused {
                id,
                action: "cancelled",
                reason: format!(
                    "it is being published right now ({}); try again",
                    now_m.state
                ),
            });
        }
        return cancel_at_backend(store, backends, now_m).await;
    }
    cancel_at_backend(store, backends, m).await
}

async fn cancel_at_backend(
    store: &Arc<dyn Store>,
    backends: &Channels,
    m: Message,
) -> Result<CancelOutcome, DeliveryError> {
    let backend = backends
        .get(&m.backend)
        .ok_or_else(|| DeliveryError::NoBackend {
            id: m.id,
            backend: m.backend.clone(),
        })?;
    let outcome = backend
        .cancel(&m)
        .await
        .map_err(|error| DeliveryError::Backend {
            backend: m.backend.clone(),
            error,
        })?;
    let id = m.id;
    let (change, make): (Change, fn(Message, String) -> CancelOutcome) = match outcome {
        Cancel::Withdrawn => (
            cancelled("cancelled: the backend withdrew it"),
            |message, _| CancelOutcome::Withdrawn { message },
        ),
        Cancel::TooLate(r) => (
            Change::Note {
                reason: format!("cancel requested: too late, {r}"),
            },
            |message, reason| CancelOutcome::TooLate { message, reason },
        ),
        Cancel::Unsupported => (
            Change::Note {
                reason: "cancel requested: the backend cannot withdraw messages".into(),
            },
            |message, _| CancelOutcome::Unsupported { message },
        ),
    };
    let reason = change.reason().to_string();
    let stored = blocking(store, move |s| {
        s.apply(&[(id, change)], None, Timestamp::now())?;
        s.message(id)
    })
    .await?
    .ok_or(DeliveryError::NotFound(id))?;
    Ok(make(stored, reason))
}

/// Stores a copy of a message as a new one (`resent_from` linking back) and publishes it
/// unless delivery is queued. A message still waiting to be published is refused: it
/// would be called twice.
pub async fn resend(
    store: &Arc<dyn Store>,
    backends: &Channels,
    id: MessageId,
) -> Result<Message, DeliveryError> {
    let m = blocking(store, move |s| s.message(id))
        .await?
        .ok_or(DeliveryError::NotFound(id))?;
    if m.state.is_unpublished() && !m.is_final_state {
        return Err(DeliveryError::Refused {
            id,
            action: "resent",
            reason: format!(
                "it is still waiting to be published ({}); cancel it first",
                m.state
            ),
        });
    }
    if m.recipient.is_erased() {
        return Err(DeliveryError::Refused {
            id,
            action: "resent",
            reason: "its recipient and content were erased".into(),
        });
    }
    if backends.get(&m.backend).is_none() {
        return Err(DeliveryError::NoBackend {
            id,
            backend: m.backend,
        });
    }
    let new = NewMessage {
        template_slug: m.template_slug,
        template_id: m.template_id,
        extra_data: m.extra_data,
        tag: m.tag,
        related: m.related,
        priority: m.priority,
        predictive: m.predictive,
        resent_from: Some(id),
        time_zone: m.time_zone,
        ..NewMessage::new(m.recipient, m.content, m.backend)
    };
    let new_id = new.id;
    let inserted = blocking(store, move |s| {
        s.insert(&[new], InsertMode::QUEUED, Timestamp::now())
    })
    .await?;
    let stored = inserted
        .into_iter()
        .next()
        .map(|i| i.message)
        .ok_or(DeliveryError::NotFound(new_id))?;
    if backends.delivery().queued {
        return Ok(stored);
    }
    let mut published = publish_now(store, backends, &[new_id]).await?;
    Ok(published.pop().unwrap_or(stored))
}
