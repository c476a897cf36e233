//! Who answers: the test picks a behaviour per dialed number.

use std::time::Duration;

pub use crate::fake_asterisk::Party;

/// One callee's behaviour, in real (short) time.
#[derive(Debug, Clone, PartialEq)]
pub enum Callee {
    /// Rings `ring`, answers, and listens to the whole message (or hangs up `hangs_up_after`
    /// the answer when that comes first). Ringing as long as the Originate `Timeout` is no answer.
    Answers {
        ring: Duration,
        hangs_up_after: Option<Duration>,
    },
    /// Answers, but Playback cannot play the audio (`PLAYBACKSTATUS` FAILED).
    AnswersAudioFails { ring: Duration },
    /// Busy after `after` (Reason 5, Hangup cause 17 on the ;2 leg).
    Busy { after: Duration },
    /// Rings until the Originate `Timeout` (Reason 3).
    NoAnswer,
    /// Congestion after `after` (Reason 8).
    Congestion { after: Duration },
    /// No route (Reason 0), at once.
    Unreachable,
    /// Answers after `ring` as `party` (what AMD hears, the keys it presses, in fake seconds
    /// after the answer, see [`crate::fake_asterisk::Party`]); hangs up `hangs_up_after`
    /// fake seconds after answering, if given. Only the `ivr` extension looks at the party.
    Talks {
        ring: Duration,
        party: Party,
        hangs_up_after: Option<f64>,
    },
}

impl Callee {
    pub fn answers() -> Callee {
        Callee::Answers {
            ring: Duration::from_millis(20),
            hangs_up_after: None,
        }
    }
    pub fn hangs_up_after(d: Duration) -> Callee {
        Callee::Answers {
            ring: Duration::from_millis(20),
            hangs_up_after: Some(d),
        }
    }
    pub fn audio_fails() -> Callee {
        Callee::AnswersAudioFails {
            ring: Duration::from_millis(20),
        }
    }
    pub fn busy() -> Callee {
        Callee::Busy {
            after: Duration::from_millis(20),
        }
    }
    pub fn congestion() -> Callee {
        Callee::Congestion {
            after: Duration::from_millis(20),
        }
    }
    pub fn talks(party: Party) -> Callee {
        Callee::Talks {
            ring: Duration::from_millis(20),
            party,
            hangs_up_after: None,
        }
    }
    /// `party`, hanging up `secs` fake seconds after the answer.
    pub fn talks_then_hangs_up(party: Party, secs: f64) -> Callee {
        Callee::Talks {
            ring: Duration::from_millis(20),
            party,
            hangs_up_after: Some(secs),
        }
    }
}
