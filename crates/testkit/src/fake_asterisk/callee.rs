//! Who answers the phone: the test chooses a behaviour per channel.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// REASON codes Asterisk reports for a failed attempt (and 4 for answered).
pub mod reason {
    pub const UNREACHABLE: i32 = 0;
    pub const HANGUP_BEFORE_ANSWER: i32 = 1;
    pub const NO_ANSWER: i32 = 3;
    pub const ANSWERED: i32 = 4;
    pub const BUSY: i32 = 5;
    pub const CONGESTION: i32 = 8;
}

/// One callee's behaviour for one attempt. Times are fake seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Callee {
    /// Rings `ring` seconds, answers, then hangs up `hangup_after` seconds after answering
    /// (`None`: stays on until the PBX hangs up). Ringing ≥ WaitTime means no answer (REASON 3).
    Answers {
        ring: f64,
        hangup_after: Option<f64>,
    },
    /// Busy after `after` seconds (REASON 5).
    Busy { after: f64 },
    /// Rings until WaitTime (REASON 3).
    NoAnswer,
    /// Congestion after `after` seconds (REASON 8).
    Congestion { after: f64 },
    /// Rejects (hangs up before answer) after `after` seconds (REASON 1).
    Rejects { after: f64 },
    /// Cannot be dialed at all (REASON 0), at once.
    Unreachable,
    /// Rings `ring` seconds, answers, and behaves as `party` (what AMD hears, the keys it
    /// presses); hangs up `hangup_after` seconds after answering, if given.
    Talks {
        ring: f64,
        party: Party,
        hangup_after: Option<f64>,
    },
}

/// Who picked up, as `AMD()`, `WaitForSilence()` and `Read()` meet them. The callee's audio
/// starts 0.5 s after the answer (its `Answer()` waits that long for a first frame from the
/// caller, and AMD and Wait send none). Key times are seconds after the answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Party {
    /// A person: says something for `speech` seconds ("Hello?" is about 0.6 s), then
    /// stays silent (real silence frames), pressing `keys` at the given times.
    Person { speech: f64, keys: Vec<(f64, char)> },
    /// An answering machine: a spoken greeting of `greeting` seconds, a 1 s beep, then
    /// silence frames.
    Machine { greeting: f64 },
    /// Answers and sends silence frames only.
    Silence,
    /// Answers and sends no frames at all (a Local leg in `Wait()`).
    NoMedia,
}

impl Party {
    /// A person who says "Hello?" and presses `keys` (seconds after the answer, key).
    pub fn person(keys: &[(f64, char)]) -> Party {
        Party::Person {
            speech: 0.6,
            keys: keys.to_vec(),
        }
    }
}

impl Callee {
    /// Answers after one second of ringing and stays on until the PBX hangs up.
    pub fn answers() -> Callee {
        Callee::Answers {
            ring: 1.0,
            hangup_after: None,
        }
    }
    /// Answers after one second and hangs up `secs` seconds later (even mid-Playback).
    pub fn answers_then_hangs_up(secs: f64) -> Callee {
        Callee::Answers {
            ring: 1.0,
            hangup_after: Some(secs),
        }
    }
    /// Same as [`Callee::answers_then_hangs_up`]: stays on the line `secs` seconds at most.
    pub fn answers_and_stays_for(secs: f64) -> Callee {
        Callee::answers_then_hangs_up(secs)
    }
    pub fn busy() -> Callee {
        Callee::Busy { after: 2.0 }
    }
    pub fn no_answer() -> Callee {
        Callee::NoAnswer
    }
    pub fn congestion() -> Callee {
        Callee::Congestion { after: 1.0 }
    }
    pub fn rejects() -> Callee {
        Callee::Rejects { after: 3.0 }
    }
    pub fn unreachable() -> Callee {
        Callee::Unreachable
    }
    /// Answers after one second as `party` and stays on until the PBX hangs up.
    pub fn talks(party: Party) -> Callee {
        Callee::Talks {
            ring: 1.0,
            party,
            hangup_after: None,
        }
    }
    /// Answers after one second as `party`, hangs up `secs` after answering.
    pub fn talks_then_hangs_up(party: Party, secs: f64) -> Callee {
        Callee::Talks {
            ring: 1.0,
            party,
            hangup_after: Some(secs),
        }
    }
    /// Who AMD and Read meet on answer: a plain answering callee is a person who presses
    /// nothing.
    pub(crate) fn party(&self) -> Party {
        match self {
            Callee::Talks { party, .. } => party.clone(),
            _ => Party::person(&[]),
        }
    }
}

/// How long the fake lets a callee that never answers ring when the dial has no timeout (a
/// WaitTime whose `* 1000` overflows Asterisk's int): a day, then it counts as no answer.
pub const UNLIMITED_RING_SECS: f64 = 86_400.0;

