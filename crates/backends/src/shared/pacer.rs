//! The per-process pacer of backends that place calls themselves (`calls_per_second`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// `calls_per_second` as a sliding window: at most `limit` spools in any `window`.
pub struct Pacer {
    window: Duration,
    limit: usize,
    recent: VecDeque<Instant>,
}

impl Pacer {
    pub fn new(calls_per_second: f64) -> Self {
        let window = Duration::from_secs_f64((1.0 / calls_per_second).max(1.0));
        let limit = ((calls_per_second * window.as_secs_f64()).floor() as usize).max(1);
        Pacer {
            window,
            limit,
            recent: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.recent.pop_front();
        }
    }

    pub fn available(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.limit.saturating_sub(self.recent.len())
    }

    /// Takes one slot, or says when the next one frees up.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.expire(now);
        if self.recent.len() < self.limit {
            self.recent.push_back(now);
            Ok(())
        } else {
            let oldest = self.recent.front().copied().unwrap_or(now);
            Err(self.window.saturating_sub(now.duration_since(oldest)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_allows_calls_per_second_in_any_window() {
        let t0 = Instant::now();
        let mut p = Pacer::new(3.0);
        assert_eq!(p.available(t0), 3);
        for _ in 0..3 {
            p.take(t0).unwrap();
        }
        assert!(p.take(t0 + Duration::from_millis(500)).is_err());
        assert_eq!(p.available(t0 + Duration::from_millis(1000)), 3);
        let mut slow = Pacer::new(0.5);
        slow.take(t0).unwrap();
        assert_eq!(
            slow.take(t0 + Duration::from_millis(1500)),
            Err(Duration::from_millis(500))
        );
        assert!(slow.take(t0 + Duration::from_secs(2)).is_ok());
    }
}
