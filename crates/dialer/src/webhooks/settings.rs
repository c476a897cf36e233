//! The `[webhooks]` table of the configuration.
//!
//! ```toml
//! [webhooks]
//! timeout = "10s"      # a post not answered by then is retried
//! max_age = "3d"       # a delivery still failing this long after it was queued: failed
//! retry_base = "5s"    # first retry delay; doubles with every attempt ...
//! retry_max = "1h"     # ... up to this, each one shortened by a random 0..50 %
//! concurrency = 16     # posts in flight per endpoint
//! interval = "1s"      # delivery loop: poll when nothing is due and nothing woke it
//! lease = "15s"        # a claimed delivery is held this long, renewed while it is posted
//! ```

use std::time::Duration;

use serde::Deserialize;

use dialout_model::config_error::ConfigError;

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub timeout: Duration,
    pub max_age: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub concurrency: usize,
    pub interval: Duration,
    /// How long a claim on a delivery lasts unless renewed (a third of it before it ends,
    /// while the post runs): after a worker dies, its deliveries are free this long later.
    pub lease: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(3 * 24 * 3600),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            concurrency: 16,
            interval: Duration::from_secs(1),
            lease: Duration::from_secs(15),
        }
    }
}

/// `[webhooks]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub timeout: Option<dialout_model::duration::Duration>,
    pub max_age: Option<dialout_model::duration::Duration>,
    pub retry_base: Option<dialout_model::duration::Duration>,
    pub retry_max: Option<dialout_model::duration::Duration>,
    pub concurrency: Option<i64>,
    pub interval: Option<dialout_model::duration::Duration>,
    pub lease: Option<dialout_model::duration::Duration>,
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
            .map(dialout_model::duration::Duration::as_std)
            .map_err(|e| ConfigError::Invalid {
                key: format!("webhooks.{key}"),
                reason: e.to_string(),
            }),
    }
}

impl WebhookSettings {
    pub fn new(raw: &WebhookConfig) -> Result<Self, ConfigError> {
        let d = WebhookSettings::default();
        let concurrency = match raw.concurrency {
            None => d.concurrency,
            Some(n) if (1..=1024).contains(&n) => n as usize,
            Some(n) => {
                return Err(ConfigError::Invalid {
                    key: "webhooks.concurrency".into(),
                    reason: format!("{n}: must be 1 to 1024"),
                });
            }
        };
        Ok(WebhookSettings {
            timeout: duration("timeout", raw.timeout, d.timeout)?,
            max_age: duration("max_age", raw.max_age, d.max_age)?,
            retry_base: duration("retry_base", raw.retry_base, d.retry_base)?,
            retry_max: duration("retry_max", raw.retry_max, d.retry_max)?,
            concurrency,
            interval: duration("interval", raw.interval, d.interval)?,
            lease: duration("lease", raw.lease, d.lease)?,
        })
    }

    /// How often a holder renews its claims: three times per lease, so that one late or
    /// failed renewal does not lose them.
    pub fn renew_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(10))
    }

    /// The delay before retry number `attempts` (1 = the first retry): exponential, capped,
    /// with jitter so that many failed deliveries do not all come back at once.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = self.retry_base.saturating_mul(
            1u32.checked_shl(attempts.saturating_sub(1).min(30))
                .unwrap_or(u32::MAX),
        );
        let capped = exp.min(self.retry_max);
        capped.mul_f64(1.0 - rand::random::<f64>() * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let s = WebhookSettings::default();
        for (n, full) in [(1, 5), (2, 10), (3, 20), (20, 3600)] {
            let d = s.backoff(n).as_secs_f64();
            assert!(d <= full as f64 && d >= full as f64 * 0.5, "{n}: {d}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let raw = WebhookConfig {
            concurrency: Some(0),
            ..Default::default()
        };
        let e = WebhookSettings::new(&raw).unwrap_err();
        assert!(e.to_string().contains("webhooks.concurrency"), "{e}");
    }
}
