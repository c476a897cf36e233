//! What a pymess row becomes in dialout, or why it cannot be stored.
//!
//! - The id: a UUID v7 made of the message's `created_at` (its time, so it sorts among
//!   dialout's own messages by creation) and the pymess id in its last 62 bits, so the same
//!   pymess message always gets the same id (`pymess_id` reads it back).
//! - States keep their code; a code dialout has no state for (pymess 0.7.6's 12
//!   HANGUP_BY_DIALER and 13 HANGUP_BY_CUSTOMER) is refused unless `--state` maps it.
//! - The backend's Python class becomes a configured backend (see [`BackendMap`]).
//! - ERROR is made final (pymess leaves it not final, though nothing ever changes it).
//! - A Daktela message keeps pymess's `extra_data` as it is, and its record name is copied
//!   to `extra_sender_data.name`, where dialout's status check looks for it.

use std::collections::{BTreeMap, HashMap};

use dialout_model::id::MessageId;
use dialout_model::message::{HistoryEntry, JsonMap, Message, Priority, Tag};
use dialout_model::phone::PhoneNumber;
use dialout_model::related::RelatedObject;
use dialout_model::state::State;
use dialout_model::template::{check_body, check_slug};
use dialout_store::import_store::{ImportedMessage, ImportedTemplate};
use dialout_store::pymess::{SourceMessage, SourceTemplate};
use serde_json::Value;

/// Where the messages of each pymess backend go.
#[derive(Debug, Clone, Default)]
pub struct BackendMap {
    /// Configured backend name → kind (`daktela`, `dummy`, ...).
    kinds: BTreeMap<String, String>,
    /// Messages no backend handled yet (pymess's `backend` is empty).
    default: String,
    /// pymess class (full path or its last part) → backend name, from `--backend`.
    given: HashMap<String, String>,
}

impl BackendMap {
    /// `kinds`: every configured backend and its kind; `default`: the default backend's name;
    /// `given`: `PYMESS_CLASS=NAME` pairs. A pair naming no configured backend is an error.
    pub fn new(
        kinds: BTreeMap<String, String>,
        default: String,
        given: &[(String, String)],
    ) -> Result<Self, String> {
        for (class, name) in given {
            if !kinds.contains_key(name) {
                let known: Vec<&str> = kinds.keys().map(String::as_str).collect();
                return Err(format!(
                    "--backend {class}={name}: no backend {name:?} is configured (configured: {})",
                    known.join(", ")
                ));
            }
        }
        Ok(BackendMap {
            kinds,
            default,
            given: given.iter().cloned().collect(),
        })
    }

    /// The backend for a pymess backend class, and its kind.
    pub fn resolve(&self, class: Option<&str>) -> Result<(&str, &str), String> {
        let Some(class) = class.map(str::trim).filter(|c| !c.is_empty()) else {
            return self.named(&self.default);
        };
        let short = class.rsplit('.').next().unwrap_or(class);
        if let Some(name) = self.given.get(class).or_else(|| self.given.get(short)) {
            return self.named(name);
        }
        let kind = match short {
            "DaktelaDialerBackend" => "daktela",
            "DummyDialerBackend" => "dummy",
            _ => {
                return Err(format!(
                    "pymess backend {class} has no dialout backend: pass --backend {short}=NAME"
                ));
            }
        };
        let mut of_kind = self.kinds.iter().filter(|(_, k)| k.as_str() == kind);
        match (of_kind.next(), of_kind.next()) {
            (Some((name, _)), None) => self.named(name),
            (None, _) => Err(format!(
                "pymess backend {class}: no backend of kind {kind:?} is configured; add one or pass --backend {short}=NAME"
            )),
            (Some(_), Some(_)) => Err(format!(
                "pymess backend {class}: several backends of kind {kind:?} are configured; pass --backend {short}=NAME"
            )),
        }
    }

