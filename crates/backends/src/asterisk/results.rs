//! From what Asterisk left behind (the call file in the spool, its archive with `Status:`,
//! the dialplan's report) to a message state. Pure: the caller reads the files.

use dialout_callfile::{Outcome, Parsed};

use super::report::{Report, reason_text};
use dialout_model::state::State;

/// Where a spooled call file is now.
#[derive(Debug)]
pub enum Seen {
    /// Still in the spool directory (waiting, ringing, in a call, or between attempts).
    Spooled,
    /// Archived in the done directory; `status` is None until Asterisk appends `Status:`.
    Archived(Box<Parsed>),
    /// Archived, but not readable as a call file.
    ArchiveUnreadable(String),
    /// In neither directory.
    Vanished,
}

/// A state to record, or None when nothing changed that dialout can tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub is_final: bool,
    pub error: Option<String>,
    pub reason: String,
}

fn verdict(state: State, reason: impl Into<String>) -> Verdict {
    Verdict {
        state,
        is_final: state.is_final_by_default(),
        error: None,
        reason: reason.into(),
    }
}

fn error(reason: impl Into<String>) -> Verdict {
    let reason = reason.into();
    Verdict {
        state: State::Error,
        is_final: true,
        error: Some(reason.clone()),
        reason,
    }
}

/// `max_attempts` = MaxRetries + 1 of the spooled file.
pub fn judge(seen: &Seen, report: &Report, max_attempts: u32) -> Option<Verdict> {
    match seen {
        Seen::Spooled => {
            if report.in_call() {
                return Some(verdict(
                    State::CallInProgress,
                    "answered, the message is playing",
                ));
            }
            match report.last_failure() {
                Some((n, reason)) if n < max_attempts => Some(verdict(
                    State::Rescheduled,
                    format!(
                        "attempt {n} of {max_attempts} failed: {}; Asterisk retries after retry_time",
                        reason_text(reason)
                    ),
                )),
                // The last attempt failed: the archive follows at once.
                _ => None,
            }
        }
        Seen::Archived(parsed) => parsed.status.map(|outcome| final_verdict(outcome, report)),
        Seen::ArchiveUnreadable(why) => Some(error(format!(
            "the archived call file cannot be read: {why}"
        ))),
        Seen::Vanished => Some(error(
            "the call file left the spool directory without an archive: Asterisk could not read it \
             (check its owner and permissions, see `dialout doctor`) or someone removed it",
        )),
    }
}

