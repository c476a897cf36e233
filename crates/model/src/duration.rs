//! One way to write a length of time, in the configuration and on the command line.
//!
//! Accepted: `500ms`, `90s`, `15m`, `2h`, `1h30m`, `1h 30m`, `1 day`, `2 days`, `2d`, `1w`,
//! ISO 8601 (`PT15M`, `P1D`, `P1DT12H`); in TOML also a bare number of seconds (`lease = 60`,
//! `timeout = 2.5`). Days and weeks are fixed: 24 hours and 7 days (an interval, not a
//! calendar date), so months and years, whose length varies, are refused. Negative lengths
//! are refused everywhere; [`Duration::positive`] also refuses zero.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Span, SpanRelativeTo};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A length of time, zero or more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

/// Why a text is not a [`Duration`]; the message quotes the text and shows the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{0:?} is not a duration such as 90s, 15m, 2h, 1h30m, 1 day, 2d or PT15M")]
    Invalid(String),
    /// The text as written (quoted), or a number of seconds.
    #[error("{0} is negative")]
    Negative(String),
    #[error("{0} must be longer than zero")]
    Zero(String),
}

impl Duration {
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    pub const fn from_millis(millis: u64) -> Self {
        Duration(std::time::Duration::from_millis(millis))
    }

    pub const fn as_std(self) -> std::time::Duration {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// For adding to a `jiff::Timestamp`; saturates (no duration parsed here comes near).
    pub fn as_signed(self) -> SignedDuration {
        SignedDuration::try_from(self.0).unwrap_or(SignedDuration::MAX)
    }

    /// This duration, unless it is zero (an interval, a lease, a timeout).
    pub fn positive(self) -> Result<Self, DurationError> {
        if self.is_zero() {
            Err(DurationError::Zero(self.to_string()))
        } else {
            Ok(self)
        }
    }

    /// Parses and refuses zero: for options where nothing shorter than a moment makes sense.
    pub fn parse_positive(text: &str) -> Result<Self, DurationError> {
        text.parse::<Duration>().and_then(|d| {
            d.positive()
                .map_err(|_| DurationError::Zero(format!("{text:?}")))
        })
    }

    /// Like [`FromStr`], and a bare number is seconds, as in TOML: for options that have
    /// always taken seconds (`--wait-time 45`, `--wait-time 1m`).
    pub fn parse_or_seconds(text: &str) -> Result<Self, DurationError> {
        match text.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() => Self::from_secs_f64(secs, text),
            _ => text.parse(),
        }
    }

    /// Whole seconds, when there is no fraction of one (Asterisk's call-file times).
    pub fn whole_secs(self) -> Option<u64> {
        (self.0.subsec_nanos() == 0).then_some(self.0.as_secs())
    }

    /// `shown`: how the number was written, for the error.
    fn from_secs_f64(secs: f64, shown: &str) -> Result<Self, DurationError> {
        if secs.is_sign_negative() && secs != 0.0 {
            return Err(DurationError::Negative(format!("{shown} seconds")));
        }
        std::time::Duration::try_from_secs_f64(secs)
            .map(Duration)
            .map_err(|_| DurationError::Invalid(shown.to_string()))
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        // jiff's own duration parser knows hours at most; a span also knows days and weeks,
        // which are taken as 24 hours and 7 days.
        let signed = t.parse::<SignedDuration>().or_else(|_| {
            t.parse::<Span>()
                .and_then(|s| s.to_duration(SpanRelativeTo::days_are_24_hours()))
        });
        let signed = signed.map_err(|_| DurationError::Invalid(text.to_string()))?;
        if signed.is_negative() {
            return Err(DurationError::Negative(format!("{text:?}")));
        }
        Ok(Duration(signed.unsigned_abs()))
    }
}

