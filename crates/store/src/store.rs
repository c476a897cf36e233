//! The whole store: every part, as one object the layers above hold.

use crate::delivery_store::DeliveryStore;
use crate::dnc_store::DncStore;
use crate::health::HealthStore;
use crate::import_store::ImportStore;
use crate::message_store::MessageStore;
use crate::privacy::PrivacyStore;
use crate::tokens::TokenStore;
use crate::webhooks::WebhookStore;

/// What the application keeps. One type per database implements every part; each part is a
/// trait of its own so that a caller names what it uses and none of them grows past a page.
pub trait Store:
    MessageStore
    + DeliveryStore
    + HealthStore
    + DncStore
    + TokenStore
    + ImportStore
    + PrivacyStore
    + 'static
{
    /// Webhook endpoints and their outbox.
    fn webhooks(&self) -> &dyn WebhookStore;
}