    fn named(&self, name: &str) -> Result<(&str, &str), String> {
        self.kinds
            .get_key_value(name)
            .map(|(n, k)| (n.as_str(), k.as_str()))
            .ok_or_else(|| format!("no backend {name:?} is configured"))
    }
}

/// The id a pymess message gets: `created_at` in the first 48 bits and the 12 after the
/// version (its time within the millisecond, as `MessageId::new` places it), the pymess id
/// in the last 62.
pub fn message_id(created_at: jiff::Timestamp, pymess_id: i64) -> MessageId {
    let us = created_at.as_microsecond().max(0) as u64;
    let ms = (us / 1000) & ((1 << 48) - 1);
    let step = (us % 1000) * 2048 / 1000;
    let high = ms << 16 | 0x7000 | step << 1;
    let low = 1 << 63 | (pymess_id as u64 & (u64::MAX >> 2));
    MessageId::from_uuid(uuid::Uuid::from_u64_pair(high, low))
}

/// The pymess id a message imported from pymess carries in its id.
pub fn pymess_id(id: MessageId) -> i64 {
    (id.as_uuid().as_u64_pair().1 & (u64::MAX >> 2)) as i64
}

/// What one import does with the rows it reads.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub backends: BackendMap,
    /// pymess state codes dialout has no state for → the state to store instead.
    pub states: HashMap<i64, State>,
    /// Numbers not in E.164 form are read in this region (`CZ`).
    pub default_region: Option<String>,
    /// Template slug → its id in dialout.
    pub templates: HashMap<String, i64>,
}

/// A pymess template as a dialout template, or why not.
pub fn template(t: &SourceTemplate) -> Result<ImportedTemplate, String> {
    check_slug(&t.slug).map_err(|e| e.to_string())?;
    let body = t.body.clone().unwrap_or_default();
    check_body(&body).map_err(|e| format!("{e} (dialout renders Jinja-like templates)"))?;
    Ok(ImportedTemplate {
        slug: t.slug.clone(),
        body,
        active: t.is_active,
        allow_duplicates: t.is_allowed_duplicate_messages,
        created_at: t.created_at,
        changed_at: t.changed_at,
    })
}

fn json_object(field: &str, text: Option<&str>) -> Result<JsonMap, String> {
    match text.map(serde_json::from_str::<Value>) {
        None | Some(Ok(Value::Null)) => Ok(JsonMap::new()),
        Some(Ok(Value::Object(m))) => Ok(m),
        Some(Ok(other)) => Err(format!("{field} is not a JSON object: {other}")),
        Some(Err(e)) => Err(format!("{field} is not JSON: {e}")),
    }
}

fn recipient(text: &str, region: Option<&str>) -> Result<PhoneNumber, String> {
    PhoneNumber::from_e164(text.trim())
        .or_else(|_| PhoneNumber::parse(text, region))
        .map_err(|e| format!("recipient: {e}"))
}

