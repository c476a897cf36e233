//! The store: messages, their history, templates and delivery bookkeeping, on SQLite (the
//! embedded default) or PostgreSQL. Synchronous on purpose: async callers run it on a
//! blocking thread, never inside a backend call. Depends on `dialout-model` only.
//!
//! [`Store`] is the whole of it, made of small parts: [`MessageStore`], [`DeliveryStore`],
//! [`HealthStore`], [`DncStore`], [`TokenStore`], [`ImportStore`], [`PrivacyStore`],
//! [`WebhookStore`] and [`WebhookControl`].

pub mod beats;
pub mod blocking;
pub mod delivery_store;
pub mod dnc_store;
pub mod error;
pub mod health;
pub mod import_store;
pub mod message_store;
pub mod open;
pub mod pace;
pub mod pg;
pub mod plan;
pub mod privacy;
pub mod pymess;
pub mod sql;
pub mod sqlite;
pub mod store;
pub mod tokens;
pub mod webhook_control;
pub mod webhooks;

pub use beats::WorkerBeat;
pub use delivery_store::{BackendState, Claimable, Cursor, DeliveryStore, Seen};
pub use dnc_store::DncStore;
pub use error::StoreError;
pub use health::{HealthStore, StateCount};
pub use import_store::{ImportStore, Imported, ImportedMessage, ImportedTemplate};
pub use message_store::{InsertMode, Inserted, MessageFilter, MessageStore, Order, Start};
pub use open::{open, redact_url};
pub use plan::Change;
pub use privacy::{EraseOptions, Erasure, PrivacyStore};
pub use store::Store;
pub use tokens::TokenStore;
pub use webhook_control::WebhookControl;
pub use webhooks::WebhookStore;

/// Every part of [`Store`], for callers that hold an `Arc<dyn Store>` and call its methods:
/// `use dialout_store::prelude::*;`.
pub mod prelude {
    pub use crate::delivery_store::DeliveryStore;
    pub use crate::dnc_store::DncStore;
    pub use crate::health::HealthStore;
    pub use crate::import_store::ImportStore;
    pub use crate::message_store::MessageStore;
    pub use crate::privacy::PrivacyStore;
    pub use crate::store::Store;
    pub use crate::tokens::TokenStore;
    pub use crate::webhook_control::WebhookControl;
    pub use crate::webhooks::WebhookStore;
}
