//! The delivery's clock: the system's, or one a test sets (calling hours, give-up times and
//! retries are decided by it, so tests run at a chosen instant rather than waiting for one).

use std::sync::{Arc, Mutex};

use jiff::Timestamp;

#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Mutex<Timestamp>>>);

impl Clock {
    /// A clock standing at `at` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(at: Timestamp) -> Clock {
        Clock(Some(Arc::new(Mutex::new(at))))
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            None => Timestamp::now(),
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a manual clock to `at` (the system clock is left alone).
    pub fn set(&self, at: Timestamp) {
        if let Some(t) = &self.0 {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = at;
        }
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        self.set(self.now().checked_add(by).unwrap_or(Timestamp::MAX));
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock(system)"),
            Some(_) => write!(f, "Clock(manual at {})", self.now()),
        }
    }
}

/// Settings compare equal whatever clock they run on.
impl PartialEq for Clock {
    fn eq(&self, _: &Clock) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let at: Timestamp = "2026-03-08T06:00:00Z".parse().unwrap();
        let c = Clock::manual(at);
        let shared = c.clone();
        assert_eq!(c.now(), at);
        shared.advance(jiff::SignedDuration::from_secs(60));
        assert_eq!(c.now().to_string(), "2026-03-08T06:01:00Z");
        let system = Clock::default();
        system.set(at);
        assert!(system.now() > at);
    }
}
