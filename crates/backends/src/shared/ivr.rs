//! Interactive calls on Asterisk, for both Asterisk backends: the channel variables the
//! shipped dialplans read (`DIALOUT_MACHINE`, `DIALOUT_GATHER`, ...) and what the results of
//! `AMD()` and `Read()` mean as a [`Reply`].
//!
//! Every value here comes from a checked [`Interactive`] (policy words, phone keys, numbers)
//! or from dialout itself (an audio path): nothing a sender typed reaches a variable. The
//! prompt's text goes to the speech engine, never into a call file or an Originate.

use dialout_model::interactive::{AnsweredBy, Interactive, Reply};
use jiff::Timestamp;

/// The extension interactive messages start at; plain messages keep `s`.
pub const IVR_EXTEN: &str = "ivr";

/// The extension a message starts at in the shipped dialplans.
pub fn exten(ask: &Interactive) -> &'static str {
    if ask.is_plain() { "s" } else { IVR_EXTEN }
}

/// The variables for `ask`; `prompt` is where Asterisk reads the prompt's audio (as
/// `DIALOUT_AUDIO`). Empty for a plain message.
pub fn variables(ask: &Interactive, prompt: Option<&str>) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(m) = ask.machine {
        v.push(("DIALOUT_MACHINE", m.as_str().to_string()));
    }
    if let Some(g) = &ask.gather {
        v.push(("DIALOUT_GATHER", (u32::from(g.repeat()) + 1).to_string()));
        if let Some(p) = prompt {
            v.push(("DIALOUT_PROMPT", p.to_string()));
        }
        v.push(("DIALOUT_DIGITS", g.digits().to_string()));
        v.push(("DIALOUT_KEYS", g.keys().to_string()));
        if let Some(f) = g.finish_key() {
            v.push(("DIALOUT_FINISH", f.to_string()));
        }
        v.push(("DIALOUT_TIMEOUT", g.timeout_secs().to_string()));
    }
    v
}

/// One `Read()` as the dialplan reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub at: i64,
    pub try_no: u32,
    pub status: String,
    pub digits: String,
}

/// What the dialplan reported of one call's detection and keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IvrReport {
    /// `(epoch, AMDSTATUS, AMDCAUSE)`.
    pub amd: Option<(i64, String, String)>,
    /// The last `Read()`.
    pub read: Option<ReadResult>,
}

impl IvrReport {
    /// The reply for `ask`. `answered_ended`: the call was answered and is over, so a
    /// policy without a verdict means the callee hung up during detection (`HANGUP`, after
    /// which the dialplan writes nothing).
    pub fn reply(&self, ask: &Interactive, answered_ended: bool) -> Reply {
        let mut r = Reply::default();
        if let Some((at, status, _)) = &self.amd {
            r.answered_by = AnsweredBy::from_amd_status(status);
            r.answered_at = Timestamp::from_second(*at).ok();
        } else if ask.machine.is_some() && answered_ended {
            r.answered_by = Some(AnsweredBy::Unknown);
        }
        if let (Some(g), Some(read)) = (&ask.gather, &self.read) {
            // READSTATUS HANGUP leaves DIGITS unset: nothing was entered.
            let entered = read.status == "OK" || !read.digits.is_empty();
            if entered {
                let at = Timestamp::from_second(read.at).unwrap_or(Timestamp::UNIX_EPOCH);
                let mut pressed = Reply::pressed(g, &read.digits, at);
                if !g.accepts(&read.digits) {
                    // A key outside `keys` counts as no answer: kept as pressed, no label.
                    pressed.answer = None;
                }
                r.merge(&pressed);
            }
        }
        r
    }

    /// The sender data to keep beside the reply (Asterisk's own words).
    pub fn sender_data(&self) -> dialout_model::message::JsonMap {
        let mut d = dialout_model::message::JsonMap::new();
        if let Some((_, status, cause)) = &self.amd {
            d.insert("amd_status".into(), status.clone().into());
            d.insert("amd_cause".into(), cause.clone().into());
        }
        if let Some(r) = &self.read {
            d.insert("read_status".into(), r.status.clone().into());
            d.insert("read_tries".into(), r.try_no.into());
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_model::interactive::{Gather, MachinePolicy};

    fn ask(gather: &str, machine: Option<MachinePolicy>) -> Interactive {
        Interactive {
            gather: Some(serde_json::from_str::<Gather>(gather).unwrap()),
            machine,
        }
    }

    #[test]
    fn variables_hold_only_checked_words_and_numbers() {
        let a = ask(
            r#"{"prompt":"Press 1","keys":"12","repeat":2,"answers":{"1":"yes"}}"#,
            Some(MachinePolicy::LeaveMessage),
        );
        let v = variables(&a, Some("/a/p"));
        let get = |k: &str| v.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("DIALOUT_MACHINE"), Some("leave_message"));
        assert_eq!(get("DIALOUT_GATHER"), Some("3"));
        assert_eq!(get("DIALOUT_PROMPT"), Some("/a/p"));
        assert_eq!(get("DIALOUT_KEYS"), Some("12"));
        assert_eq!(get("DIALOUT_FINISH"), Some("#"));
        assert_eq!(get("DIALOUT_TIMEOUT"), Some("5"));
        assert_eq!(exten(&a), "ivr");
        assert_eq!(exten(&Interactive::default()), "s");
        assert!(variables(&Interactive::default(), None).is_empty());
    }

    #[test]
    fn reads_become_replies() {
        let a = ask(
            r#"{"keys":"12","answers":{"1":"yes"}}"#,
            Some(MachinePolicy::Ignore),
        );
        let read = |status: &str, digits: &str| IvrReport {
            amd: Some((10, "HUMAN".into(), "HUMAN-816-800".into())),
            read: Some(ReadResult {
                at: 20,
                try_no: 1,
                status: status.into(),
                digits: digits.into(),
            }),
        };
        let r = read("OK", "1").reply(&a, true);
        assert_eq!(r.digits.as_deref(), Some("1"));
        assert_eq!(r.answer.as_deref(), Some("yes"));
        assert_eq!(r.answered_by, Some(AnsweredBy::Human));
        let wrong = read("OK", "9").reply(&a, true);
        assert_eq!((wrong.digits.as_deref(), wrong.answer), (Some("9"), None));
        let none = read("TIMEOUT", "").reply(&a, true);
        assert_eq!(none.digits, None);
        let hung = read("HANGUP", "").reply(&a, true);
        assert_eq!(hung.digits, None);
        let finish_only = read("OK", "").reply(&a, true);
        assert_eq!(finish_only.digits.as_deref(), Some(""));
        let during_amd = IvrReport::default().reply(&a, true);
        assert_eq!(during_amd.answered_by, Some(AnsweredBy::Unknown));
        assert_eq!(IvrReport::default().reply(&a, false).answered_by, None);
    }
}
