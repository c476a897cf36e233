//! The fake's clock: virtual Unix time in milliseconds.
//!
//! Step mode: time stands still until the spooler jumps it to the next event.
//! Background mode: fake time runs `speed` times faster than the wall clock, starting from a
//! chosen instant (by default the real now, so files stamped by a real process compare sensibly).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Fake Unix time in milliseconds.
pub type FakeMillis = i64;

#[derive(Clone, Debug)]
pub(crate) enum Clock {
    Step {
        now: FakeMillis,
    },
    Scaled {
        origin_real: Instant,
        origin_fake: FakeMillis,
        speed: f64,
    },
}

impl Clock {
    pub(crate) fn step(start: FakeMillis) -> Clock {
        Clock::Step { now: start }
    }

    pub(crate) fn scaled(start: FakeMillis, speed: f64) -> Clock {
        Clock::Scaled {
            origin_real: Instant::now(),
            origin_fake: start,
            speed,
        }
    }

    pub(crate) fn now(&self) -> FakeMillis {
        match self {
            Clock::Step { now } => *now,
            Clock::Scaled {
                origin_real,
                origin_fake,
                speed,
            } => origin_fake + (origin_real.elapsed().as_secs_f64() * 1000.0 * speed) as i64,
        }
    }

    /// Step mode only: move forward (never back).
    pub(crate) fn jump_to(&mut self, t: FakeMillis) {
        if let Clock::Step { now } = self
            && t > *now
        {
            *now = t;
        }
    }

    /// Real time until the fake clock shows `t` (zero in step mode or when already past).
    pub(crate) fn real_until(&self, t: FakeMillis) -> Duration {
        match self {
            Clock::Step { .. } => Duration::ZERO,
            Clock::Scaled { speed, .. } => {
                let ahead = t - self.now();
                if ahead <= 0 {
                    Duration::ZERO
                } else {
                    Duration::from_secs_f64(ahead as f64 / 1000.0 / speed)
                }
            }
        }
    }

    /// A real duration expressed in fake milliseconds.
    pub(crate) fn fake_span(&self, real: Duration) -> FakeMillis {
        match self {
            Clock::Step { .. } => real.as_millis() as i64,
            Clock::Scaled { speed, .. } => (real.as_secs_f64() * 1000.0 * speed) as i64,
        }
    }
}

/// The wall clock as Unix milliseconds.
pub fn real_unix_millis() -> FakeMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whole seconds of a fake instant (what `time(NULL)` would say).
pub fn secs(t: FakeMillis) -> i64 {
    t.div_euclid(1000)
}
