//! The `[delivery]` table of the configuration, typed, with pymess's defaults.
//!
//! ```toml
//! [delivery]
//! batch_size = 20             # messages a worker claims at a time
//! max_attempts = 3            # publishes per message at most (3 means 3, not 4)
//! retry_base = "30s"          # first retry delay; doubles with every attempt ...
//! retry_max = "15m"           # ... up to this
//! retry_jitter = 0.2          # each delay is shortened by a random 0..20 %
//! give_up_after = "1h"        # never accepted this long after it was due: ERROR
//! lease = "60s"               # how long a claim lasts unless renewed (a dead owner's expire)
//! interval = "1s"             # worker: pause when nothing is due
//! status_interval = "60s"     # worker: how often it runs the status check
//! status_window = "24h"       # status checks cover messages sent this recently
//! max_check_failures = 5      # failed checks of one message before it is made final
//! allowlist = ["+420777123456"]   # test environments: only these numbers are called
//! [delivery.calling_hours]    # local time of the recipient (see crate::hours)
//! mon-fri = "09:00-20:00"
//! [delivery.routes]           # number prefix -> backend, longest prefix wins
//! "+420" = "asterisk"
//! "+1" = "daktela"
//! ```
//!
//! Limits per recipient (see `crate::dnc`): `max_calls_per_recipient = { count = 3, per =
//! "24h" }` and `dedupe_window = "10m"`.
//!
//! Durations are [`dialout_model::duration::Duration`]s: `"90s"`, `"15m"`, `"1h 30m"`, `"1 day"`, ISO 8601
//! (`"PT1H"`) or a number of seconds; each must be longer than zero.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use std::sync::Arc;

use super::Clock;
use dialout_model::config_error::ConfigError;
use dialout_model::hours::CallingHours;
use dialout_model::hours::hours_key;
use dialout_model::phone::PhoneNumber;

#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// `send` only stores; the worker publishes. Set from the top-level `batch_sending`.
    pub queued: bool,
    pub batch_size: usize,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub retry_jitter: f64,
    pub give_up_after: Duration,
    pub lease: Duration,
    pub interval: Duration,
    pub status_interval: Duration,
    pub status_window: Duration,
    pub max_check_failures: u32,
    /// None: every number may be called.
    pub allowlist: Option<Vec<PhoneNumber>>,
    /// Number prefix (`+420`) -> backend name.
    pub routes: BTreeMap<String, String>,
    /// `max_calls_per_recipient` and `dedupe_window` (see `crate::dnc`).
    pub limits: dialout_model::dnc::RecipientLimits,
    /// `[delivery.calling_hours]`; None: any time.
    pub calling_hours: Option<Arc<CallingHours>>,
    /// `[backends.NAME.calling_hours]`: instead of the global hours for that backend.
    pub backend_calling_hours: BTreeMap<String, Arc<CallingHours>>,
    /// What "now" is for publishing (a test sets it).
    pub clock: Clock,
}

impl DeliverySettings {
    /// The calling hours of messages through `backend`: its own, else the global ones.
    pub fn calling_hours_for(&self, backend: &str) -> Option<&CallingHours> {
        self.backend_calling_hours
            .get(backend)
            .or(self.calling_hours.as_ref())
            .map(Arc::as_ref)
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            queued: false,
            batch_size: 20,
            max_attempts: 3,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(15 * 60),
            retry_jitter: 0.2,
            give_up_after: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            interval: Duration::from_secs(1),
            status_interval: Duration::from_secs(60),
            status_window: Duration::from_secs(24 * 3600),
            max_check_failures: 5,
            allowlist: None,
            routes: BTreeMap::new(),
            limits: dialout_model::dnc::RecipientLimits::default(),
            calling_hours: None,
            backend_calling_hours: BTreeMap::new(),
            clock: Clock::default(),
        }
    }
}

