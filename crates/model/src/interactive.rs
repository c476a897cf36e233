//! Interactive calls: what a sender asks of the callee (a key to press, a policy for answering
//! machines) and what came back (the keys pressed, their meaning, who answered).
//!
//! [`Gather`] is parsed, not validated: a value of it always holds keys, counts and labels a
//! dialplan can use as they are, so backends never check them again.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Every key a phone can send.
pub const PHONE_KEYS: &str = "0123456789*#";
/// Longest prompt, in characters (a prompt is read like the message, so the same kind of text).
pub const MAX_PROMPT_CHARS: usize = 1000;
/// Longest entry a gather can ask for (a PIN or an account number, not an essay).
pub const MAX_DIGITS: u8 = 20;
/// Longest answer label.
pub const MAX_LABEL_CHARS: usize = 64;
/// Most seconds to wait for a key after the prompt.
pub const MAX_TIMEOUT_SECS: u32 = 60;
/// Most extra plays of the prompt when nothing usable was pressed.
pub const MAX_REPEAT: u8 = 5;

const DEFAULT_TIMEOUT_SECS: u32 = 5;
const DEFAULT_REPEAT: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatherError {
    #[error("gather prompt is empty: leave it out to listen for keys right after the message")]
    EmptyPrompt,
    #[error("gather prompt is longer than {MAX_PROMPT_CHARS} characters")]
    LongPrompt,
    #[error("gather prompt contains a control character (U+{0:04X})")]
    PromptControl(u32),
    #[error("gather keys {0:?}: expected one or more of 0-9 * #, each once")]
    Keys(String),
    #[error("gather digits {0}: expected 1 to {MAX_DIGITS}")]
    Digits(u64),
    #[error("gather finish key {0:?}: expected # or *")]
    FinishKey(String),
    #[error("gather finish key {0:?} is also one of the allowed keys: it could never be an answer")]
    FinishKeyAllowed(char),
    #[error("gather timeout {0} s: expected 1 to {MAX_TIMEOUT_SECS} seconds")]
    Timeout(u64),
    #[error("gather repeat {0}: expected 0 to {MAX_REPEAT}")]
    Repeat(u64),
    #[error(
        "gather answer {0:?}: expected keys the callee can press (allowed keys, at most `digits` of them)"
    )]
    AnswerKeys(String),
    #[error(
        "gather answer label {0:?}: expected 1 to {MAX_LABEL_CHARS} characters, no control characters"
    )]
    Label(String),
}

/// What a sender writes: every field optional, checked by [`Gather::try_from`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatherSpec {
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub keys: Option<String>,
    #[serde(default)]
    pub digits: Option<u64>,
    /// Absent: `#` (as Asterisk's Read); JSON `null` or `""`: no finish key.
    #[serde(default = "default_finish_spec")]
    pub finish_key: Option<String>,
    #[serde(default)]
    pub timeout: Option<u64>,
    #[serde(default)]
    pub repeat: Option<u64>,
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
}

fn default_finish_spec() -> Option<String> {
    Some("#".into())
}

/// Keys to gather after the message: a checked [`GatherSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "GatherSpec", into = "GatherSpec")]
pub struct Gather {
    prompt: Option<String>,
    keys: String,
    digits: u8,
    finish_key: Option<char>,
    timeout_secs: u32,
    repeat: u8,
    answers: BTreeMap<String, String>,
}

impl Gather {
    /// Text read after the message (None: keys are listened for right after it).
    pub fn prompt(&self) -> Option<&str> {
        self.prompt.as_deref()
    }
    /// The keys that count, in the order given (all of 0-9 * # but the finish key when the
    /// sender named none).
    pub fn keys(&self) -> &str {
        &self.keys
    }
    /// The most keys read for one answer (1 for a menu choice).
    pub fn digits(&self) -> u8 {
        self.digits
    }
    /// The key that ends a shorter entry; never part of what is stored as pressed.
    pub fn finish_key(&self) -> Option<char> {
        self.finish_key
    }
    /// Seconds to wait for a key, counted from the end of the prompt.
    pub fn timeout_secs(&self) -> u32 {
        self.timeout_secs
    }
    /// Extra plays of the prompt when nothing usable was pressed.
    pub fn repeat(&self) -> u8 {
        self.repeat
    }
    pub fn answers(&self) -> &BTreeMap<String, String> {
        &self.answers
    }

