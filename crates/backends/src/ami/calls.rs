//! The calls a backend has in flight, what the events and AstDB said about each, and the
//! message state that follows (mapped as the Asterisk backend maps its reports).

use std::collections::HashMap;

use dialout_model::id::MessageId;
use dialout_model::state::State;

use super::config::{AmiConfig, Retry};

/// Seconds after the answer (beyond `stale_after`) when an `answered` record that nothing
/// followed counts as a call that ended unreported.
pub const ANSWERED_STALE: i64 = 3600;

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// Hung up after answering (either side), or cut after answering.
    Hangup,
    /// Never answered: OriginateResponse's (or the `failed` extension's) Reason.
    Failed(Option<u32>),
    /// Cut by an Asterisk restart before anyone answered.
    CutBeforeAnswer,
    /// AstDB says it was never dialed (an Originate lost with its connection).
    NeverDialed,
    /// No trace in AstDB of a call dialout placed.
    NoTrace,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub attempt: u32,
    pub channel_id: String,
    pub answered: bool,
    /// `PLAYBACKSTATUS` once the dialplan got past Playback.
    pub played: Option<bool>,
    pub ended: Option<End>,
    /// Events may have been missed (reconnected, or a new process): read AstDB.
    pub unsure: bool,
    /// When the call was placed (epoch ms, dialout's clock), if known.
    pub placed_ms: Option<i64>,
    /// The AMI connection its Originate went out on, when this process placed it.
    pub placed_conn: Option<u64>,
    /// The final state was handed to the store: the AstDB key may go once the message
    /// is no longer in flight.
    pub reported_final: bool,
    /// The key of its audio in the cache, kept while the call lives (erasing another
    /// message of the same text leaves the file to this call).
    pub audio: Option<String>,
    /// Whether the message is interactive (its results are also under `dialout-ivr/<id>`).
    pub interactive: bool,
    /// What AMD() and the last Read() reported.
    pub ivr: crate::shared::ivr::IvrReport,
}

impl Call {
    pub fn dialing(attempt: u32, channel_id: String, placed_ms: i64) -> Call {
        Call {
            attempt,
            channel_id,
            answered: false,
            played: None,
            ended: None,
            unsure: false,
            placed_ms: Some(placed_ms),
            placed_conn: None,
            reported_final: false,
            audio: None,
            interactive: false,
            ivr: Default::default(),
        }
    }

    pub fn live(&self) -> bool {
        self.ended.is_none()
    }

    /// Applies an AstDB value written by the dialplan (or dialout's `originated`).
    /// `restarted`: Asterisk restarted since the call was placed (calls were cut). A call
    /// that may still be going stays open: its events will tell.
    pub fn apply_db(&mut self, value: Option<&str>, restarted: bool, stale_after: i64, now: i64) {
        self.unsure = false;
        let Some(v) = value else {
            if self.ended.is_none() {
                self.ended = Some(End::NoTrace);
            }
            return;
        };
        let f: Vec<&str> = v.split(' ').collect();
        let num = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
        match f[0] {
            "originated" => {
                if self.ended.is_some() {
                    return;
                }
                if self.answered {
                    // Answered (OriginateResponse said so) before the dialplan wrote a word:
                    // cut by the restart, it heard part of the message at most.
                    if restarted {
                        self.ended = Some(End::Hangup);
                    }
                    return;
                }
                if restarted {
                    self.ended = Some(End::CutBeforeAnswer);
                } else if num(1).is_some_and(|at| now - at > stale_after) {
                    self.ended = Some(End::NeverDialed);
                }
            }
            "answered" => {
                self.answered = true;
                // A last resort when no restart could be proven (a new process after a
                // sub-second crash): no message plays for an hour.
                let stale = num(1).is_some_and(|at| now - at > stale_after + ANSWERED_STALE);
                if (restarted || stale) && self.ended.is_none() {
                    self.ended = Some(End::Hangup);
                }
            }
            // An interactive call past its message, in its prompt: `h` makes it `complete`.
            "gathering" => {
                self.answered = true;
                self.played = Some(f.get(2).is_none_or(|s| !s.eq_ignore_ascii_case("FAILED")));
                // As for `answered`: no prompt waits for an hour.
                let stale = num(1).is_some_and(|at| now - at > stale_after + ANSWERED_STALE);
                if (restarted || stale) && self.ended.is_none() {
                    self.ended = Some(End::Hangup);
                }
            }
            "complete" => {
                self.answered = true;
                self.played = Some(f.get(2).is_none_or(|s| !s.eq_ignore_ascii_case("FAILED")));
                self.ended.get_or_insert(End::Hangup);
            }
            "hangup" => {
                self.answered = true;
                self.ended.get_or_insert(End::Hangup);
            }
            "failed" if !self.answered => {
                let reason = num(2).and_then(|n| u32::try_from(n).ok());
                self.ended.get_or_insert(End::Failed(reason));
            }
            _ => {}
        }
    }
}

