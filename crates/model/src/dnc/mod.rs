//! Do-not-call list, frequency caps and dedupe: who may not be called, how often, and not
//! twice with the same words. The store decides caps and dedupe atomically with the insert
//! ([`Screen`]); the do-not-call list is checked there too, and again right before
//! publishing, for messages queued before their number was listed.

mod config;

use jiff::Timestamp;
use serde::Serialize;

use crate::id::MessageId;
use crate::phone::PhoneNumber;

pub use config::CapConfig;
pub use config::limits;

/// One number on the do-not-call list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DncEntry {
    pub number: PhoneNumber,
    pub reason: Option<String>,
    /// Listed until this instant; None: for good.
    pub until: Option<Timestamp>,
    pub added_at: Timestamp,
}

impl DncEntry {
    /// Whether the entry still applies at `now`.
    pub fn applies(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|u| u > now)
    }

    /// The error stored on a message refused because of this entry.
    pub fn refusal(&self) -> String {
        Screened::DoNotCall {
            number: self.number.clone(),
            reason: self.reason.clone(),
            until: self.until,
        }
        .to_string()
    }
}

/// `max_calls_per_recipient = { count = 3, per = "24h" }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    pub count: u32,
    pub per: std::time::Duration,
}

/// The configured limits per recipient (`[delivery]`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecipientLimits {
    pub cap: Option<Cap>,
    pub dedupe_window: Option<std::time::Duration>,
}

impl RecipientLimits {
    pub fn any(&self) -> bool {
        self.cap.is_some() || self.dedupe_window.is_some()
    }

    /// How far back the store must remember calls.
    pub fn horizon(&self) -> std::time::Duration {
        let cap = self.cap.map(|c| c.per).unwrap_or_default();
        cap.max(self.dedupe_window.unwrap_or_default())
    }
}

/// What the store's insert checks of each new message, in the insert's own
/// transaction. The default checks nothing (the store used on its own, in tests).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Screen {
    /// Refuse numbers on the do-not-call list.
    pub dnc: bool,
    pub limits: RecipientLimits,
    /// The same content to the same number within the dedupe window is allowed.
    pub allow_duplicate: bool,
}

impl Screen {
    pub fn any(&self) -> bool {
        self.dnc || self.limits.any()
    }
    /// Whether calls must be recorded for later checks.
    pub fn records(&self) -> bool {
        self.limits.any()
    }
}

/// A message refused for its recipient: nothing was stored. The HTTP API answers 409.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Screened {
    #[error("{number} is on the do-not-call list{}{}", reason_text(.reason), until_text(.until))]
    DoNotCall {
        number: PhoneNumber,
        reason: Option<String>,
        until: Option<Timestamp>,
    },
    #[error(
        "{number} already has {count} calls within {per} (delivery.max_calls_per_recipient): try again later"
    )]
    CapReached {
        number: PhoneNumber,
        count: u32,
        per: String,
    },
    #[error(
        "the same content went to {number} within {window} as message {existing} (delivery.dedupe_window); pass --allow-duplicate to send it again"
    )]
    Duplicate {
        number: PhoneNumber,
        window: String,
        existing: MessageId,
    },
}

fn reason_text(r: &Option<String>) -> String {
    r.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
}

fn until_text(u: &Option<Timestamp>) -> String {
    u.map(|u| format!(" (until {u})")).unwrap_or_default()
}

/// Duration as people write it in the configuration (`24h`, `10m`).
pub fn human(d: std::time::Duration) -> String {
    crate::duration::Duration::from(d).to_string()
}

/// A 63-bit hash of a message's content, what dedupe compares.
pub fn content_hash(content: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(b) >> 1) as i64
}

/// The refusal of a new call to `number` given the recorded calls `(at, content hash,
/// message)` since the horizon, or None.
pub fn judge(
    number: &PhoneNumber,
    hash: i64,
    calls: &[(Timestamp, i64, MessageId)],
    now: Timestamp,
    screen: &Screen,
) -> Option<Screened> {
    let within = |d: std::time::Duration| {
        let since = crate::duration::before(now, d);
        calls.iter().filter(move |c| c.0 > since)
    };
    if let Some(w) = screen.limits.dedupe_window
        && !screen.allow_duplicate
        && let Some(c) = within(w).find(|c| c.1 == hash)
    {
        return Some(Screened::Duplicate {
            number: number.clone(),
            window: human(w),
            existing: c.2,
        });
    }
    if let Some(cap) = screen.limits.cap
        && within(cap.per).count() >= cap.count as usize
    {
        return Some(Screened::CapReached {
            number: number.clone(),
            count: cap.count,
            per: human(cap.per),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n() -> PhoneNumber {
        PhoneNumber::from_e164("+420777123456").unwrap()
    }

    #[test]
    fn dedupe_and_cap_count_only_calls_within_their_windows() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let s = Screen {
            dnc: true,
            limits: RecipientLimits {
                cap: Some(Cap {
                    count: 2,
                    per: std::time::Duration::from_secs(3600),
                }),
                dedupe_window: Some(std::time::Duration::from_secs(600)),
            },
            allow_duplicate: false,
        };
        let id = MessageId::new();
        let old = now - jiff::SignedDuration::from_secs(700);
        let recent = now - jiff::SignedDuration::from_secs(60);
        // Same content 11 minutes ago: outside the dedupe window, inside the cap's.
        assert_eq!(judge(&n(), 1, &[(old, 1, id)], now, &s), None);
        let dup = judge(&n(), 1, &[(recent, 1, id)], now, &s).unwrap();
        assert!(matches!(dup, Screened::Duplicate { .. }), "{dup}");
        assert!(dup.to_string().contains("--allow-duplicate"), "{dup}");
        let allowed = Screen {
            allow_duplicate: true,
            ..s
        };
        assert_eq!(judge(&n(), 1, &[(recent, 1, id)], now, &allowed), None);
        let capped = judge(&n(), 3, &[(old, 1, id), (recent, 2, id)], now, &s).unwrap();
        assert!(
            matches!(capped, Screened::CapReached { count: 2, .. }),
            "{capped}"
        );
        let two_hours = now - jiff::SignedDuration::from_secs(7200);
        assert_eq!(
            judge(&n(), 3, &[(two_hours, 1, id), (recent, 2, id)], now, &s),
            None
        );
    }

    #[test]
    fn refusal_names_number_reason_and_end() {
        let e = DncEntry {
            number: n(),
            reason: Some("asked us".into()),
            until: Some("2027-01-01T00:00:00Z".parse().unwrap()),
            added_at: Timestamp::UNIX_EPOCH,
        };
        let r = e.refusal();
        assert!(
            r.contains("+420777123456") && r.contains("asked us") && r.contains("2027"),
            "{r}"
        );
        assert!(e.applies("2026-06-01T00:00:00Z".parse().unwrap()));
        assert!(!e.applies("2027-06-01T00:00:00Z".parse().unwrap()));
    }
}