fn final_verdict(outcome: Outcome, report: &Report) -> Verdict {
    let heard = || {
        if report.playback_failed() && !report.complete() {
            error(
                "answered, but Asterisk could not play the audio (PLAYBACKSTATUS=FAILED): check that Asterisk can read audio_dir (see `dialout doctor`)",
            )
        } else if report.complete() {
            verdict(
                State::AnsweredComplete,
                "answered and heard the message to the end",
            )
        } else {
            verdict(
                State::AnsweredPartial,
                "answered, hung up before the end of the message",
            )
        }
    };
    match outcome {
        Outcome::Completed if report.answered() => heard(),
        Outcome::Completed => verdict(
            State::AnsweredPartial,
            "answered (Status: Completed), but the dialplan wrote no report: is the dialout context installed and report_dir writable by Asterisk?",
        ),
        // A call cut by an Asterisk stop is archived Expired even though it was answered.
        Outcome::Expired if report.answered() => heard(),
        Outcome::Expired => match report.last_failure() {
            Some((n, reason @ (Some(5) | Some(1)))) => verdict(
                State::Declined,
                format!("all {n} attempts failed, the last: {}", reason_text(reason)),
            ),
            Some((n, reason @ Some(3))) => verdict(
                State::Unanswered,
                format!("all {n} attempts failed, the last: {}", reason_text(reason)),
            ),
            Some((n, reason @ (Some(0) | Some(8)))) => verdict(
                State::Unreachable,
                format!("all {n} attempts failed, the last: {}", reason_text(reason)),
            ),
            Some((n, reason)) => error(format!(
                "all {n} attempts failed with an unexpected reason: {}",
                reason_text(reason)
            )),
            None => error(
                "every attempt failed (Status: Expired), but the dialplan reported no reason: is the dialout context (with its `failed` extension) installed?",
            ),
        },
        Outcome::Failed => error("Asterisk could not use the call file (Status: Failed)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archived(status: &str) -> Seen {
        let text = format!(
            "Channel: Local/1@x\nContext: dialout-message\nExtension: s\nPriority: 1\nArchive: yes\n{status}"
        );
        Seen::Archived(Box::new(dialout_callfile::parse(&text).unwrap()))
    }

    fn state(seen: &Seen, report: &str, max: u32) -> Option<State> {
        judge(seen, &Report::parse(report), max).map(|v| v.state)
    }

    #[test]
    fn the_mapping_table() {
        let completed = archived("Status: Completed");
        let expired = archived("Status: Expired");
        assert_eq!(
            state(&completed, "answered 1 1\ncomplete 2 1\nhangup 3 1\n", 1),
            Some(State::AnsweredComplete)
        );
        assert_eq!(
            state(&completed, "answered 1 1\nhangup 3 1\n", 1),
            Some(State::AnsweredPartial)
        );
        assert_eq!(
            state(
                &completed,
                "answered 1 1\ncomplete 2 1 FAILED\nhangup 3 1\n",
                1
            ),
            Some(State::Error),
            "heard nothing"
        );
        assert_eq!(
            state(&completed, "failed 1 1 5\nanswered 1 2\nhangup 3 2\n", 3),
            Some(State::AnsweredPartial)
        );
        assert_eq!(state(&expired, "failed 1 1 5\n", 1), Some(State::Declined));
        assert_eq!(state(&expired, "failed 1 1 1\n", 1), Some(State::Declined));
        assert_eq!(
            state(&expired, "failed 1 1 3\n", 1),
            Some(State::Unanswered)
        );
        assert_eq!(
            state(&expired, "failed 1 1 0\n", 1),
            Some(State::Unreachable)
        );
        assert_eq!(
            state(&expired, "failed 1 1 8\n", 1),
            Some(State::Unreachable)
        );
        // The last attempt decides.
        assert_eq!(
            state(&expired, "failed 1 1 5\nfailed 2 2 3\n", 2),
            Some(State::Unanswered)
        );
        assert_eq!(
            state(&expired, "failed 1 1 3\nfailed 2 2 5\n", 2),
            Some(State::Declined)
        );
        assert_eq!(state(&expired, "", 1), Some(State::Error));
        assert_eq!(
            state(&expired, "answered 1 1\n", 1),
            Some(State::AnsweredPartial),
            "cut by an Asterisk stop"
        );
        assert_eq!(
            state(&archived("Status: Failed"), "", 1),
            Some(State::Error)
        );
        assert_eq!(state(&Seen::Vanished, "", 1), Some(State::Error));
    }

    #[test]
    fn while_spooled_retries_and_calls_show_and_nothing_is_final() {
        let v = judge(&Seen::Spooled, &Report::parse("failed 1 1 5\n"), 3).unwrap();
        assert_eq!((v.state, v.is_final), (State::Rescheduled, false));
        assert!(v.reason.contains("busy"), "{}", v.reason);
        assert_eq!(
            state(
                &Seen::Spooled,
                "failed 1 1 5\nfailed 2 2 5\nfailed 3 3 5\n",
                3
            ),
            None,
            "last attempt: wait for the archive"
        );
        assert_eq!(
            state(&Seen::Spooled, "answered 1 1\n", 1),
            Some(State::CallInProgress)
        );
        assert_eq!(state(&Seen::Spooled, "", 1), None);
        assert_eq!(
            state(&archived(""), "answered 1 1\ncomplete 1 1\n", 1),
            None,
            "no Status line yet: wait"
        );
    }
}
