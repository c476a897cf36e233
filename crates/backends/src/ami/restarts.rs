//! Telling that Asterisk restarted, and so that every call placed before is over.
//!
//! Two signs: `Event: Shutdown` (a clean restart or stop, also a login refused with
//! "Asterisk is shutting down"), and the `Uptime` of the `FullyBooted` event that follows
//! each login (a crash sends no Shutdown). A call is cut when either says Asterisk started
//! after it was placed, never on a guess:
//!
//! - by connection: a call placed on connection N is cut when Asterisk shut down on N or
//!   later, or when a later login finds a newer Asterisk than the one N talked to;
//! - by time, for calls this process did not place (a new worker): `Uptime` is in whole
//!   seconds, so the start is known to within a second, and a call counts as cut only when
//!   Asterisk certainly started after it was placed.

/// What is known of the Asterisk behind one session (times in epoch ms, dialout's clock).
#[derive(Debug, Default)]
pub(super) struct Restarts {
    /// When Asterisk last said it was shutting down.
    shutdown: Option<i64>,
    /// The earliest moment the running Asterisk can have started.
    started_after: Option<i64>,
    /// Calls placed on a connection numbered below this were cut.
    cut_below: u64,
}

impl Restarts {
    /// Asterisk said on connection `conn` (at `now`) that it is shutting down.
    pub fn shut_down(&mut self, conn: u64, now: i64) {
        self.shutdown = Some(now);
        self.cut_below = self.cut_below.max(conn + 1);
    }

    /// `FullyBooted` said `Uptime: uptime_s` at `now`, on connection `conn`. True when that
    /// is a start later than the one known before (a restart, perhaps a crash, since the
    /// last login): the calls of the earlier connections are over.
    pub fn booted(&mut self, conn: u64, uptime_s: u64, now: i64) -> bool {
        let uptime_ms = i64::try_from(uptime_s).unwrap_or(i64::MAX / 2) * 1000;
        let after = now - uptime_ms - 1000;
        let before = self.started_after.replace(after);
        // The previous start lies within [before, before + 1 s]; allow another second for
        // the time between the login and reading its FullyBooted.
        let restarted = before.is_some_and(|b| after > b + 2000);
        if restarted {
            self.cut_below = self.cut_below.max(conn);
        }
        restarted
    }

    /// Whether Asterisk restarted after a call placed at `placed` on connection `conn`
    /// (either may be unknown for a call another process placed).
    pub fn since(&self, placed: Option<i64>, conn: Option<u64>) -> bool {
        if conn.is_some_and(|c| c < self.cut_below) {
            return true;
        }
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
            !r.booted(1, 3600, 10_000_000),
            "first login: nothing to compare"
        );
        assert!(
            !r.since(Some(9_999_000), None),
            "up for an hour: the call may go on"
        );
        assert!(!r.since(Some(9_999_000), Some(1)));
        assert!(!r.since(None, None));
        // A crash: logged in again 3 s later, up for 1 s.
        assert!(r.booted(2, 1, 10_003_000));
        assert!(r.since(Some(9_999_000), None));
        assert!(
            r.since(Some(10_000_900), None),
            "started no earlier than 10_001_000"
        );
        assert!(
            !r.since(Some(10_001_500), None),
            "placed after the start, maybe"
        );
        assert!(
            r.since(Some(10_001_500), Some(1)),
            "but placed on the old connection"
        );
        assert!(!r.since(Some(10_003_100), Some(2)));
        // A login again without a restart is not one.
        assert!(!r.booted(3, 5, 10_007_000));
        assert!(!r.since(Some(10_003_100), Some(2)));
    }

    #[test]
    fn a_fast_restart_is_told_by_connection_when_time_cannot_tell() {
        let mut r = Restarts::default();
        r.booted(1, 7200, 10_000_000);
        // Placed at 10_000_100 on connection 1; Asterisk killed and up again 0.4 s later.
        assert!(r.booted(2, 0, 10_000_600));
        assert!(!r.since(Some(10_000_100), None), "time alone cannot tell");
        assert!(r.since(Some(10_000_100), Some(1)));
    }

    #[test]
    fn a_shutdown_cuts_the_calls_of_its_connection_and_before() {
        let mut r = Restarts::default();
        r.shut_down(3, 10_008_000);
        assert!(r.since(Some(10_007_500), None));
        assert!(r.since(None, None));
        assert!(r.since(Some(10_009_000), Some(3)));
        assert!(!r.since(Some(10_009_000), Some(4)));
    }
}
