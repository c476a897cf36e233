//! The report lines the shipped dialplan appends (`dialplan/dialout.conf`):
//! `answered EPOCH ATTEMPT`, `complete EPOCH ATTEMPT`, `failed EPOCH ATTEMPT REASON`,
//! `hangup EPOCH ATTEMPT`; `complete` ends with `${PLAYBACKSTATUS}` (SUCCESS or FAILED). Fields are split on single spaces so that an empty variable keeps
//! the positions of the others. Interactive messages add `amd EPOCH ATTEMPT AMDSTATUS
//! AMDCAUSE` and `read EPOCH ATTEMPT TRY READSTATUS DIGITS` (kept in [`Report::ivr`]).

use crate::shared::ivr::{IvrReport, ReadResult};

/// One line of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Answered {
        attempt: Option<u32>,
    },
    /// `played` is false when Playback reported FAILED (missing or unreadable audio).
    Complete {
        attempt: Option<u32>,
        played: bool,
    },
    Failed {
        attempt: Option<u32>,
        reason: Option<u32>,
    },
    Hangup {
        attempt: Option<u32>,
    },
}

/// A report file read as far as it was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub lines: Vec<Line>,
    /// Lines that mean nothing to dialout (kept for a warning).
    pub odd: Vec<String>,
    /// What AMD() and the last Read() said.
    pub ivr: IvrReport,
}

impl Report {
    pub fn parse(text: &str) -> Report {
        let mut report = Report::default();
        for raw in text.lines() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(' ').collect();
            let num = |i: usize| f.get(i).and_then(|s| s.trim().parse::<u32>().ok());
            let word = |i: usize| f.get(i).map_or(String::new(), |s| s.trim().to_string());
            let epoch = f
                .get(1)
                .and_then(|s| s.trim().parse::<i64>().ok())
                .unwrap_or(0);
            match f[0] {
                "amd" => {
                    report.ivr.amd = Some((epoch, word(3), word(4)));
                    continue;
                }
                "read" => {
                    report.ivr.read = Some(ReadResult {
                        at: epoch,
                        try_no: num(3).unwrap_or(1),
                        status: word(4),
                        digits: word(5),
                    });
                    continue;
                }
                _ => {}
            }
            let parsed = match f[0] {
                "answered" => Some(Line::Answered { attempt: num(2) }),
                "complete" => Some(Line::Complete {
                    attempt: num(2),
                    played: f
                        .get(3)
                        .is_none_or(|s| !s.trim().eq_ignore_ascii_case("FAILED")),
                }),
                "failed" => Some(Line::Failed {
                    attempt: num(2),
                    reason: num(3),
                }),
                "hangup" => Some(Line::Hangup { attempt: num(2) }),
                _ => None,
            };
            match parsed {
                Some(l) => report.lines.push(l),
                None => report.odd.push(line.to_string()),
            }
        }
        report
    }

    pub fn answered(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l, Line::Answered { .. }))
    }

    /// Heard to the end: the dialplan got past Playback, and Playback played.
    pub fn complete(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l, Line::Complete { played: true, .. }))
    }

    /// The dialplan got past Playback, but Playback could not play the audio.
    pub fn playback_failed(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l, Line::Complete { played: false, .. }))
    }

    /// The last failed attempt: its number (counted when the variable was empty) and REASON.
    pub fn last_failure(&self) -> Option<(u32, Option<u32>)> {
        let mut count = 0;
        let mut last = None;
        for l in &self.lines {
            if let Line::Failed { attempt, reason } = l {
                count += 1;
                last = Some((attempt.unwrap_or(count), *reason));
            }
        }
        last
    }

    /// Answered and still on the line: no hangup after the last answer.
    pub fn in_call(&self) -> bool {
        match self
            .lines
            .iter()
            .rposition(|l| matches!(l, Line::Answered { .. }))
        {
            Some(i) => !self.lines[i..]
                .iter()
                .any(|l| matches!(l, Line::Hangup { .. })),
            None => false,
        }
    }
}

/// What Asterisk's REASON codes mean, for people.
pub fn reason_text(reason: Option<u32>) -> String {
    match reason {
        Some(0) => "could not be dialed (REASON 0: unknown channel, no route, unreachable)".into(),
        Some(1) => "rejected (REASON 1: hung up before answer)".into(),
        Some(3) => "no answer (REASON 3: rang until wait_time)".into(),
        Some(5) => "busy (REASON 5)".into(),
        Some(8) => "congestion (REASON 8)".into(),
        Some(n) => format!("REASON {n}"),
        None => "no REASON recorded".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_by_position_and_odd_ones_kept_apart() {
        let r = Report::parse(
            "failed 1700000000 1 5\nfailed 1700000300  3\nanswered 1700000600 3\nnonsense\n",
        );
        assert_eq!(
            r.lines[0],
            Line::Failed {
                attempt: Some(1),
                reason: Some(5)
            }
        );
        assert_eq!(
            r.lines[1],
            Line::Failed {
                attempt: None,
                reason: Some(3)
            }
        );
        assert_eq!(r.last_failure(), Some((2, Some(3))));
        assert!(r.answered() && r.in_call() && !r.complete());
        assert_eq!(r.odd, vec!["nonsense".to_string()]);
        let done = Report::parse("answered 1 1\ncomplete 2 1 SUCCESS\nhangup 3 1\n");
        assert!(done.complete() && !done.in_call() && !done.playback_failed());
        let silent = Report::parse("answered 1 1\ncomplete 2 1 FAILED\nhangup 3 1\n");
        assert!(!silent.complete() && silent.playback_failed());
    }
}
