//! Webhooks: applications hear about every state change of their messages, signed
//! (Standard Webhooks), in order per message, at least once.
//!
//! The store writes one outbox row per event and subscribed endpoint in the transaction of
//! the change itself (see `store::webhooks`); [`Deliverer`] posts them.

mod api;
mod deliver;
mod event;
mod post;
mod settings;
pub mod signing;

pub use api::{WebhookError, delivery_json, endpoint_json};
pub use deliver::{Deliverer, DeliveryStats};
pub use event::body as event_body;
pub use settings::{WebhookConfig, WebhookSettings};

pub use crate::store::webhooks::{
    Delivery, DeliveryFilter, DeliveryState, EVENT_TYPES, Endpoint, FINAL, Outcome, Replay,
    STATE_CHANGED, Secret, TEST,
};