/// How a dial ended, in fake seconds after the dial started.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum DialResult {
    Answered {
        after: f64,
        hangup_after: Option<f64>,
    },
    Failed {
        after: f64,
        reason: i32,
    },
}

impl Callee {
    /// `timeout_ms` as Asterisk's dial gets it; zero or below is no limit, which the fake
    /// plays as [`UNLIMITED_RING_SECS`] of ringing.
    pub(crate) fn dial(&self, timeout_ms: i32) -> DialResult {
        let wait = if timeout_ms > 0 {
            f64::from(timeout_ms) / 1000.0
        } else {
            UNLIMITED_RING_SECS
        };
        let fail = |after: f64, reason: i32| {
            if after >= wait {
                DialResult::Failed {
                    after: wait,
                    reason: reason::NO_ANSWER,
                }
            } else {
                DialResult::Failed { after, reason }
            }
        };
        match *self {
            Callee::Answers { ring, hangup_after }
            | Callee::Talks {
                ring, hangup_after, ..
            } => {
                if ring >= wait {
                    DialResult::Failed {
                        after: wait,
                        reason: reason::NO_ANSWER,
                    }
                } else {
                    DialResult::Answered {
                        after: ring,
                        hangup_after,
                    }
                }
            }
            Callee::Busy { after } => fail(after, reason::BUSY),
            Callee::NoAnswer => DialResult::Failed {
                after: wait,
                reason: reason::NO_ANSWER,
            },
            Callee::Congestion { after } => fail(after, reason::CONGESTION),
            Callee::Rejects { after } => fail(after, reason::HANGUP_BEFORE_ANSWER),
            Callee::Unreachable => DialResult::Failed {
                after: 0.0,
                reason: reason::UNREACHABLE,
            },
        }
    }
}

type Predicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Clone)]
enum Matcher {
    Exact(String),
    Predicate(Predicate),
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "Exact({s:?})"),
            Matcher::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// The callees of a test: rules tried in order, then a default.
///
/// A rule holds a sequence: the n-th dial of a given channel string gets the n-th entry
/// (the last one repeats), so "busy, then answers" makes a retry test.
#[derive(Clone, Debug)]
pub struct Callees {
    rules: Vec<(Matcher, Vec<Callee>)>,
    default: Vec<Callee>,
    dials: HashMap<String, usize>,
}

impl Default for Callees {
    fn default() -> Self {
        Callees::new(Callee::answers())
    }
}

impl Callees {
    /// Every channel not matched by a rule gets `default`.
    pub fn new(default: Callee) -> Callees {
        Callees {
            rules: Vec::new(),
            default: vec![default],
            dials: HashMap::new(),
        }
    }
    /// Channel string (`Tech/Dest`, exactly as in the file) → callee.
    pub fn exact(self, channel: &str, callee: Callee) -> Callees {
        self.exact_sequence(channel, vec![callee])
    }
    /// Channel string → one callee per successive dial of that channel.
    pub fn exact_sequence(mut self, channel: &str, seq: Vec<Callee>) -> Callees {
        assert!(
            !seq.is_empty(),
            "a callee sequence needs at least one callee"
        );
        self.rules.push((Matcher::Exact(channel.to_string()), seq));
        self
    }
    /// Every channel the predicate accepts → callee.
    pub fn matching(
        self,
        pred: impl Fn(&str) -> bool + Send + Sync + 'static,
        callee: Callee,
    ) -> Callees {
        self.matching_sequence(pred, vec![callee])
    }
    /// Every channel the predicate accepts → one callee per successive dial of that channel.
    pub fn matching_sequence(
        mut self,
        pred: impl Fn(&str) -> bool + Send + Sync + 'static,
        seq: Vec<Callee>,
    ) -> Callees {
        assert!(
            !seq.is_empty(),
            "a callee sequence needs at least one callee"
        );
        self.rules.push((Matcher::Predicate(Arc::new(pred)), seq));
        self
    }
    /// Default for all other channels, one per successive dial of each channel.
    pub fn default_sequence(mut self, seq: Vec<Callee>) -> Callees {
        assert!(
            !seq.is_empty(),
            "a callee sequence needs at least one callee"
        );
        self.default = seq;
        self
    }

    /// The callee for the next dial of `channel` (counts the dial).
    pub(crate) fn next_for(&mut self, channel: &str) -> Callee {
        let n = self.dials.entry(channel.to_string()).or_insert(0);
        let idx = *n;
        *n += 1;
        let seq = self
            .rules
            .iter()
            .find(|(m, _)| match m {
                Matcher::Exact(s) => s == channel,
                Matcher::Predicate(p) => p(channel),
            })
            .map(|(_, s)| s)
            .unwrap_or(&self.default);
        seq[idx.min(seq.len() - 1)].clone()
    }
}