    /// Whether `pressed` is a usable entry: non-empty, only allowed keys, not too long.
    pub fn accepts(&self, pressed: &str) -> bool {
        !pressed.is_empty()
            && pressed.chars().count() <= self.digits as usize
            && pressed.chars().all(|c| self.keys.contains(c))
    }

    /// The label for `pressed`, when the sender gave one.
    pub fn label(&self, pressed: &str) -> Option<&str> {
        self.answers.get(pressed).map(String::as_str)
    }
}

impl TryFrom<GatherSpec> for Gather {
    type Error = GatherError;

    fn try_from(spec: GatherSpec) -> Result<Self, Self::Error> {
        let prompt = match spec.prompt {
            None => None,
            Some(p) => Some(check_prompt(p)?),
        };
        let finish_key = match spec.finish_key.as_deref() {
            None | Some("") => None,
            Some("#") => Some('#'),
            Some("*") => Some('*'),
            Some(other) => return Err(GatherError::FinishKey(other.into())),
        };
        let keys = match spec.keys {
            Some(k) => {
                let unique = k.chars().all(|c| k.matches(c).count() == 1);
                if k.is_empty() || !unique || !k.chars().all(|c| PHONE_KEYS.contains(c)) {
                    return Err(GatherError::Keys(k));
                }
                if let Some(f) = finish_key.filter(|f| k.contains(*f)) {
                    return Err(GatherError::FinishKeyAllowed(f));
                }
                k
            }
            None => PHONE_KEYS
                .chars()
                .filter(|c| Some(*c) != finish_key)
                .collect(),
        };
        let longest_answer = spec.answers.keys().map(|a| a.chars().count()).max();
        let digits = match spec.digits {
            Some(d) if (1..=MAX_DIGITS as u64).contains(&d) => d as u8,
            Some(d) => return Err(GatherError::Digits(d)),
            None => longest_answer.unwrap_or(1).min(MAX_DIGITS as usize) as u8,
        };
        let timeout_secs = match spec.timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(t) if (1..=MAX_TIMEOUT_SECS as u64).contains(&t) => t as u32,
            Some(t) => return Err(GatherError::Timeout(t)),
        };
        let repeat = match spec.repeat {
            None => DEFAULT_REPEAT,
            Some(r) if r <= MAX_REPEAT as u64 => r as u8,
            Some(r) => return Err(GatherError::Repeat(r)),
        };
        let mut gather = Gather {
            prompt,
            keys,
            digits,
            finish_key,
            timeout_secs,
            repeat,
            answers: BTreeMap::new(),
        };
        for (pressed, label) in spec.answers {
            if !gather.accepts(&pressed) {
                return Err(GatherError::AnswerKeys(pressed));
            }
            let label_ok = !label.trim().is_empty()
                && label.chars().count() <= MAX_LABEL_CHARS
                && !label.chars().any(char::is_control);
            if !label_ok {
                return Err(GatherError::Label(label));
            }
            gather.answers.insert(pressed, label);
        }
        Ok(gather)
    }
}

impl From<Gather> for GatherSpec {
    fn from(g: Gather) -> Self {
        GatherSpec {
            prompt: g.prompt,
            keys: Some(g.keys),
            digits: Some(g.digits as u64),
            finish_key: g.finish_key.map(String::from),
            timeout: Some(g.timeout_secs as u64),
            repeat: Some(g.repeat as u64),
            answers: g.answers,
        }
    }
}

fn check_prompt(p: String) -> Result<String, GatherError> {
    if p.trim().is_empty() {
        return Err(GatherError::EmptyPrompt);
    }
    if p.chars().count() > MAX_PROMPT_CHARS {
        return Err(GatherError::LongPrompt);
    }
    if let Some(c) = p.chars().find(|c| c.is_control()) {
        return Err(GatherError::PromptControl(c as u32));
    }
    Ok(p)
}

