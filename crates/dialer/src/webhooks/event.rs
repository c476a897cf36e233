//! The JSON body of an event (the message as `api::json` shows it everywhere else).

use serde_json::{Value, json};

use dialout_model::interactive::Reply;
use dialout_model::json;
use dialout_model::message::Message;
use dialout_store::webhooks::{Delivery, FINAL, STATE_CHANGED};

/// The request body of a delivery. `message` is the message as it is when the event is
/// posted; `sequence` the transition's number (counted by the caller where the store left it
/// open).
pub fn body(d: &Delivery, message: Option<&Message>, sequence: Option<i64>) -> Value {
    let reply = message.and_then(|m| final_reply(d, m));
    let message = message.map(json::message);
    let mut data = match d.event_type.as_str() {
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
    if let Some(r) = reply {
        data["digits"] = json!(r.digits);
        data["answer"] = json!(r.answer);
        data["answered_by"] = json!(r.answered_by);
    }
    json!({
        "type": d.event_type,
        "id": d.event_id(),
        "created_at": d.at.to_string(),
        "data": data,
    })
}

/// The reply, on the events of a message's final state (`message.final`, and the
/// `message.state_changed` into it) of a call that asked for keys or a machine policy.
fn final_reply<'m>(d: &Delivery, m: &'m Message) -> Option<&'m Reply> {
    let into_final = m.is_final_state && d.to == Some(m.state);
    let of_final = d.event_type == FINAL || (d.event_type == STATE_CHANGED && into_final);
    (of_final && !m.interactive.is_plain()).then_some(&m.reply)
}
