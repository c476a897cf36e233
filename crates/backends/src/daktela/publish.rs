//! Creating a campaign record for a message, and finding it again after an ambiguous failure.

use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::Inner;
use super::client::ApiError;
use super::mapping::Mapped;
use super::record;
use crate::backend::{Accepted, BackendError, Found, Publish};
use dialout_model::message::Message;
use dialout_model::state::State;

/// The custom field holding dialout's message id, for finding a record again.
pub const ID_FIELD: &str = "dialout_message_id";
/// The custom field holding the text to read (pymess's name).
pub const TEXT_FIELD: &str = "autodialer_text";
/// Where a sender puts more custom fields: `extra_data.custom_fields`.
pub const SENDER_FIELDS: &str = "custom_fields";
/// How far before the message's creation a record may claim to be created (clock skew).
const CREATED_SLACK: SignedDuration = SignedDuration::from_mins(10);

/// `+420777123456` → `00420777123456`, as pymess sent it.
pub fn daktela_number(message: &Message) -> String {
    let n = message.recipient.as_str();
    match n.strip_prefix('+') {
        Some(rest) => format!("00{rest}"),
        None => n.to_string(),
    }
}

impl Inner {
    pub(super) fn record_type(&self, message: &Message) -> Result<&str, String> {
        if message.predictive {
            self.config.predictive_record_type.as_deref().ok_or_else(|| {
                format!("message is predictive but backends.{}.predictive_record_type is not configured", self.name)
            })
        } else {
            Ok(&self.config.autodialer_record_type)
        }
    }

    /// The record to POST. A sender's bad custom fields are a permanent error.
    pub(super) fn record_body(&self, message: &Message) -> Result<Value, String> {
        let mut fields = Map::new();
        fields.insert(TEXT_FIELD.into(), json!([message.content]));
        match message.extra_data.get(SENDER_FIELDS) {
            None | Some(Value::Null) => {}
            Some(Value::Object(given)) => {
                for (k, v) in given {
                    let values = match v {
                        Value::String(s) => vec![Value::String(s.clone())],
                        Value::Number(n) => vec![Value::String(n.to_string())],
                        Value::Array(items)
                            if items.iter().all(|i| i.is_string() || i.is_number()) =>
                        {
                            items
                                .iter()
                                .map(|i| {
                                    Value::String(
                                        i.as_str()
                                            .map(str::to_string)
                                            .unwrap_or_else(|| i.to_string()),
                                    )
                                })
                                .collect()
                        }
                        _ => {
                            return Err(format!(
                                "extra_data.{SENDER_FIELDS}.{k}: expected a string, a number or a list of them"
                            ));
                        }
                    };
                    if k == ID_FIELD {
                        return Err(format!(
                            "extra_data.{SENDER_FIELDS}.{k}: reserved for dialout's message id"
                        ));
                    }
                    fields.insert(k.clone(), Value::Array(values));
                }
            }
            Some(_) => {
                return Err(format!(
                    "extra_data.{SENDER_FIELDS}: expected an object of custom field = value(s)"
                ));
            }
        }
        fields.insert(ID_FIELD.into(), json!([message.id.to_string()]));
        Ok(json!({
            "record_type": self.record_type(message)?,
            "number": daktela_number(message),
            "customFields": fields,
        }))
    }

    pub(super) async fn publish_one(
        &self,
        message: &Message,
        refused: Option<&OnceLock<String>>,
    ) -> Publish {
        let body = match self.record_body(message) {
            Ok(b) => b,
            Err(error) => return Publish::Failed { error },
        };
        let outcome = match self.client.create(&body, refused).await {
            Ok(record) => match record::name(&record) {
                Some(name) => {
                    tracing::info!(message = %message.id, backend = %self.name, record = name, "Daktela record created");
                    Publish::Accepted(Accepted::ready(
                        record::sender_data(&record),
                        format!("Daktela record {name} created"),
                    ))
                }
                None => Publish::Retry {
                    error: "Daktela's answer to the create has no record name".into(),
                    ambiguous: true,
                },
            },
            Err(ApiError::Refused(error)) => Publish::Failed { error },
            Err(ApiError::Unauthorized(reason)) => Publish::Paused { reason },
            Err(ApiError::Transient { reason, ambiguous }) => Publish::Retry {
                error: reason,
                ambiguous,
            },
        };
        if !matches!(outcome, Publish::Accepted(_)) {
            tracing::warn!(message = %message.id, backend = %self.name, outcome = ?outcome, "Daktela publish did not succeed");
        }
        outcome
    }

