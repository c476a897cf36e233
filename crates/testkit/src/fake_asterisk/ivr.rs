//! `AMD()`, `WaitForSilence()` and `Read()` in fake time, from
//! `shared/reference/asterisk-interactive.md` (real 22.10.1, observed) and the 22.10.1
//! sources of `apps/app_amd.c`, `apps/app_waitforsilence.c`, `apps/app_read.c` and
//! `ast_readstring_full` in `main/channel.c`. Times are seconds after the answer (the
//! moment the caller half starts its dialplan).

use super::callee::Party;

/// The callee's audio starts here: its `Answer()` waits 0.5 s for a first frame.
pub(crate) const AUDIO_START: f64 = 0.5;
/// A key is read about 0.2 s after the callee starts sending it.
pub(crate) const KEY_LAG: f64 = 0.2;
/// A word-filled greeting reaches AMD's 3rd word (`maximum_number_of_words` 2) 1.7 s in.
const THIRD_WORD: f64 = 1.7;
/// Default `greeting` (longest first utterance of a person) and `after_greeting_silence`.
const GREETING: f64 = 1.5;
const AFTER_GREETING: f64 = 0.816;
/// A key during AMD's after-greeting silence delays the verdict (seen: 2.45 instead of 2.00).
const KEY_DELAY: f64 = 0.45;
const BEEP: f64 = 1.0;

/// AMD's verdict: when, AMDSTATUS, AMDCAUSE (defaults of `amd.conf.sample`).
pub(crate) fn amd(party: &Party, start: f64) -> (f64, &'static str, String) {
    let from = start.max(AUDIO_START);
    match party {
        Party::Person { speech, keys } if *speech > 0.0 => {
            if *speech > GREETING {
                return (from + GREETING, "MACHINE", "LONGGREETING-1500-1500".into());
            }
            let end = from + speech;
            let mut at = end + AFTER_GREETING;
            // A key is not silence: the silence count starts again after it.
            if keys.iter().any(|(t, _)| *t >= end && *t < at) {
                at += KEY_DELAY;
            }
            (at, "HUMAN", "HUMAN-816-800".into())
        }
        Party::Machine { greeting } if *greeting >= THIRD_WORD => {
            (from + THIRD_WORD, "MACHINE", "MAXWORDS-3-2".into())
        }
        Party::Machine { greeting } if greeting + BEEP > GREETING => {
            (from + GREETING, "MACHINE", "LONGGREETING-1500-1500".into())
        }
        Party::Machine { greeting } => (
            from + greeting + BEEP + AFTER_GREETING,
            "HUMAN",
            "HUMAN-816-800".into(),
        ),
        Party::Person { .. } | Party::Silence => {
            (start + 2.98, "MACHINE", "INITIALSILENCE-2500-2500".into())
        }
        // No frames at all: AMD's wall-clock limit (total_analysis_time 5000).
        Party::NoMedia => (start + 5.01, "NOTSURE", "TOOLONG-4900".into()),
    }
}

/// When the callee's own sound ends (speech, or greeting and beep).
fn audio_end(party: &Party) -> f64 {
    match party {
        Party::Person { speech, .. } => AUDIO_START + speech,
        Party::Machine { greeting } => AUDIO_START + greeting + BEEP,
        Party::Silence | Party::NoMedia => 0.0,
    }
}

/// `WaitForSilence(need_ms,1,timeout_s)` from `start`: when it returns and WAITSTATUS.
/// Silence frames and no frames end it alike; the greeting and the beep do not.
pub(crate) fn wait_for_silence(
    party: &Party,
    start: f64,
    need: f64,
    timeout: f64,
) -> (f64, &'static str) {
    let end = audio_end(party);
    // Seen: 1.48 s after the beep for a 1.5 s need (the detector's frame rounding).
    let at = if end > start {
        end + need - 0.02
    } else {
        start + need
    };
    if timeout > 0.0 && at > start + timeout {
        (start + timeout, "TIMEOUT")
    } else {
        (at, "SILENCE")
    }
}

/// How one `Read()` ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadEnd {
    pub at: f64,
    pub status: &'static str,
    pub digits: String,
}

/// `Read()` from `start` with a prompt of `prompt` seconds: keys before `start` are lost;
/// any key stops the prompt; the first key waits `timeout` after the prompt, each next one
/// `timeout` after the last; an ender alone gives OK and nothing, after digits it ends the
/// entry (and is not kept); `max` digits end it; a timeout keeps the digits so far.
pub(crate) fn read(
    keys: &[(f64, char)],
    start: f64,
    prompt: f64,
    max: usize,
    enders: &str,
    timeout: f64,
) -> ReadEnd {
    let mut digits = String::new();
    let mut deadline = start + prompt + timeout;
    let mut sorted: Vec<(f64, char)> = keys.iter().copied().filter(|(t, _)| *t >= start).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, k) in sorted {
        let at = t + KEY_LAG;
        if at > deadline {
            break;
        }
        if enders.contains(k) {
            return ReadEnd {
                at,
                status: "OK",
                digits,
            };
        }
        digits.push(k);
        if digits.chars().count() >= max {
            return ReadEnd {
                at,
                status: "OK",
                digits,
            };
        }
        deadline = at + timeout;
    }
    ReadEnd {
        at: deadline,
        status: "TIMEOUT",
        digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_timings() {
        let (at, s, c) = amd(&Party::Machine { greeting: 8.0 }, 0.0);
        assert_eq!((s, c.as_str()), ("MACHINE", "MAXWORDS-3-2"));
        assert!((at - 2.2).abs() < 1e-9);
        assert_eq!(amd(&Party::Silence, 0.0).1, "MACHINE");
        assert_eq!(amd(&Party::NoMedia, 0.0).2, "TOOLONG-4900");
        let (at, s, _) = amd(&Party::person(&[]), 0.0);
        assert_eq!(s, "HUMAN");
        assert!((at - 1.916).abs() < 1e-9);
        // WaitForSilence after MAXWORDS: ~1.5 s after the beep.
        let (w, st) = wait_for_silence(&Party::Machine { greeting: 8.0 }, 2.2, 1.5, 30.0);
        assert_eq!(st, "SILENCE");
        assert!((w - (0.5 + 8.0 + 1.0 + 1.48)).abs() < 1e-9);
        // Read(DIGITS,prompt,1,,1,5) after HUMAN at 2.0 with a 5.04 s prompt.
        let none = read(&[], 2.0, 5.04, 1, "#", 5.0);
        assert_eq!((none.status, none.digits.as_str()), ("TIMEOUT", ""));
        assert!((none.at - 12.04).abs() < 1e-9);
        let late = read(&[(15.6, '1')], 2.0, 5.04, 1, "#", 5.0);
        assert_eq!(late.status, "TIMEOUT");
        let lost = read(&[(1.0, '1')], 2.0, 5.04, 1, "#", 5.0);
        assert_eq!(lost.digits, "", "a key before Read is lost");
        let partial = read(&[(3.0, '1'), (3.4, '2')], 2.0, 5.04, 4, "#", 5.0);
        assert_eq!((partial.status, partial.digits.as_str()), ("TIMEOUT", "12"));
        let ended = read(
            &[(3.0, '1'), (3.4, '2'), (3.8, '#')],
            2.0,
            5.04,
            4,
            "#",
            5.0,
        );
        assert_eq!((ended.status, ended.digits.as_str()), ("OK", "12"));
        let hash = read(&[(3.0, '#')], 2.0, 5.04, 4, "#", 5.0);
        assert_eq!((hash.status, hash.digits.as_str()), ("OK", ""));
    }
}
