//! The dialer message and what goes into making one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::id::MessageId;
use crate::interactive::{Interactive, Reply};

use crate::phone::PhoneNumber;

use crate::related::RelatedObject;

use crate::state::State;

/// JSON object data kept with a message (`extra_data`, `extra_sender_data`).
pub type JsonMap = Map<String, Value>;

/// A stored dialer message: every field of pymess's DialerMessage, plus what a real dialer needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
    /// When a backend accepted it.
    pub sent_at: Option<Timestamp>,
    pub recipient: PhoneNumber,
    pub content: String,
    pub template_slug: Option<String>,
    /// The template's database id; kept as None when the template is removed (the slug stays).
    pub template_id: Option<i64>,
    pub state: State,
    /// The configured backend's name (`[backends.NAME]`).
    pub backend: String,
    pub error: Option<String>,
    pub extra_data: JsonMap,
    /// Backend-specific data (Daktela's record name, Asterisk's call-file name, ...).
    pub extra_sender_data: JsonMap,
    pub tag: Option<Tag>,
    pub is_final_state: bool,
    pub related: Vec<RelatedObject>,
    pub priority: Priority,
    /// Daktela: use the predictive record type.
    pub predictive: bool,
    /// How many times it was handed to a backend (publish attempts begun).
    pub attempts: u32,
    /// When the next publish attempt is due (retries with backoff).
    pub next_attempt_at: Option<Timestamp>,
    /// Not to be published before this instant.
    pub not_before: Option<Timestamp>,
    pub idempotency_key: Option<String>,
    /// Status checks that failed for this message since its last real update.
    pub check_failures: u32,
    /// The message this one was resent from.
    pub resent_from: Option<MessageId>,
    /// An attempt began whose outcome was never recorded (a crash between publish and the
    /// state update) or was ambiguous (a timeout): ask the backend before publishing again.
    pub attempt_unresolved: bool,
    /// The recipient's time zone as the sender gave it (calling hours); None: the number's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// What the call asks of the callee beyond the message (keys, answering machines).
    #[serde(default, flatten)]
    pub interactive: Interactive,
    /// What came back: keys pressed, their label, who answered.
    #[serde(default, flatten)]
    pub reply: Reply,
}

impl Message {
    /// pymess's `failed`.
    pub fn failed(&self) -> bool {
        self.state.is_failed()
    }
}

/// What a caller hands to `send`: validated parts of a message not stored yet.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub id: MessageId,
    pub recipient: PhoneNumber,
    pub content: String,
    pub template_slug: Option<String>,
    pub template_id: Option<i64>,
    pub backend: String,
    pub extra_data: JsonMap,
    pub tag: Option<Tag>,
    pub related: Vec<RelatedObject>,
    pub priority: Priority,
    pub predictive: bool,
    pub not_before: Option<Timestamp>,
    pub idempotency_key: Option<String>,
    pub resent_from: Option<MessageId>,
    /// The recipient's time zone for calling hours (an IANA name, checked by `send`).
    pub time_zone: Option<String>,
    pub interactive: Interactive,
}

impl NewMessage {
    /// A plain message to `recipient` through `backend`: a fresh id, the default priority,
    /// nothing else set. Fill in the rest with struct update syntax.
    pub fn new(
        recipient: PhoneNumber,
        content: impl Into<String>,
        backend: impl Into<String>,
    ) -> Self {
        NewMessage {
            id: MessageId::new(),
            recipient,
            content: content.into(),
            template_slug: None,
            template_id: None,
            backend: backend.into(),
            extra_data: JsonMap::new(),
            tag: None,
            related: Vec::new(),
            priority: Priority::DEFAULT,
            predictive: false,
            not_before: None,
            idempotency_key: None,
            resent_from: None,
            time_zone: None,
            interactive: Interactive::default(),
        }
    }
}

impl Message {
    /// The message as first stored: WAITING, no attempt yet, related objects sorted and unique.
    pub fn waiting(new: &NewMessage, now: Timestamp) -> Message {
        let mut related = new.related.clone();
        related.sort();
        related.dedup();
        Message {
            id: new.id,
            created_at: now,
            changed_at: now,
            sent_at: None,
            recipient: new.recipient.clone(),
            content: new.content.clone(),
            template_slug: new.template_slug.clone(),
            template_id: new.template_id,
            state: State::Waiting,
            backend: new.backend.clone(),
            error: None,
            extra_data: new.extra_data.clone(),
            extra_sender_data: JsonMap::new(),
            tag: new.tag.clone(),
            is_final_state: false,
            related,
            priority: new.priority,
            predictive: new.predictive,
            attempts: 0,
            next_attempt_at: None,
            not_before: new.not_before,
            idempotency_key: new.idempotency_key.clone(),
            check_failures: 0,
            resent_from: new.resent_from,
            attempt_unresolved: false,
            time_zone: new.time_zone.clone(),
            interactive: new.interactive.clone(),
            reply: Reply::default(),
        }
    }
}

/// One line of a message's state history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    /// None for the first entry.
    pub from: Option<State>,
    /// The new state. A failed status check is recorded with `to: ERROR_UPDATE` while the
    /// message keeps its last real state.
    pub to: State,
    pub reason: String,
    /// What came back, on the entry of the final state of an interactive call (empty elsewhere).
    #[serde(default, flatten)]
    pub reply: Reply,
}

/// 1 is the highest priority, 3 the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Priority(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid priority {0}: expected 1 (highest), 2 or 3 (default)")]
pub struct InvalidPriority(pub i64);

impl Priority {
    pub const HIGHEST: Priority = Priority(1);
    pub const DEFAULT: Priority = Priority(3);
    pub fn new(p: i64) -> Result<Self, InvalidPriority> {
        if (1..=3).contains(&p) {
            Ok(Priority(p as u8))
        } else {
            Err(InvalidPriority(p))
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Priority::DEFAULT
    }
}

impl TryFrom<u8> for Priority {
    type Error = InvalidPriority;
    fn try_from(p: u8) -> Result<Self, Self::Error> {
        Priority::new(p.into())
    }
}

impl From<Priority> for u8 {
    fn from(p: Priority) -> u8 {
        p.0
    }
}

/// A slug-like mark stored with a message: `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tag {0:?}: expected 1 to 64 characters of A-Z a-z 0-9 _ -")]
pub struct InvalidTag(pub String);

impl Tag {
    pub fn new(tag: &str) -> Result<Self, InvalidTag> {
        let ok = !tag.is_empty()
            && tag.len() <= 64
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Tag(tag.to_string()))
        } else {
            Err(InvalidTag(tag.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = InvalidTag;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Tag::new(&s)
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> String {
        t.0
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_range() {
        assert_eq!(Priority::default().get(), 3);
        assert!(Priority::new(1).is_ok());
        assert!(Priority::new(0).is_err());
        assert!(Priority::new(4).is_err());
    }

    #[test]
    fn tag_is_a_slug() {
        assert!(Tag::new("order-shipped_2").is_ok());
        for bad in ["", "with space", "ünï", "a/b", &"x".repeat(65)] {
            assert!(Tag::new(bad).is_err(), "{bad:?}");
        }
    }
}