/// `[delivery]` as written: every key typed, none checked yet ([`DeliverySettings::new`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    pub batch_size: Option<i64>,
    pub max_attempts: Option<i64>,
    pub retry_base: Option<dialout_model::duration::Duration>,
    pub retry_max: Option<dialout_model::duration::Duration>,
    pub retry_jitter: Option<f64>,
    pub give_up_after: Option<dialout_model::duration::Duration>,
    pub lease: Option<dialout_model::duration::Duration>,
    pub interval: Option<dialout_model::duration::Duration>,
    pub status_interval: Option<dialout_model::duration::Duration>,
    pub status_window: Option<dialout_model::duration::Duration>,
    pub max_check_failures: Option<i64>,
    pub allowlist: Option<Vec<String>>,
    pub routes: Option<BTreeMap<String, String>>,
    pub max_calls_per_recipient: Option<dialout_model::dnc::CapConfig>,
    pub dedupe_window: Option<dialout_model::duration::Duration>,
    pub calling_hours: Option<toml::Table>,
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: format!("delivery.{key}"),
        reason: reason.into(),
    }
}

fn duration(
    key: &str,
    raw: Option<dialout_model::duration::Duration>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match raw {
        None => Ok(default),
        Some(d) => d
            .positive()
            .map(Duration::from)
            .map_err(|e| invalid(key, e.to_string())),
    }
}

fn count(key: &str, raw: Option<i64>, default: i64, min: i64) -> Result<i64, ConfigError> {
    match raw {
        None => Ok(default),
        Some(n) if n >= min => Ok(n),
        Some(n) => Err(invalid(key, format!("{n}: must be at least {min}"))),
    }
}

impl DeliverySettings {
    /// Types the raw `[delivery]` table. `default_region` reads national numbers in the
    /// allowlist the way `send` reads recipients.
    pub fn from_table(
        table: &toml::Table,
        default_region: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let raw: DeliveryConfig =
            dialout_model::config_error::typed(toml::Value::Table(table.clone()))
                .map_err(|(key, reason)| invalid(&key, reason))?;
        Self::new(&raw, default_region)
    }

