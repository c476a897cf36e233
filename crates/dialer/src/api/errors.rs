//! The error of every [`crate::dialer::Dialer`] method but the sending ones (`SendError`).

use crate::delivery::DeliveryError;
use dialout_model::id::MessageId;
use dialout_model::template::TemplateError;
use dialout_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no message {0}")]
    NoMessage(MessageId),
    #[error("no template {0:?}")]
    NoTemplate(String),
    #[error("template {0:?} already exists")]
    TemplateExists(String),
    /// A template's slug or body was refused; nothing was stored.
    #[error(transparent)]
    InvalidTemplate(#[from] TemplateError),
    /// A template change that changes nothing.
    #[error("nothing to change: name the body or a flag to set")]
    NothingToChange,
    /// The message is in a state that does not allow the action (a final message cannot be
    /// cancelled, a waiting one cannot be resent).
    #[error("message {id} cannot be {action}: {reason}")]
    Refused {
        id: MessageId,
        action: &'static str,
        reason: String,
    },
    /// A phone number that cannot be read (do-not-call list).
    #[error(transparent)]
    InvalidNumber(#[from] dialout_model::phone::PhoneError),
    /// A do-not-call entry that cannot be stored (a reason too long, an end in the past).
    #[error("{0}")]
    InvalidDnc(String),
    #[error("no token {0:?}")]
    NoToken(String),
    #[error("token {0:?} already exists")]
    TokenExists(String),
    #[error("invalid token name {0:?}: expected 1 to 64 letters, digits, - _ .")]
    InvalidTokenName(String),
    #[error("a token needs at least one scope (send, read, admin)")]
    NoScope,
    #[error(transparent)]
    Delivery(DeliveryError),
    #[error(transparent)]
    Store(StoreError),
}

impl Error {
    /// Bad input from the caller (unknown id or slug, invalid template, refused action), as
    /// opposed to a failure of the store or a backend.
    pub fn is_caller_error(&self) -> bool {
        !matches!(self, Error::Delivery(_) | Error::Store(_))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoTemplate(slug) => Error::NoTemplate(slug),
            StoreError::TemplateExists(slug) => Error::TemplateExists(slug),
            StoreError::TokenExists(name) => Error::TokenExists(name),
            other => Error::Store(other),
        }
    }
}

impl From<DeliveryError> for Error {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::NotFound(id) => Error::NoMessage(id),
            DeliveryError::Refused { id, action, reason } => Error::Refused { id, action, reason },
            DeliveryError::Store(s) => Error::from(s),
            other => Error::Delivery(other),
        }
    }
}