fn related(m: &SourceMessage) -> Result<Vec<RelatedObject>, String> {
    let mut out: Vec<RelatedObject> = m
        .related
        .iter()
        .map(|r| {
            RelatedObject::new(&format!("{}.{}", r.app_label, r.model), &r.object_id)
                .map_err(|e| format!("related object: {e}"))
        })
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

impl Mapping {
    /// A pymess message as dialout stores it, or why it cannot be stored.
    pub fn message(&self, m: &SourceMessage) -> Result<ImportedMessage, String> {
        let state = match State::from_code(m.state) {
            Some(s) => s,
            None => *self.states.get(&m.state).ok_or_else(|| {
                format!(
                    "state {} has no dialout state (pymess 0.7.6: 12 HANGUP_BY_DIALER, 13 HANGUP_BY_CUSTOMER): pass --state {}=STATE",
                    m.state, m.state
                )
            })?,
        };
        let (backend, kind) = self.backends.resolve(m.backend.as_deref())?;
        let extra_data = json_object("extra_data", m.extra_data.as_deref())?;
        let mut extra_sender_data =
            json_object("extra_sender_data", m.extra_sender_data.as_deref())?;
        if kind == "daktela"
            && let Some(name) = extra_data.get("name").filter(|v| v.is_string())
        {
            extra_sender_data
                .entry("name")
                .or_insert_with(|| name.clone());
        }
        let tag = match m.tag.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => Some(Tag::new(t).map_err(|e| e.to_string())?),
            None => None,
        };
        let id = message_id(m.created_at, m.id);
        let message = Message {
            id,
            created_at: m.created_at,
            changed_at: m.changed_at,
            sent_at: m.sent_at,
            recipient: recipient(&m.recipient, self.default_region.as_deref())?,
            content: m.content.clone().unwrap_or_default(),
            template_slug: m.template_slug.clone().filter(|s| !s.is_empty()),
            template_id: m
                .template
                .as_ref()
                .and_then(|slug| self.templates.get(slug).copied()),
            state,
            backend: backend.to_string(),
            error: m.error.clone().filter(|e| !e.is_empty()),
            extra_data,
            extra_sender_data,
            tag,
            // pymess leaves ERROR not final, though nothing will ever change it: dialout's
            // ERROR is always final (no status check or worker would look at it again).
            is_final_state: m.is_final_state || state == State::Error,
            related: related(m)?,
            priority: Priority::new(m.priority).map_err(|e| e.to_string())?,
            predictive: !m.is_autodialer,
            attempts: u32::try_from(m.send_attempts)
                .map_err(|_| format!("number_of_send_attempts {}", m.send_attempts))?,
            next_attempt_at: None,
            not_before: None,
            idempotency_key: None,
            check_failures: u32::try_from(m.status_check_attempts).map_err(|_| {
                format!(
                    "number_of_status_check_attempts {}",
                    m.status_check_attempts
                )
            })?,
            resent_from: None,
            attempt_unresolved: false,
            time_zone: None,
            interactive: Default::default(),
            reply: Default::default(),
        };
        let history = vec![HistoryEntry {
            at: m.changed_at,
            from: Some(State::Waiting),
            to: state,
            reason: format!("imported from pymess (dialer message {})", m.id),
            reply: Default::default(),
        }];
        Ok(ImportedMessage {
            message,
            history,
            source_id: m.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_the_time_and_the_pymess_id() {
        let t: jiff::Timestamp = "2024-03-01T10:00:00.123456Z".parse().unwrap();
        let id = message_id(t, 42);
        assert_eq!(id, message_id(t, 42), "the same message, the same id");
        assert_ne!(id, message_id(t, 43));
        let u = id.as_uuid();
        assert_eq!(u.get_version_num(), 7);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        assert_eq!((u.as_u128() >> 80) as i64, t.as_millisecond());
        assert_eq!(pymess_id(id), 42);
        let later = message_id("2024-03-01T10:00:00.124Z".parse().unwrap(), 1);
        assert!(later > id, "ids sort by creation");
    }

    #[test]
    fn backends_by_class_kind_and_option() {
        let kinds: BTreeMap<String, String> = [("dk", "daktela"), ("test", "dummy")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let map = BackendMap::new(kinds.clone(), "test".into(), &[]).unwrap();
        assert_eq!(
            map.resolve(Some("pymess.backend.dialer.daktela.DaktelaDialerBackend")),
            Ok(("dk", "daktela"))
        );
        assert_eq!(map.resolve(None), Ok(("test", "dummy")));
        let err = map.resolve(Some("myapp.MyBackend")).unwrap_err();
        assert!(err.contains("--backend MyBackend=NAME"), "{err}");
        let given = [("MyBackend".to_string(), "dk".to_string())];
        let map = BackendMap::new(kinds.clone(), "test".into(), &given).unwrap();
        assert_eq!(map.resolve(Some("myapp.MyBackend")), Ok(("dk", "daktela")));
        let bad = [("MyBackend".to_string(), "nope".to_string())];
        assert!(BackendMap::new(kinds, "test".into(), &bad).is_err());
    }
}