/// What to do when an answering machine picks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachinePolicy {
    /// Hang up at once: the message is not left.
    Hangup,
    /// Wait for the greeting (and its beep) to end, then play the message once.
    LeaveMessage,
    /// Detect, record who answered, and go on as with a person.
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("machine policy {0:?}: expected hangup, leave_message or ignore")]
pub struct UnknownMachinePolicy(pub String);

impl MachinePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MachinePolicy::Hangup => "hangup",
            MachinePolicy::LeaveMessage => "leave_message",
            MachinePolicy::Ignore => "ignore",
        }
    }
}

impl fmt::Display for MachinePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MachinePolicy {
    type Err = UnknownMachinePolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hangup" => Ok(MachinePolicy::Hangup),
            "leave_message" => Ok(MachinePolicy::LeaveMessage),
            "ignore" => Ok(MachinePolicy::Ignore),
            other => Err(UnknownMachinePolicy(other.into())),
        }
    }
}

/// What a sender asks of a call beyond playing the message. Empty for a plain call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interactive {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gather: Option<Gather>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachinePolicy>,
}

impl Interactive {
    pub fn is_plain(&self) -> bool {
        self.gather.is_none() && self.machine.is_none()
    }
}

/// Who picked up, as answering-machine detection judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    Human,
    Machine,
    Unknown,
}

impl AnsweredBy {
    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Human => "human",
            AnsweredBy::Machine => "machine",
            AnsweredBy::Unknown => "unknown",
        }
    }

    /// From Asterisk's `AMDSTATUS` (MACHINE, HUMAN, NOTSURE, HANGUP); None for anything else.
    pub fn from_amd_status(status: &str) -> Option<AnsweredBy> {
        match status {
            "HUMAN" => Some(AnsweredBy::Human),
            "MACHINE" => Some(AnsweredBy::Machine),
            // A hangup during detection leaves the question open, as NOTSURE does.
            "NOTSURE" | "HANGUP" => Some(AnsweredBy::Unknown),
            _ => None,
        }
    }
}

impl fmt::Display for AnsweredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnsweredBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(AnsweredBy::Human),
            "machine" => Ok(AnsweredBy::Machine),
            "unknown" => Ok(AnsweredBy::Unknown),
            other => Err(format!(
                "answered_by {other:?}: expected human, machine or unknown"
            )),
        }
    }
}

/// What came back from an interactive call. Empty for a plain call or before an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The keys pressed, as pressed (the finish key left out); Some("") when the callee
    /// pressed only the finish key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
    /// The sender's label for `digits`, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<AnsweredBy>,
    /// When the keys (or, without a gather, the detection's verdict) came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
}

impl Reply {
    pub fn is_empty(&self) -> bool {
        self.digits.is_none() && self.answered_by.is_none()
    }

    /// `digits` pressed for `gather`, labelled by its answers.
    pub fn pressed(gather: &Gather, digits: &str, at: Timestamp) -> Reply {
        Reply {
            digits: Some(digits.to_string()),
            answer: gather.label(digits).map(str::to_string),
            answered_by: None,
            answered_at: Some(at),
        }
    }

