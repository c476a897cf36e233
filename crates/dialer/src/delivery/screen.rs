//! The do-not-call list checked again right before publishing (the rules are
//! `dialout_model::dnc`; the store applies them at insert).

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use dialout_model::message::Message;
use dialout_model::phone::PhoneNumber;
use dialout_store::prelude::*;

use crate::delivery::{DeliveryError, blocking};

/// The refusals of the do-not-call list for these messages' recipients, checked right
/// before publishing: a number listed after its message was queued.
pub(crate) async fn refusals(
    store: &Arc<dyn Store>,
    messages: &[Message],
) -> Result<HashMap<PhoneNumber, String>, DeliveryError> {
    let mut numbers: Vec<PhoneNumber> = messages.iter().map(|m| m.recipient.clone()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let found = blocking(store, move |s| s.dnc_find(&numbers, Timestamp::now())).await?;
    Ok(found
        .into_iter()
        .map(|e| (e.number.clone(), e.refusal()))
        .collect())
}