/// The calls of one backend by message, and their channels.
#[derive(Default)]
pub struct Calls {
    pub by_id: HashMap<MessageId, Call>,
    pub by_channel: HashMap<String, MessageId>,
}

impl Calls {
    pub fn insert(&mut self, id: MessageId, call: Call) {
        if let Some(old) = self.by_id.get(&id) {
            self.by_channel.remove(&old.channel_id);
        }
        self.by_channel.insert(call.channel_id.clone(), id);
        self.by_id.insert(id, call);
    }

    pub fn remove(&mut self, id: MessageId) {
        if let Some(c) = self.by_id.remove(&id) {
            self.by_channel.remove(&c.channel_id);
        }
    }

    pub fn live(&self) -> usize {
        self.by_id.values().filter(|c| c.live()).count()
    }
}

/// What to record for a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub is_final: bool,
    pub error: Option<String>,
    pub reason: String,
    /// Call again after this long (a retry by outcome).
    pub retry_in: Option<std::time::Duration>,
}

fn verdict(state: State, reason: impl Into<String>) -> Verdict {
    Verdict {
        state,
        is_final: state.is_final_by_default(),
        error: None,
        reason: reason.into(),
        retry_in: None,
    }
}

fn error(reason: impl Into<String>) -> Verdict {
    let reason = reason.into();
    Verdict {
        state: State::Error,
        is_final: true,
        error: Some(reason.clone()),
        reason,
        retry_in: None,
    }
}

/// What Asterisk's Reason codes mean, for people.
pub fn reason_text(reason: Option<u32>) -> String {
    match reason {
        Some(0) => "could not be dialed (Reason 0: no route or unknown channel)".into(),
        Some(1) => "rejected (Reason 1: hung up before answer)".into(),
        Some(3) => "no answer (Reason 3: rang until wait_time)".into(),
        Some(5) => "busy (Reason 5)".into(),
        Some(8) => "congestion (Reason 8)".into(),
        Some(n) => format!("Reason {n}"),
        None => "no Reason given".into(),
    }
}

