//! What a caller asks `send` for, and what comes back.

use jiff::Timestamp;
use serde_json::Value;

use dialout_model::id::MessageId;
use dialout_model::interactive::{GatherError, GatherSpec, MachinePolicy};
use dialout_model::message::{InvalidPriority, InvalidTag, Message};
use dialout_model::phone::PhoneError;
use dialout_model::related::InvalidRelated;
use dialout_model::template::{Refusal, TemplateError};
use dialout_store::error::StoreError;

/// Delivery options shared by `send` and `send_template`, as a caller writes them; all are
/// validated before anything is stored.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// `TYPE:ID` pairs (`order:42`).
    pub related: Vec<String>,
    pub tag: Option<String>,
    /// A JSON object kept with the message.
    pub extra_data: Option<Value>,
    /// A configured backend's name; default: the configured default.
    pub backend: Option<String>,
    /// 1 (highest) to 3 (default).
    pub priority: Option<i64>,
    /// Not published before this instant.
    pub not_before: Option<Timestamp>,
    pub predictive: bool,
    pub idempotency_key: Option<String>,
    /// Store only; the worker publishes it.
    pub queued: bool,
    /// The message this one resends.
    pub resent_from: Option<MessageId>,
    /// Send even when the same content went to the same number within `dedupe_window`.
    pub allow_duplicate: bool,
    /// The recipient's time zone for calling hours (`Europe/Prague`); default: the number's.
    pub time_zone: Option<String>,
    /// Keys to gather after the message (checked by `send`); with a template, replaces the
    /// template's.
    pub gather: Option<GatherSpec>,
    /// What to do when an answering machine picks up; with a template, replaces the
    /// template's.
    pub machine: Option<MachinePolicy>,
}

#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    pub recipient: String,
    pub content: String,
    pub options: SendOptions,
}

impl SendRequest {
    pub fn new(recipient: impl Into<String>, content: impl Into<String>) -> Self {
        SendRequest {
            recipient: recipient.into(),
            content: content.into(),
            options: SendOptions::default(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TemplateRequest {
    pub recipient: String,
    pub slug: String,
    /// A JSON object of template variables.
    pub context: Value,
    pub options: SendOptions,
}

/// Bad input: nothing was stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidInput {
    #[error(transparent)]
    Recipient(#[from] PhoneError),
    #[error("invalid content: {0}")]
    Content(String),
    #[error(transparent)]
    Tag(#[from] InvalidTag),
    #[error(transparent)]
    Related(#[from] InvalidRelated),
    #[error(transparent)]
    Priority(#[from] InvalidPriority),
    #[error("unknown backend {name:?}: configured backends are {known}")]
    Backend { name: String, known: String },
    #[error("invalid {field}: {reason}")]
    Json { field: &'static str, reason: String },
    #[error("invalid idempotency key: {0}")]
    IdempotencyKey(&'static str),
    #[error("idempotency key {key:?} was already used for message {existing} with other content")]
    IdempotencyConflict { key: String, existing: MessageId },
    #[error("invalid time zone: {0}")]
    TimeZone(String),
    #[error("unknown template {0:?}")]
    UnknownTemplate(String),
    #[error("invalid {0}")]
    Gather(#[from] GatherError),
    /// The chosen backend cannot make the call asked for (keys, answering machines).
    #[error("backend {backend:?} cannot make this call: {reason}")]
    Interactive {
        backend: String,
        /// `gather` or `machine`: what was asked that it cannot do.
        field: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("request {index}: {error}")]
    InBatch {
        index: usize,
        error: Box<InvalidInput>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// `send_template` only: the template's rule refused; nothing was stored.
    #[error("not sent: {0}")]
    Refused(#[from] Refusal),
    /// Refused for its recipient (do-not-call list, frequency cap, dedupe): nothing was
    /// stored. The HTTP API answers 409.
    #[error("not sent: {0}")]
    NotAllowed(dialout_model::dnc::Screened),
    #[error(transparent)]
    Store(StoreError),
    /// Publishing failed after the messages were stored.
    #[error(transparent)]
    Delivery(crate::delivery::DeliveryError),
    /// The runtime shut down before store work finished.
    #[error("store work stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

impl From<crate::delivery::DeliveryError> for SendError {
    fn from(e: crate::delivery::DeliveryError) -> Self {
        match e {
            crate::delivery::DeliveryError::Store(s) => SendError::from(s),
            other => SendError::Delivery(other),
        }
    }
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IdempotencyConflict { key, existing } => {
                SendError::Invalid(InvalidInput::IdempotencyConflict { key, existing })
            }
            StoreError::Screened(s) => SendError::NotAllowed(s),
            other => SendError::Store(other),
        }
    }
}

/// A stored message, as it is after publishing (or WAITING when queued).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub message: Message,
    /// The idempotency key matched an earlier message: it is returned and nothing was sent.
    pub existing: bool,
}