    /// Fills what `other` knows and this does not (later reports add to earlier ones).
    pub fn merge(&mut self, other: &Reply) {
        if other.digits.is_some() {
            self.digits = other.digits.clone();
            self.answer = other.answer.clone();
            self.answered_at = other.answered_at.or(self.answered_at);
        }
        if other.answered_by.is_some() {
            self.answered_by = other.answered_by;
        }
        if self.answered_at.is_none() {
            self.answered_at = other.answered_at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(json: &str) -> Result<Gather, String> {
        serde_json::from_str::<Gather>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_menu_of_two_keys() {
        let g = gather(
            r#"{"prompt":"Press 1 to confirm, 2 to cancel.","keys":"12",
                "answers":{"1":"confirmed","2":"cancelled"}}"#,
        )
        .unwrap();
        assert_eq!(g.keys(), "12");
        assert_eq!(g.digits(), 1);
        assert_eq!(g.finish_key(), Some('#'));
        assert_eq!(g.timeout_secs(), 5);
        assert_eq!(g.repeat(), 1);
        assert!(g.accepts("1") && g.accepts("2"));
        assert!(!g.accepts("9") && !g.accepts("") && !g.accepts("12"));
        assert_eq!(g.label("2"), Some("cancelled"));
        assert_eq!(g.label("9"), None);
    }

    #[test]
    fn defaults_allow_every_key_but_the_finish_key() {
        let g = gather(r#"{"digits":4}"#).unwrap();
        assert_eq!(g.keys(), "0123456789*");
        assert!(g.accepts("12*4"));
        assert!(!g.accepts("12345"));
        let none = gather(r#"{"finish_key":null}"#).unwrap();
        assert_eq!(none.keys(), PHONE_KEYS);
        assert_eq!(none.finish_key(), None);
    }

    #[test]
    fn digits_default_to_the_longest_answer() {
        let g = gather(r#"{"answers":{"1":"a","123":"b"},"finish_key":""}"#).unwrap();
        assert_eq!(g.digits(), 3);
    }

    #[test]
    fn refusals_name_the_field() {
        for (json, want) in [
            (r#"{"keys":"1a"}"#, "gather keys"),
            (r#"{"keys":"11"}"#, "gather keys"),
            (r#"{"keys":""}"#, "gather keys"),
            (r#"{"keys":"1#"}"#, "finish key '#'"),
            (r#"{"digits":0}"#, "gather digits 0"),
            (r#"{"digits":21}"#, "gather digits 21"),
            (r#"{"finish_key":"1"}"#, "finish key \"1\""),
            (r#"{"timeout":0}"#, "timeout 0"),
            (r#"{"timeout":61}"#, "timeout 61"),
            (r#"{"repeat":6}"#, "repeat 6"),
            (r#"{"prompt":"  "}"#, "prompt is empty"),
            (r#"{"prompt":"a\nb"}"#, "control character (U+000A)"),
            (
                r#"{"keys":"12","answers":{"3":"x"}}"#,
                "gather answer \"3\"",
            ),
            (r#"{"keys":"12","answers":{"1":""}}"#, "label \"\""),
            (r#"{"keys":"12","answers":{"1":"a\rb"}}"#, "label"),
            (r#"{"kyes":"12"}"#, "unknown field"),
        ] {
            let err = gather(json).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn round_trips_through_json() {
        let g =
            gather(r#"{"prompt":"Press 1.","keys":"1","answers":{"1":"ok"},"finish_key":null}"#)
                .unwrap();
        let back: Gather = serde_json::from_value(serde_json::to_value(&g).unwrap()).unwrap();
        assert_eq!(back, g);
    }

    #[test]
    fn machine_policy_and_answered_by_words() {
        for p in [
            MachinePolicy::Hangup,
            MachinePolicy::LeaveMessage,
            MachinePolicy::Ignore,
        ] {
            assert_eq!(p.as_str().parse::<MachinePolicy>().unwrap(), p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert!("voicemail".parse::<MachinePolicy>().is_err());
        assert_eq!(
            AnsweredBy::from_amd_status("MACHINE"),
            Some(AnsweredBy::Machine)
        );
        assert_eq!(
            AnsweredBy::from_amd_status("NOTSURE"),
            Some(AnsweredBy::Unknown)
        );
        assert_eq!(
            AnsweredBy::from_amd_status("HANGUP"),
            Some(AnsweredBy::Unknown)
        );
        assert_eq!(AnsweredBy::from_amd_status(""), None);
    }

    #[test]
    fn replies_merge_later_reports() {
        let g = gather(r#"{"keys":"12","answers":{"1":"confirmed"}}"#).unwrap();
        let at = Timestamp::UNIX_EPOCH;
        let mut r = Reply {
            answered_by: Some(AnsweredBy::Human),
            answered_at: Some(at),
            ..Reply::default()
        };
        r.merge(&Reply::pressed(&g, "1", at));
        assert_eq!(r.digits.as_deref(), Some("1"));
        assert_eq!(r.answer.as_deref(), Some("confirmed"));
        assert_eq!(r.answered_by, Some(AnsweredBy::Human));
        assert!(!r.is_empty() && Reply::default().is_empty());
    }
}
