//! Erasing a message's personal data (retention, `dialout erase`) while its row, states,
//! times, tag, backend and template slug stay, so counts by state and day do not change.
//!
//! The recipient is replaced by a keyed hash (HMAC-SHA256, `erased:<hex>`). The key is
//! made once, at random, and kept in the database, so every process sharing it hashes a
//! number alike; it is never logged. Caps and dedupe find an erased number's recent calls
//! through the same hash (the store rewrites them with the message).

use crate::error::StoreError;
use crate::webhooks::Delivery;
use dialout_model::id::MessageId;
use dialout_model::message::JsonMap;
use dialout_model::phone::PhoneNumber;
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

/// What replaces a quoted number or content in text that is kept (history reasons, errors).
pub const REDACTED: &str = "[erased]";

/// How many messages one erase transaction takes: short transactions, whatever the count.
pub const ERASE_BATCH: usize = 50;

/// The key of the recipients' hash. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct HashKey([u8; 32]);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(..)")
    }
}

impl HashKey {
    /// A new random key (made once per database).
    pub fn generate() -> HashKey {
        HashKey(rand::random())
    }

    /// The key as stored; an unexpected length is a corrupt database.
    pub fn from_stored(bytes: &[u8]) -> Result<HashKey, StoreError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::corrupt("recipient hash key", bytes.len()))?;
        Ok(HashKey(key))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The erased form of `number`: `erased:` and HMAC-SHA256(key, E.164) in hex. An
    /// already erased recipient is its own hash.
    pub fn hash(&self, number: &PhoneNumber) -> PhoneNumber {
        if number.is_erased() {
            return number.clone();
        }
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(number.as_str().as_bytes());
        let out = mac.finalize().into_bytes();
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        PhoneNumber::erased(&hex)
    }
}

/// The words an erased message's kept text must not quote: its number in every written
/// form, and its content (when long enough to be more than a common word).
pub struct Redaction {
    terms: Vec<String>,
}

impl Redaction {
    pub fn of(number: &PhoneNumber, content: &str) -> Redaction {
        let mut terms = number.written_forms();
        let content = content.trim();
        if content.chars().count() >= 4 {
            terms.push(content.to_string());
        }
        terms.sort_by_key(|t| std::cmp::Reverse(t.len()));
        Redaction { terms }
    }

    pub fn touches(&self, text: &str) -> bool {
        self.terms.iter().any(|t| text.contains(t.as_str()))
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for t in &self.terms {
            if out.contains(t.as_str()) {
                out = out.replace(t.as_str(), REDACTED);
            }
        }
        out
    }

    pub fn opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.text(&t))
    }

    /// Every string in `value`, at any depth, redacted; keys and other values kept.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(self.map(map)),
            other => other.clone(),
        }
    }

    pub fn map(&self, map: &JsonMap) -> JsonMap {
        map.iter().map(|(k, v)| (k.clone(), self.json(v))).collect()
    }
}

/// What erasing also removes beyond the recipient, content and data.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EraseOptions {
    /// The related objects' ids (`[retention] related_objects = true`).
    pub related: bool,
}

/// One erasure on request, as recorded (without the number).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Erasure {
    pub at: Timestamp,
    /// The CLI user or the API token's name.
    pub by: String,
    /// The number's keyed hash (`erased:<hex>`).
    pub recipient_hash: String,
    /// Messages erased.
    pub messages: usize,
}

/// Erasure and retention.
pub trait PrivacyStore: Send + Sync {
    /// The keyed hash an erased message of `number` carries instead of it.
    fn recipient_hash(&self, number: &PhoneNumber) -> PhoneNumber;
    /// Erases the personal fields of these messages, [`ERASE_BATCH`] per transaction.
    /// Messages not final or already erased are left as they are; returns how many were
    /// erased.
    fn erase(&self, ids: &[MessageId], opts: EraseOptions) -> Result<usize, StoreError>;
    fn record_erasure(&self, e: &Erasure) -> Result<(), StoreError>;
    /// Every recorded erasure, oldest first.
    fn erasures(&self) -> Result<Vec<Erasure>, StoreError>;
    /// Final messages not erased yet that last changed before `before`, oldest first
    /// (an index holds exactly these: no scan).
    fn expired(&self, before: Timestamp, limit: usize) -> Result<Vec<MessageId>, StoreError>;
    fn count_expired(&self, before: Timestamp) -> Result<usize, StoreError>;
    /// Deletes up to `limit` delivered webhook deliveries delivered before `before`.
    fn prune_deliveries(&self, before: Timestamp, limit: usize) -> Result<usize, StoreError>;
    fn count_prunable_deliveries(&self, before: Timestamp) -> Result<usize, StoreError>;
    /// The webhook deliveries of these messages, by id.
    fn deliveries_of(&self, ids: &[MessageId]) -> Result<Vec<Delivery>, StoreError>;
    /// Lets go of old copies of erased data the database still keeps on disk where it can
    /// (SQLite: the write-ahead log is checkpointed and truncated). Best effort.
    fn settle(&self) -> Result<(), StoreError>;
}
