//! Telling that Asterisk restarted, and so that every call placed before is over.
//!
//! Two signs: `Event: Shutdown` (a clean restart or stop), and the `Uptime` of the
//! `FullyBooted` event that follows each login (a crash sends no Shutdown). `Uptime` is in
//! whole seconds, so the start is known to within a second: a call counts as cut only when
//! Asterisk certainly started after it was placed, never on a guess.

/// What is known of the Asterisk behind one session (times in epoch ms, dialout's clock).
#[derive(Debug, Default)]
pub(super) struct Restarts {
    /// When Asterisk last said it was shutting down.
    shutdown: Option<i64>,
    /// The earliest moment the running Asterisk can have started.
    started_after: Option<i64>,
}

impl Restarts {
    /// `Event: Shutdown`, or a login refused with "Asterisk is shutting down", at `now`.
    pub fn shut_down(&mut self, now: i64) {
        self.shutdown = Some(now);
    }

    /// `FullyBooted` said `Uptime: uptime_s` at `now`. True when that is a start later than
    /// the one known before (a restart, perhaps a crash, since the last login).
    pub fn booted(&mut self, uptime_s: u64, now: i64) -> bool {
        let uptime_ms = i64::try_from(uptime_s).unwrap_or(i64::MAX / 2) * 1000;
        let after = now - uptime_ms - 1000;
        let before = self.started_after.replace(after);
        // The previous start lies within [before, before + 1 s]; allow another second for
        // the time between the login and reading its FullyBooted.
        before.is_some_and(|b| after > b + 2000)
    }

    /// Whether Asterisk restarted after a call placed at `placed` (None: not known, then
    /// only a Shutdown seen by this process counts).
    pub fn since(&self, placed: Option<i64>) -> bool {
        match placed {
            Some(at) => {
                self.shutdown.is_some_and(|s| s >= at) || self.started_after.is_some_and(|s| s > at)
            }
            None => self.shutdown.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_after_the_call_cuts_it_and_a_long_uptime_does_not() {
        let mut r = Restarts::default();
        assert!(
            !r.booted(3600, 10_000_000),
            "first login: nothing to compare"
        );
        assert!(
            !r.since(Some(9_999_000)),
            "up for an hour: the call may be going on"
        );
        assert!(!r.since(None));
        // A crash: logged in again 3 s later, up for 1 s.
        assert!(r.booted(1, 10_003_000));
        assert!(r.since(Some(9_999_000)));
        assert!(
            r.since(Some(10_000_900)),
            "started no earlier than 10_001_000"
        );
        assert!(!r.since(Some(10_001_500)), "placed after the start may be");
        // A login again without a restart is not one.
        assert!(!r.booted(5, 10_007_000));
        // A clean restart says so.
        r.shut_down(10_008_000);
        assert!(r.since(Some(10_007_500)));
        assert!(r.since(None));
    }
}
