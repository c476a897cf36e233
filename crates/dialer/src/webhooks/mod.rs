//! Webhooks: applications hear about every state change of their messages, signed
//! (Standard Webhooks), in order per message, at least once.
//!
//! The store writes one outbox row per event and subscribed endpoint in the transaction of
//! the change itself (see `dialout_store::webhooks`); [`Deliverer`] posts them. The
//! `Dialer` methods that manage endpoints are in `api/webhooks.rs`.

pub mod deliver;
pub mod endpoint;
pub mod event;
pub mod post;
pub mod settings;
pub mod signing;

pub use deliver::{Deliverer, DeliveryStats};
pub use endpoint::{WebhookError, delivery_json, endpoint_json};
pub use event::body as event_body;
pub use settings::{WebhookConfig, WebhookSettings};

pub use dialout_store::webhooks::{
    Delivery, DeliveryFilter, DeliveryState, EVENT_TYPES, Endpoint, FINAL, Outcome, Replay,
    STATE_CHANGED, Secret, TEST,
};
