//! Retries: exponential backoff with jitter, and the attempt limit.
//!
//! "At most N attempts" means N publishes: attempt n (1-based) that fails may be followed
//! by attempt n+1 only while n < N.

use std::time::Duration;

use super::DeliverySettings;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// 0..=1: each delay is shortened by up to this fraction, so that messages that failed
    /// together do not all come back together.
    pub jitter: f64,
    pub max_attempts: u32,
}

impl Backoff {
    pub fn from_settings(s: &DeliverySettings) -> Self {
        Backoff {
            base: s.retry_base,
            max: s.retry_max,
            jitter: s.retry_jitter,
            max_attempts: s.max_attempts,
        }
    }

    /// The delay before the attempt after `attempts_made` (>= 1), without jitter:
    /// base, 2 base, 4 base, ... capped at `max`.
    pub fn nominal(&self, attempts_made: u32) -> Duration {
        let exp = attempts_made.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }

    /// The delay with jitter; `unit` is a random number in [0, 1).
    pub fn delay_with(&self, attempts_made: u32, unit: f64) -> Duration {
        let nominal = self.nominal(attempts_made);
        nominal.mul_f64(1.0 - self.jitter * unit.clamp(0.0, 1.0))
    }

    pub fn delay(&self, attempts_made: u32) -> Duration {
        self.delay_with(attempts_made, rand::random::<f64>())
    }

    /// Whether another publish is allowed after `attempts_made`.
    pub fn may_retry(&self, attempts_made: u32) -> bool {
        attempts_made < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> Backoff {
        Backoff {
            base: Duration::from_secs(30),
            max: Duration::from_secs(300),
            jitter: 0.2,
            max_attempts: 3,
        }
    }

    #[test]
    fn doubles_and_caps() {
        let b = b();
        let got: Vec<u64> = (1..=6).map(|n| b.nominal(n).as_secs()).collect();
        assert_eq!(got, vec![30, 60, 120, 240, 300, 300]);
        assert_eq!(b.nominal(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn jitter_only_shortens_within_bounds() {
        let b = b();
        assert_eq!(b.delay_with(2, 0.0), Duration::from_secs(60));
        assert_eq!(b.delay_with(2, 1.0), Duration::from_secs(48));
        for _ in 0..1000 {
            let d = b.delay(2);
            assert!(
                d > Duration::from_secs(48) && d <= Duration::from_secs(60),
                "{d:?}"
            );
        }
    }

    #[test]
    fn three_attempts_means_three_publishes() {
        let b = b();
        assert!(b.may_retry(1));
        assert!(b.may_retry(2));
        assert!(!b.may_retry(3));
    }
}
