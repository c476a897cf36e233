//! Message ids: globally unique and time-ordered (UUID v7), so they can name call files on a
//! PBX shared by several dialout installations and sort by creation.
//!
//! The 12 bits after the version carry the time within the millisecond (RFC 9562, method
//! 3): 11 bits in steps of about 0.5 µs, then one random bit. A process never makes two ids
//! with the same leading 63 bits, and those bits grow with every id it makes: the SQLite
//! store keys its rows by them (see `store/sqlite/keys.rs`), so new rows append.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(Uuid);

impl MessageId {
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::{SystemTime, UNIX_EPOCH};
        /// The last id's milliseconds and 2048ths of a millisecond, as `ms << 11 | step`.
        static LAST: AtomicU64 = AtomicU64::new(0);
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ms = since.as_millis() as u64 & ((1 << 48) - 1);
        let step = u64::from(since.subsec_nanos() % 1_000_000) * 2048 / 1_000_000;
        let now = ms << 11 | step;
        // Never the same or an earlier step than the last id: a step taken twice, or a clock
        // set back, moves on by one step (carrying into the milliseconds).
        let prev = LAST
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or_else(|last| last);
        let t = now.max(prev + 1);
        let random: u64 = rand::random();
        let high = (t >> 11) << 16 | 0x7000 | (t & 0x7ff) << 1 | (random >> 63);
        let low = 1 << 63 | (random & (u64::MAX >> 2));
        MessageId(Uuid::from_u64_pair(high, low))
    }
    pub fn from_uuid(id: Uuid) -> Self {
        MessageId(id)
    }
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message id {0:?}: expected a UUID such as 0195f3c2-7b1e-7c4d-9a7e-2f1b8c6d5e4f")]
pub struct InvalidMessageId(pub String);

impl FromStr for MessageId {
    type Err = InvalidMessageId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(MessageId)
            .map_err(|_| InvalidMessageId(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_ordered_and_round_trip() {
        let a = MessageId::new();
        let b = MessageId::new();
        assert_ne!(a, b);
        assert!(a < b, "v7 ids sort by creation");
        assert_eq!(a.to_string().parse::<MessageId>().unwrap(), a);
        assert!("not-an-id".parse::<MessageId>().is_err());
    }

    #[test]
    fn ids_are_version_7_with_the_time_and_their_leading_bits_always_grow() {
        let before = jiff::Timestamp::now().as_millisecond() as u64;
        let ids: Vec<MessageId> = (0..20_000).map(|_| MessageId::new()).collect();
        let after = jiff::Timestamp::now().as_millisecond() as u64;
        let mut last_key = 0;
        for id in &ids {
            let u = id.as_uuid();
            assert_eq!(u.get_version_num(), 7, "{u}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{u}");
            let ms = (u.as_u128() >> 80) as u64;
            // 20,000 ids in a tight loop may run a few steps ahead of the clock, never more.
            assert!(
                ms >= before && ms <= after + 20,
                "{ms} outside {before}..={after}"
            );
            let key = (u.as_u128() >> 65) as u64;
            assert!(key > last_key, "leading 63 bits must grow: {u}");
            last_key = key;
        }
    }
}
