//! The JSON body of an event (the message as `api::json` shows it everywhere else).

use serde_json::{Value, json};

use dialout_model::json;
use dialout_model::message::Message;
use dialout_store::webhooks::{Delivery, FINAL, STATE_CHANGED};

/// The request body of a delivery. `message` is the message as it is when the event is
/// posted; `sequence` the transition's number (counted by the caller where the store left it
/// open).
pub fn body(d: &Delivery, message: Option<&Message>, sequence: Option<i64>) -> Value {
    let message = message.map(json::message);
    let data = match d.event_type.as_str() {
        STATE_CHANGED => json!({
            "message": message,
            "from": d.from.map(|s| s.name()),
            "to": d.to.map(|s| s.name()),
            "reason": d.reason,
            "sequence": sequence,
        }),
        FINAL => json!({
            "message": message,
            "to": d.to.map(|s| s.name()),
            "sequence": sequence,
        }),
        _ => json!({ "endpoint_id": d.endpoint_id }),
    };
    json!({
        "type": d.event_type,
        "id": d.event_id(),
        "created_at": d.at.to_string(),
        "data": data,
    })
}
