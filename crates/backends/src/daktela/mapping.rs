//! From a Daktela record (its `action` digit and first status name) to a message state.
//!
//! As pymess: the first status name through the configured mapping when there is one, else
//! the action 0–6 to the state with that code; a record is final when its action is 5.

use std::collections::BTreeMap;

use dialout_model::state::State;

/// What to do with a first status name that the mapping does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownStatus {
    /// Use the action's state and warn (the default).
    KeepAction,
    /// Leave the message as it is and warn.
    Skip,
    /// Count a failed status check against the message.
    FailCheck,
}

impl UnknownStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keep_action" => Some(UnknownStatus::KeepAction),
            "skip" => Some(UnknownStatus::Skip),
            "fail_check" => Some(UnknownStatus::FailCheck),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mapping {
    statuses: BTreeMap<String, State>,
    actions: [State; 7],
    unknown_status: UnknownStatus,
}

/// The action Daktela writes when the dialer is done with a record.
pub const ACTION_DONE: &str = "5";

#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    State {
        state: State,
        is_final: bool,
        warning: Option<String>,
    },
    /// Leave the message unchanged; the text is a warning.
    Skip(String),
    /// A failed check for this message; the text says why.
    Fail(String),
}

impl Mapping {
    /// `entries` keys are action digits `0`–`6` (overriding the identity) or status names.
    pub fn new(entries: BTreeMap<String, State>, unknown_status: UnknownStatus) -> Self {
        let mut actions = [
            State::NotAssigned,
            State::Ready,
            State::RescheduledByDialer,
            State::CallInProgress,
            State::Hangup,
            State::Done,
            State::Rescheduled,
        ];
        let mut statuses = BTreeMap::new();
        for (k, v) in entries {
            match k.parse::<usize>() {
                Ok(d) if d < actions.len() && k.len() == 1 => actions[d] = v,
                _ => {
                    statuses.insert(k, v);
                }
            }
        }
        Mapping {
            statuses,
            actions,
            unknown_status,
        }
    }

    pub fn status(&self, name: &str) -> Option<State> {
        self.statuses.get(name).copied()
    }

    pub fn action(&self, digit: &str) -> Option<State> {
        match digit.trim().parse::<usize>() {
            Ok(d) if d < self.actions.len() => Some(self.actions[d]),
            _ => None,
        }
    }

    /// `action` as Daktela sends it (a digit string; None when absent), `first_status` the
    /// name of the record's first status, if it has one.
    pub fn map(&self, action: Option<&str>, first_status: Option<&str>) -> Mapped {
        let is_final = action.map(str::trim) == Some(ACTION_DONE);
        let by_action = action.and_then(|a| self.action(a));
        let action_text = action.unwrap_or("(none)");
        match first_status {
            Some(name) => match self.status(name) {
                Some(state) => Mapped::State {
                    state,
                    is_final,
                    warning: None,
                },
                None => {
                    let what = format!("status {name:?} is not in states_mapping");
                    match (self.unknown_status, by_action) {
                        (UnknownStatus::KeepAction, Some(state)) => Mapped::State {
                            state,
                            is_final,
                            warning: Some(format!(
                                "{what}; kept the state of action {action_text} ({state})"
                            )),
                        },
                        (UnknownStatus::Skip, _) => {
                            Mapped::Skip(format!("{what}; message left unchanged"))
                        }
                        (UnknownStatus::FailCheck, _) => Mapped::Fail(what),
                        (UnknownStatus::KeepAction, None) => Mapped::Fail(format!(
                            "{what} and action {action_text:?} is not a digit 0-6"
                        )),
                    }
                }
            },
            None => match by_action {
                Some(state) => Mapped::State {
                    state,
                    is_final,
                    warning: None,
                },
                None => Mapped::Fail(format!(
                    "record has no status and its action {action_text:?} is not a digit 0-6"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(unknown: UnknownStatus) -> Mapping {
        let entries = BTreeMap::from([
            ("statuses_ok".to_string(), State::AnsweredComplete),
            ("2".to_string(), State::Rescheduled),
        ]);
        Mapping::new(entries, unknown)
    }

    fn state(m: Mapped) -> (State, bool) {
        match m {
            Mapped::State {
                state, is_final, ..
            } => (state, is_final),
            other => panic!("expected a state, got {other:?}"),
        }
    }

    #[test]
    fn pymess_rules() {
        let m = mapping(UnknownStatus::KeepAction);
        assert_eq!(
            state(m.map(Some("3"), None)),
            (State::CallInProgress, false)
        );
        assert_eq!(
            state(m.map(Some("5"), Some("statuses_ok"))),
            (State::AnsweredComplete, true)
        );
        assert_eq!(state(m.map(Some("5"), None)), (State::Done, true));
        assert_eq!(state(m.map(Some("6"), None)), (State::Rescheduled, false));
        assert_eq!(state(m.map(Some("4"), None)), (State::Hangup, false));
        // An overridden action digit.
        assert_eq!(state(m.map(Some("2"), None)), (State::Rescheduled, false));
    }

    #[test]
    fn unknown_status_policies() {
        let keep = mapping(UnknownStatus::KeepAction).map(Some("4"), Some("statuses_new"));
        match keep {
            Mapped::State {
                state,
                warning: Some(w),
                ..
            } => {
                assert_eq!(state, State::Hangup);
                assert!(w.contains("statuses_new"), "{w}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            mapping(UnknownStatus::Skip).map(Some("4"), Some("x")),
            Mapped::Skip(_)
        ));
        assert!(matches!(
            mapping(UnknownStatus::FailCheck).map(Some("4"), Some("x")),
            Mapped::Fail(_)
        ));
        assert!(matches!(
            mapping(UnknownStatus::KeepAction).map(Some("9"), None),
            Mapped::Fail(_)
        ));
        assert!(matches!(
            mapping(UnknownStatus::KeepAction).map(None, None),
            Mapped::Fail(_)
        ));
    }
}