    /// By dialout's id in a custom field where the instance filters on it, else by record
    /// type, number and creation time, checked against the id and the text the record holds.
    pub(super) async fn find_one(&self, message: &Message) -> Result<Found, BackendError> {
        let Ok(record_type) = self.record_type(message) else {
            return Ok(Found::No);
        };
        let id = message.id.to_string();
        let fields = [
            "name",
            "record_type",
            "number",
            "action",
            "statuses",
            "created",
            "edited",
            "customFields",
        ];

        if !self
            .id_filter_refused
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            let filters = [
                ("record_type", "eq", record_type.to_string()),
                (&*format!("customFields.{ID_FIELD}"), "eq", id.clone()),
            ];
            let params = record::list_params(&filters, &fields, "created", 0, 100);
            match self.client.list(&params).await {
                Ok(page) => {
                    if let Some(r) = oldest(
                        page.data
                            .iter()
                            .filter(|r| record::custom_field(r, ID_FIELD).as_deref() == Some(&id)),
                    ) {
                        return Ok(Found::Yes(self.adopt(r, "found by its message id")));
                    }
                }
                Err(ApiError::Refused(why)) => {
                    tracing::info!(backend = %self.name, reason = %why, "Daktela refuses filters on custom fields; finding records by number and time");
                    self.id_filter_refused
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => return Err(to_backend_error(e)),
            }
        }

        let since = message
            .created_at
            .checked_sub(CREATED_SLACK)
            .unwrap_or(message.created_at);
        let filters = [
            ("record_type", "eq", record_type.to_string()),
            ("number", "eq", daktela_number(message)),
            ("created", "gte", self.local_time(since)),
        ];
        let params = record::list_params(&filters, &fields, "created", 0, 1000);
        let page = self.client.list(&params).await.map_err(to_backend_error)?;
        let mut mine = Vec::new();
        let mut likely = Vec::new();
        for r in &page.data {
            match record::custom_field(r, ID_FIELD) {
                Some(other) if other != id => continue,
                Some(_) => mine.push(r),
                // The instance dropped our field: the text must match.
                None if record::custom_field(r, TEXT_FIELD).as_deref()
                    == Some(message.content.as_str()) =>
                {
                    likely.push(r)
                }
                None => continue,
            }
        }
        if let Some(r) = oldest(mine.into_iter()) {
            return Ok(Found::Yes(self.adopt(
                r,
                "found by number and creation time, with its message id",
            )));
        }
        let n = likely.len();
        match oldest(likely.into_iter()) {
            Some(r) => {
                let how = if n == 1 {
                    "found by number, creation time and text".to_string()
                } else {
                    format!(
                        "the oldest of {n} records with this number and text created since the message"
                    )
                };
                Ok(Found::Yes(self.adopt(r, &how)))
            }
            None => Ok(Found::No),
        }
    }

    fn adopt(&self, record: &Value, how: &str) -> Accepted {
        let name = record::name(record).unwrap_or("?");
        let (action, status) = (record::action(record), record::first_status(record));
        // A record the dialer has not touched yet is what a fresh publish reports: READY.
        let (state, is_final) = match (action.as_deref(), &status) {
            (Some("0" | "1"), None) => (State::Ready, false),
            _ => match self
                .config
                .mapping
                .map(action.as_deref(), status.as_deref())
            {
                Mapped::State {
                    state, is_final, ..
                } => (state, is_final),
                _ => (State::Ready, false),
            },
        };
        tracing::info!(backend = %self.name, record = name, "adopting an existing Daktela record instead of posting again");
        Accepted {
            state,
            is_final,
            sender_data: record::sender_data(record),
            reason: format!("Daktela record {name} {how}"),
        }
    }

    /// An instant as Daktela writes it: the instance's local time, to the second.
    pub(super) fn local_time(&self, t: Timestamp) -> String {
        record::format_local(t.to_zoned(self.config.time_zone.clone()).datetime())
    }
}

fn oldest<'a>(records: impl Iterator<Item = &'a Value>) -> Option<&'a Value> {
    records.min_by(|a, b| record::created(a).cmp(&record::created(b)))
}

pub(super) fn to_backend_error(e: ApiError) -> BackendError {
    match e {
        ApiError::Unauthorized(r) => BackendError::Paused(r),
        other => BackendError::Outage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daktela::config::DaktelaConfig;
    use dialout_model::message::NewMessage;
    use dialout_model::phone::PhoneNumber;

    fn inner() -> Inner {
        let opts: toml::Table = toml::from_str(
            "url = \"http://127.0.0.1:1/api/v6/campaignsRecords\"\naccess_token = \"t\"\nautodialer_record_type = \"tts\"\npredictive_record_type = \"pred\"",
        )
        .unwrap();
        Inner::new(
            "dk",
            DaktelaConfig::from_options("dk", &opts, |_| None).unwrap(),
        )
        .unwrap()
    }

    fn message(extra: Value) -> Message {
        let new = NewMessage {
            extra_data: extra.as_object().cloned().unwrap_or_default(),
            ..NewMessage::new(
                PhoneNumber::from_e164("+420777123456").unwrap(),
                "Hello",
                "dk",
            )
        };
        Message::waiting(&new, Timestamp::now())
    }

    #[test]
    fn body_has_number_type_text_sender_fields_and_id() {
        let i = inner();
        let mut m = message(
            json!({"custom_fields": {"order": "42", "lang": ["cs", "en"], "autodialer_text": "Override"}}),
        );
        let b = i.record_body(&m).unwrap();
        assert_eq!(b["number"], "00420777123456");
        assert_eq!(b["record_type"], "tts");
        assert_eq!(b["customFields"]["autodialer_text"], json!(["Override"]));
        assert_eq!(b["customFields"]["order"], json!(["42"]));
        assert_eq!(b["customFields"]["lang"], json!(["cs", "en"]));
        assert_eq!(b["customFields"][ID_FIELD], json!([m.id.to_string()]));
        m.predictive = true;
        assert_eq!(i.record_body(&m).unwrap()["record_type"], "pred");
    }

    #[test]
    fn bad_sender_fields_are_refused_with_the_key() {
        let i = inner();
        let e = i
            .record_body(&message(json!({"custom_fields": {"x": {"a": 1}}})))
            .unwrap_err();
        assert!(e.contains("extra_data.custom_fields.x"), "{e}");
        let e = i
            .record_body(&message(json!({"custom_fields": {ID_FIELD: "other"}})))
            .unwrap_err();
        assert!(e.contains("reserved"), "{e}");
        assert!(
            i.record_body(&message(json!({"custom_fields": "x"})))
                .is_err()
        );
    }
}