    /// Checks the typed `[delivery]` keys and fills in pymess's defaults. `default_region`
    /// reads national numbers in the allowlist the way `send` reads recipients.
    pub fn new(raw: &DeliveryConfig, default_region: Option<&str>) -> Result<Self, ConfigError> {
        let d = DeliverySettings::default();
        let jitter = raw.retry_jitter.unwrap_or(d.retry_jitter);
        if !(0.0..=1.0).contains(&jitter) {
            return Err(invalid(
                "retry_jitter",
                format!("{jitter}: must be between 0 and 1"),
            ));
        }
        let allowlist = match &raw.allowlist {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|n| {
                        PhoneNumber::parse(n, default_region)
                            .map_err(|e| invalid("allowlist", e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let routes = raw.routes.clone().unwrap_or_default();
        for prefix in routes.keys() {
            let ok = prefix.starts_with('+') && prefix[1..].bytes().all(|b| b.is_ascii_digit());
            if !ok {
                return Err(invalid(
                    &format!("routes.{prefix:?}"),
                    "a route is a number prefix in E.164 form: `+` and digits, such as \"+420\"",
                ));
            }
        }
        let s = DeliverySettings {
            queued: d.queued,
            batch_size: count("batch_size", raw.batch_size, d.batch_size as i64, 1)? as usize,
            max_attempts: count("max_attempts", raw.max_attempts, d.max_attempts.into(), 1)? as u32,
            retry_base: duration("retry_base", raw.retry_base, d.retry_base)?,
            retry_max: duration("retry_max", raw.retry_max, d.retry_max)?,
            retry_jitter: jitter,
            give_up_after: duration("give_up_after", raw.give_up_after, d.give_up_after)?,
            lease: duration("lease", raw.lease, d.lease)?,
            interval: duration("interval", raw.interval, d.interval)?,
            status_interval: duration("status_interval", raw.status_interval, d.status_interval)?,
            status_window: duration("status_window", raw.status_window, d.status_window)?,
            max_check_failures: count(
                "max_check_failures",
                raw.max_check_failures,
                d.max_check_failures.into(),
                1,
            )? as u32,
            allowlist,
            routes,
            limits: dialout_model::dnc::limits(
                raw.max_calls_per_recipient.as_ref(),
                raw.dedupe_window,
            )?,
            calling_hours: match &raw.calling_hours {
                None => None,
                Some(t) => Some(Arc::new(
                    CallingHours::from_table(t, None)
                        .map_err(|(key, reason)| invalid(&hours_key(&key), reason))?,
                )),
            },
            backend_calling_hours: BTreeMap::new(),
            clock: Clock::default(),
        };
        if s.retry_max < s.retry_base {
            return Err(invalid("retry_max", "must not be shorter than retry_base"));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DeliverySettings, ConfigError> {
        DeliverySettings::from_table(&toml::from_str(text).unwrap(), Some("CZ"))
    }

    #[test]
    fn empty_table_gives_pymess_defaults() {
        let s = parse("").unwrap();
        assert_eq!(s, DeliverySettings::default());
        assert_eq!(
            (s.batch_size, s.max_attempts, s.max_check_failures),
            (20, 3, 5)
        );
        assert_eq!(s.give_up_after, Duration::from_secs(3600));
        assert_eq!(s.status_window, Duration::from_secs(86_400));
    }

    #[test]
    fn durations_in_words_iso_or_seconds() {
        let s = parse("retry_base = \"1m 30s\"\nlease = 5\nstatus_window = \"PT2H\"").unwrap();
        assert_eq!(s.retry_base, Duration::from_secs(90));
        assert_eq!(s.lease, Duration::from_secs(5));
        assert_eq!(s.status_window, Duration::from_secs(7200));
        let s = parse("status_window = \"2 days\"\ngive_up_after = \"P1D\"").unwrap();
        assert_eq!(s.status_window, Duration::from_secs(2 * 86_400));
        assert_eq!(s.give_up_after, Duration::from_secs(86_400));
    }

    #[test]
    fn allowlist_and_routes_are_validated() {
        let s = parse("allowlist = [\"777 123 456\"]\n[routes]\n\"+420\" = \"a\"").unwrap();
        assert_eq!(s.allowlist.unwrap()[0].as_str(), "+420777123456");
        assert_eq!(s.routes["+420"], "a");
        let e = parse("allowlist = [\"12\"]").unwrap_err().to_string();
        assert!(e.contains("delivery.allowlist"), "{e}");
        let e = parse("[routes]\n\"420\" = \"a\"").unwrap_err().to_string();
        assert!(e.contains("delivery.routes"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("batch_size = 0", "delivery.batch_size"),
            ("max_attempts = -1", "delivery.max_attempts"),
            ("lease = \"soon\"", "delivery.lease"),
            ("lease = \"-5s\"", "delivery.lease"),
            ("lease = \"0s\"", "delivery.lease"),
            ("lease = true", "delivery.lease"),
            ("batch_size = \"x\"", "delivery.batch_size"),
            ("retry_jitter = 2.0", "delivery.retry_jitter"),
            (
                "retry_base = \"1h\"\nretry_max = \"1m\"",
                "delivery.retry_max",
            ),
            ("bogus = 1", "delivery.bogus"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }
}

#[cfg(test)]
mod limits_tests {
    use super::DeliverySettings;

    fn parse(text: &str) -> Result<DeliverySettings, dialout_model::config_error::ConfigError> {
        DeliverySettings::from_table(&toml::from_str(text).unwrap(), None)
    }

    #[test]
    fn limits_are_read_and_checked() {
        let s = parse(
            "max_calls_per_recipient = { count = 3, per = \"24h\" }\ndedupe_window = \"10m\"",
        )
        .unwrap();
        let cap = s.limits.cap.unwrap();
        assert_eq!((cap.count, cap.per.as_secs()), (3, 86_400));
        assert_eq!(s.limits.dedupe_window.unwrap().as_secs(), 600);
        assert!(!parse("").unwrap().limits.any(), "no limits by default");
        for (text, key) in [
            (
                "max_calls_per_recipient = { count = 0, per = \"1h\" }",
                "max_calls_per_recipient.count",
            ),
            (
                "max_calls_per_recipient = { count = 3, per = \"0s\" }",
                "max_calls_per_recipient.per",
            ),
            (
                "max_calls_per_recipient = { count = 3 }",
                "max_calls_per_recipient",
            ),
            (
                "max_calls_per_recipient = { count = 3, per = \"1h\", x = 1 }",
                "max_calls_per_recipient",
            ),
            ("dedupe_window = \"0s\"", "dedupe_window"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(&format!("delivery.{key}")), "{text}: {e}");
        }
    }
}