/// The state for `call`; None while nothing worth recording happened (dialing).
pub fn judge(call: &Call, config: &AmiConfig) -> Option<Verdict> {
    let Some(end) = &call.ended else {
        return call
            .answered
            .then(|| verdict(State::CallInProgress, "answered, the message is playing"));
    };
    let failed = |state: State, policy: &Retry, why: String| {
        if call.attempt <= policy.attempts {
            let mut v = verdict(
                State::Rescheduled,
                format!(
                    "attempt {} failed: {why}; calling again in {} s",
                    call.attempt,
                    policy.delay.as_secs()
                ),
            );
            v.is_final = false;
            v.retry_in = Some(policy.delay);
            v
        } else {
            verdict(state, format!("attempt {} failed: {why}", call.attempt))
        }
    };
    Some(match end {
        End::Hangup => match call.played {
            Some(true) => verdict(
                State::AnsweredComplete,
                "answered and heard the message to the end",
            ),
            Some(false) => error(
                "answered, but Asterisk could not play the audio (PLAYBACKSTATUS=FAILED): check audio_url or pbx_audio_dir (see `dialout doctor`)",
            ),
            None => verdict(
                State::AnsweredPartial,
                "answered, hung up before the end of the message",
            ),
        },
        End::Failed(r @ (Some(5) | Some(1))) => {
            failed(State::Declined, &config.retry_busy, reason_text(*r))
        }
        End::Failed(r @ Some(3)) => {
            failed(State::Unanswered, &config.retry_no_answer, reason_text(*r))
        }
        End::Failed(r @ (Some(0) | Some(8))) => failed(
            State::Unreachable,
            &config.retry_unreachable,
            reason_text(*r),
        ),
        End::Failed(r) => error(format!(
            "the call failed with an unexpected reason: {}",
            reason_text(*r)
        )),
        End::CutBeforeAnswer => failed(
            State::Unreachable,
            &config.retry_unreachable,
            "cut by an Asterisk restart before anyone answered".into(),
        ),
        End::NeverDialed => failed(
            State::Unreachable,
            &config.retry_unreachable,
            "Asterisk never dialed it (the Originate was lost with its connection)".into(),
        ),
        End::NoTrace => error(format!(
            "AstDB has no entry dialout/<id> for this call: was it removed by hand? (context {})",
            config.context
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AmiConfig {
        AmiConfig::from_table(
            "pbx",
            &toml::from_str(
                "host = \"h\"\nusername = \"u\"\nsecret = \"s\"\nchannel = \"Local/{digits}@c\"\naudio_url = \"http://x/audio\"\nretry_busy = { attempts = 1, delay = \"1m\" }\n",
            )
            .unwrap(),
        )
        .unwrap()
    }

    fn state(attempt: u32, db: &str, restarted: bool) -> Option<(State, bool)> {
        let mut c = Call::dialing(attempt, "u".into(), 100);
        c.unsure = true;
        c.apply_db(Some(db), restarted, 60, 120);
        judge(&c, &config()).map(|v| (v.state, v.is_final))
    }

    #[test]
    fn astdb_values_map_like_the_asterisk_backend() {
        assert_eq!(
            state(1, "complete 1 SUCCESS", false),
            Some((State::AnsweredComplete, true))
        );
        assert_eq!(
            state(1, "complete 1 FAILED", false),
            Some((State::Error, true))
        );
        assert_eq!(
            state(1, "hangup 1 16", false),
            Some((State::AnsweredPartial, true))
        );
        assert_eq!(
            state(1, "answered 1", false),
            Some((State::CallInProgress, false))
        );
        assert_eq!(
            state(1, "answered 1", true),
            Some((State::AnsweredPartial, true))
        );
        let mut c = Call::dialing(1, "u".into(), 100);
        c.apply_db(
            Some("answered 100"),
            false,
            60,
            100 + 60 + ANSWERED_STALE + 1,
        );
        assert_eq!(
            judge(&c, &config()).map(|v| v.state),
            Some(State::AnsweredPartial),
            "an hour without a word after the answer"
        );
        assert_eq!(
            state(1, "failed 1 5", false),
            Some((State::Rescheduled, false))
        );
        assert_eq!(
            state(1, "gathering 110 SUCCESS", false),
            Some((State::CallInProgress, false)),
            "in the prompt"
        );
        assert_eq!(
            state(1, "gathering 110 SUCCESS", true),
            Some((State::AnsweredComplete, true)),
            "cut by a restart during the prompt: the message was heard"
        );
        assert_eq!(state(2, "failed 1 5", false), Some((State::Declined, true)));
        assert_eq!(
            state(1, "failed 1 3", false),
            Some((State::Unanswered, true))
        );
        assert_eq!(
            state(1, "failed 1 8", false),
            Some((State::Unreachable, true))
        );
        assert_eq!(
            state(1, "failed 1 0", false),
            Some((State::Unreachable, true))
        );
        assert_eq!(state(1, "originated 110 1", false), None, "still ringing");
        assert_eq!(
            state(1, "originated 10 1", false),
            Some((State::Unreachable, true)),
            "stale"
        );
        assert_eq!(
            state(1, "originated 110 1", true),
            Some((State::Unreachable, true))
        );
        let mut c = Call::dialing(1, "u".into(), 100);
        c.apply_db(None, false, 60, 120);
        assert_eq!(judge(&c, &config()).map(|v| v.state), Some(State::Error));
    }
}
