//! Per-backend pacing that holds across every process sharing the database: a due claim for
//! a backend with limits counts and takes in the same transaction as the claim.
//!
//! - `max_in_flight`: this backend's messages sent and not final, plus those claimed under a
//!   live lease and not sent, are at most the limit after every claim. A claimed message
//!   either becomes sent in the transaction that releases its claim (a finish) or goes back
//!   unsent, so the sum never grows but through a paced claim.
//! - `calls_per_second`: a token bucket per backend (`backend_pacing`: tokens, refilled_at),
//!   refilled at the rate up to a burst of one second's worth (at least one call; the same
//!   burst the per-process pacer allows). A claim takes a token per message it claims, so
//!   all claimers together start at most `rate × time + burst` calls.
//!
//! Both are decided under one lock per backend (PostgreSQL: a transaction-scoped advisory
//! lock; SQLite: its single writer), so two claimers never spend the same room. A claim
//! without limits takes no lock and makes no extra query.

use jiff::Timestamp;

/// The limits of one backend, all claimers together (the store's due claim).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pace {
    /// Messages sent and not final plus those claimed and not sent, at most.
    pub max_in_flight: Option<usize>,
    /// Messages claimed per second, on average.
    pub calls_per_second: Option<f64>,
}

/// A backend's stored token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub refilled_at: Timestamp,
}

impl Pace {
    /// No limits: the claim as it always was.
    pub const NONE: Pace = Pace {
        max_in_flight: None,
        calls_per_second: None,
    };

    pub fn is_none(&self) -> bool {
        self.max_in_flight.is_none() && self.rate().is_none()
    }

    fn rate(&self) -> Option<f64> {
        self.calls_per_second.filter(|r| r.is_finite() && *r > 0.0)
    }

    /// The bucket's size: one second's worth, at least one call.
    pub fn burst(&self) -> f64 {
        self.rate().map_or(0.0, |r| r.floor().max(1.0))
    }

    /// The bucket as it stands at `now`: full when never used, refilled since, never
    /// beyond the burst. A clock behind the stored one refills nothing (several machines'
    /// clocks may disagree a little; the bucket never gives more for it).
    pub fn refill(&self, stored: Option<Bucket>, now: Timestamp) -> Option<Bucket> {
        let rate = self.rate()?;
        let Some(b) = stored else {
            return Some(Bucket {
                tokens: self.burst(),
                refilled_at: now,
            });
        };
        let elapsed = now.duration_since(b.refilled_at).as_secs_f64().max(0.0);
        Some(Bucket {
            tokens: (b.tokens + elapsed * rate).min(self.burst()),
            refilled_at: b.refilled_at.max(now),
        })
    }

    /// How many messages a claim of at most `limit` may take, given `busy` (in flight plus
    /// claimed, when `max_in_flight` is set) and the refilled bucket.
    pub fn room(&self, limit: usize, busy: usize, bucket: Option<&Bucket>) -> usize {
        let mut room = limit;
        if let Some(max) = self.max_in_flight {
            room = room.min(max.saturating_sub(busy));
        }
        if let Some(b) = bucket {
            room = room.min(b.tokens.max(0.0).floor() as usize);
        }
        room
    }
}

impl Bucket {
    /// After `n` messages were claimed.
    pub fn spend(self, n: usize) -> Bucket {
        Bucket {
            tokens: self.tokens - n as f64,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn the_bucket_refills_at_the_rate_up_to_one_second() {
        let p = Pace {
            max_in_flight: None,
            calls_per_second: Some(20.0),
        };
        let full = p.refill(None, at(0)).unwrap();
        assert_eq!(full.tokens, 20.0);
        assert_eq!(p.room(100, 0, Some(&full)), 20);
        let empty = full.spend(20);
        assert_eq!(p.room(100, 0, p.refill(Some(empty), at(0)).as_ref()), 0);
        let later = p.refill(Some(empty), at(250)).unwrap();
        assert_eq!(p.room(100, 0, Some(&later)), 5);
        assert_eq!(p.refill(Some(empty), at(60_000)).unwrap().tokens, 20.0);
        // A clock behind the stored one: nothing more, and the stored time stays.
        let behind = p.refill(Some(later), at(100)).unwrap();
        assert_eq!((behind.tokens, behind.refilled_at), (later.tokens, at(250)));

        let slow = Pace {
            calls_per_second: Some(0.5),
            ..Pace::NONE
        };
        assert_eq!(slow.burst(), 1.0);
        let one = slow.refill(None, at(0)).unwrap().spend(1);
        assert_eq!(
            slow.room(9, 0, slow.refill(Some(one), at(1900)).as_ref()),
            0
        );
        assert_eq!(
            slow.room(9, 0, slow.refill(Some(one), at(2000)).as_ref()),
            1
        );
    }

    #[test]
    fn in_flight_leaves_the_rest_of_the_limit() {
        let p = Pace {
            max_in_flight: Some(5),
            calls_per_second: None,
        };
        assert!(!p.is_none() && Pace::NONE.is_none());
        assert_eq!(p.room(100, 3, None), 2);
        assert_eq!(p.room(1, 3, None), 1);
        assert_eq!(p.room(100, 7, None), 0);
        assert_eq!(p.refill(None, at(0)), None);
    }
}
