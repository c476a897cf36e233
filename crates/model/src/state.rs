//! Message states, with pymess's numeric codes so migrated reports keep their meaning.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Waiting,
    NotAssigned,
    Ready,
    RescheduledByDialer,
    CallInProgress,
    Hangup,
    Done,
    Rescheduled,
    AnsweredComplete,
    AnsweredPartial,
    Unreachable,
    Declined,
    Unanswered,
    ErrorUpdate,
    Debug,
    Error,
    ErrorRetry,
}

impl State {
    pub const ALL: [State; 17] = [
        State::Waiting,
        State::NotAssigned,
        State::Ready,
        State::RescheduledByDialer,
        State::CallInProgress,
        State::Hangup,
        State::Done,
        State::Rescheduled,
        State::AnsweredComplete,
        State::AnsweredPartial,
        State::Unreachable,
        State::Declined,
        State::Unanswered,
        State::ErrorUpdate,
        State::Debug,
        State::Error,
        State::ErrorRetry,
    ];

    /// pymess's numeric code.
    pub const fn code(self) -> i16 {
        match self {
            State::Waiting => -1,
            State::NotAssigned => 0,
            State::Ready => 1,
            State::RescheduledByDialer => 2,
            State::CallInProgress => 3,
            State::Hangup => 4,
            State::Done => 5,
            State::Rescheduled => 6,
            State::AnsweredComplete => 7,
            State::AnsweredPartial => 8,
            State::Unreachable => 9,
            State::Declined => 10,
            State::Unanswered => 11,
            State::ErrorUpdate => 66,
            State::Debug => 77,
            State::Error => 88,
            State::ErrorRetry => 99,
        }
    }

    pub fn from_code(code: i64) -> Option<State> {
        State::ALL.into_iter().find(|s| i64::from(s.code()) == code)
    }

    /// The name as users write it: `ANSWERED_COMPLETE`.
    pub const fn name(self) -> &'static str {
        match self {
            State::Waiting => "WAITING",
            State::NotAssigned => "NOT_ASSIGNED",
            State::Ready => "READY",
            State::RescheduledByDialer => "RESCHEDULED_BY_DIALER",
            State::CallInProgress => "CALL_IN_PROGRESS",
            State::Hangup => "HANGUP",
            State::Done => "DONE",
            State::Rescheduled => "RESCHEDULED",
            State::AnsweredComplete => "ANSWERED_COMPLETE",
            State::AnsweredPartial => "ANSWERED_PARTIAL",
            State::Unreachable => "UNREACHABLE",
            State::Declined => "DECLINED",
            State::Unanswered => "UNANSWERED",
            State::ErrorUpdate => "ERROR_UPDATE",
            State::Debug => "DEBUG",
            State::Error => "ERROR",
            State::ErrorRetry => "ERROR_RETRY",
        }
    }

    /// Accepts the name in any case, or the numeric code (`"7"`, `"-1"`).
    pub fn parse(text: &str) -> Option<State> {
        let t = text.trim();
        if let Ok(code) = t.parse::<i64>() {
            return State::from_code(code);
        }
        State::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(t))
    }

    /// pymess's `failed`: the message ended, or is about to end, in an error.
    pub const fn is_failed(self) -> bool {
        matches!(self, State::Error | State::ErrorRetry)
    }

    /// Waiting to be handed to a backend (first time or again).
    pub const fn is_unpublished(self) -> bool {
        matches!(self, State::Waiting | State::ErrorRetry)
    }

    /// States that end a message whatever the backend. Others (DONE for Daktela, say) are
    /// made final by the backend, which is why `is_final_state` is stored on the message.
    pub const fn is_final_by_default(self) -> bool {
        matches!(
            self,
            State::AnsweredComplete
                | State::AnsweredPartial
                | State::Unreachable
                | State::Declined
                | State::Unanswered
                | State::Debug
                | State::Error
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown state {0:?}: expected a name such as READY or ANSWERED_COMPLETE, or its numeric code"
)]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::parse(s).ok_or_else(|| UnknownState(s.to_string()))
    }
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Accepts a name or pymess's integer code, so migrated settings keep working.
impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Code(i64),
            Name(String),
        }
        match Raw::deserialize(d)? {
            Raw::Code(c) => State::from_code(c)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown state code {c}"))),
            Raw::Name(n) => n.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_pymess() {
        let expected = [
            ("WAITING", -1),
            ("NOT_ASSIGNED", 0),
            ("READY", 1),
            ("RESCHEDULED_BY_DIALER", 2),
            ("CALL_IN_PROGRESS", 3),
            ("HANGUP", 4),
            ("DONE", 5),
            ("RESCHEDULED", 6),
            ("ANSWERED_COMPLETE", 7),
            ("ANSWERED_PARTIAL", 8),
            ("UNREACHABLE", 9),
            ("DECLINED", 10),
            ("UNANSWERED", 11),
            ("ERROR_UPDATE", 66),
            ("DEBUG", 77),
            ("ERROR", 88),
            ("ERROR_RETRY", 99),
        ];
        assert_eq!(expected.len(), State::ALL.len());
        for (name, code) in expected {
            let s: State = name.parse().unwrap();
            assert_eq!(s.code(), code, "{name}");
            assert_eq!(State::from_code(code.into()), Some(s));
            assert_eq!(s.to_string(), name);
        }
    }

    #[test]
    fn parse_accepts_lowercase_and_codes_and_rejects_junk() {
        assert_eq!(
            State::parse("answered_complete"),
            Some(State::AnsweredComplete)
        );
        assert_eq!(State::parse("99"), Some(State::ErrorRetry));
        assert_eq!(State::parse("12"), None);
        assert!("SENT".parse::<State>().is_err());
    }

    #[test]
    fn failed_is_error_and_error_retry_only() {
        let failed: Vec<_> = State::ALL.into_iter().filter(|s| s.is_failed()).collect();
        assert_eq!(failed, vec![State::Error, State::ErrorRetry]);
    }

    #[test]
    fn serde_round_trip_and_integer_codes() {
        let json = serde_json::to_string(&State::Declined).unwrap();
        assert_eq!(json, "\"DECLINED\"");
        let back: State = serde_json::from_str("10").unwrap();
        assert_eq!(back, State::Declined);
        assert!(serde_json::from_str::<State>("\"NOPE\"").is_err());
    }
}