impl fmt::Display for Duration {
    /// The friendly form (`1h 30m`, `500ms`), which [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        write!(f, "{:#}", self.as_signed())
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A string in any accepted form, or a number of seconds.
impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"15m\", \"2h\", \"1 day\" or \"PT15M\", or seconds")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::custom(DurationError::Negative(format!("{v} seconds"))))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Duration::from_secs_f64(v, &v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `d` after `now`, or the latest instant when that is out of range.
pub fn after(now: jiff::Timestamp, d: std::time::Duration) -> jiff::Timestamp {
    let sd = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    now.checked_add(sd).unwrap_or(jiff::Timestamp::MAX)
}

/// `d` before `now`, or the earliest instant when that is out of range.
pub fn before(now: jiff::Timestamp, d: std::time::Duration) -> jiff::Timestamp {
    let sd = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    now.checked_sub(sd).unwrap_or(jiff::Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> f64 {
        text.parse::<Duration>()
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .as_std()
            .as_secs_f64()
    }

    #[test]
    fn every_documented_form() {
        for (text, expected) in [
            ("500ms", 0.5),
            ("90s", 90.0),
            ("15m", 900.0),
            ("2h", 7200.0),
            ("1h30m", 5400.0),
            ("1h 30m", 5400.0),
            ("1 hour 30 minutes", 5400.0),
            ("1 day", 86_400.0),
            ("2 days", 172_800.0),
            ("2d", 172_800.0),
            ("1w", 604_800.0),
            ("P1D", 86_400.0),
            ("PT15M", 900.0),
            ("P1DT12H", 129_600.0),
            (" 15m ", 900.0),
            ("0s", 0.0),
        ] {
            assert_eq!(secs(text), expected, "{text}");
        }
    }

    #[test]
    fn refusals_say_why() {
        for text in [
            "",
            "soon",
            "15",
            "15 parsecs",
            "1 month",
            "P1Y",
            "2030-01-01",
        ] {
            let e = text.parse::<Duration>().unwrap_err();
            assert_eq!(e, DurationError::Invalid(text.into()), "{text}");
            assert!(e.to_string().contains("such as 90s"), "{e}");
        }
        for text in ["-5s", "-1 day", "-PT1M"] {
            let e = text.parse::<Duration>().unwrap_err();
            assert!(matches!(e, DurationError::Negative(_)), "{text}: {e}");
        }
        assert!(matches!(
            Duration::parse_positive("0s"),
            Err(DurationError::Zero(_))
        ));
        assert_eq!(Duration::parse_positive("2s"), Ok(Duration::from_secs(2)));
        assert!(Duration::ZERO.positive().is_err());
    }

    #[test]
    fn displays_in_a_form_it_reads_back() {
        for text in ["500ms", "90s", "1h 30m", "2 days", "0s"] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string().parse::<Duration>(), Ok(d), "{text} -> {d}");
        }
        assert_eq!(Duration::from_secs(5400).to_string(), "1h 30m");
    }

    #[derive(Debug, Deserialize)]
    struct T {
        d: Duration,
    }

    #[test]
    fn toml_takes_text_or_seconds() {
        let d = |text: &str| toml::from_str::<T>(text).map(|t| t.d);
        assert_eq!(d("d = \"2h\"").unwrap(), Duration::from_secs(7200));
        assert_eq!(d("d = 60").unwrap(), Duration::from_secs(60));
        assert_eq!(d("d = 2.5").unwrap(), Duration::from_millis(2500));
        for bad in [
            "d = -5",
            "d = -0.5",
            "d = \"-5s\"",
            "d = \"soon\"",
            "d = true",
        ] {
            let e = d(bad).unwrap_err();
            assert!(!e.message().is_empty(), "{bad}");
        }
        assert!(d("d = -5").unwrap_err().message().contains("negative"));
        assert_eq!(
            serde_json::to_string(&Duration::from_secs(90)).unwrap(),
            "\"1m 30s\""
        );
    }

    #[test]
    fn bare_numbers_only_where_asked() {
        assert_eq!(
            Duration::parse_or_seconds("45"),
            Ok(Duration::from_secs(45))
        );
        assert_eq!(
            Duration::parse_or_seconds("1.5"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            Duration::parse_or_seconds("1m"),
            Ok(Duration::from_secs(60))
        );
        assert!(matches!(
            Duration::parse_or_seconds("-3"),
            Err(DurationError::Negative(_))
        ));
        assert!(Duration::parse_or_seconds("NaN").is_err());
        assert!("45".parse::<Duration>().is_err());
    }

    #[test]
    fn whole_seconds() {
        assert_eq!(Duration::from_secs(45).whole_secs(), Some(45));
        assert_eq!(Duration::from_millis(1500).whole_secs(), None);
    }
}
