//! The callees of the interactive-call tests, shared by the call-file and the AMI backend:
//! each with what it does (in seconds after the answer) and the state, keys, answer and
//! verdict it must end with. Both fakes play a 2 s message and a 2 s prompt, so the times
//! line up: with a machine policy AMD says HUMAN at 1.916, the message plays to 3.916 and
//! the first Read's prompt to 5.916, its 5 s timeout ending at 10.916; without one, Wait(1)
//! and the message end at 3.0.
#![allow(dead_code)]

use dialout_dialer::{Message, NewMessage, PhoneNumber, State};
use dialout_model::interactive::{AnsweredBy, Gather, Interactive, MachinePolicy};
use dialout_testkit::fake_asterisk::Party;

pub struct Case {
    pub name: &'static str,
    pub number: &'static str,
    pub party: Party,
    pub hangup_after: Option<f64>,
    pub ask: Interactive,
    pub state: State,
    pub digits: Option<&'static str>,
    pub answer: Option<&'static str>,
    pub answered_by: Option<AnsweredBy>,
}

fn menu() -> Gather {
    serde_json::from_str(
        r#"{"prompt":"Press 1 to confirm, 2 to cancel.","keys":"12","repeat":1,"timeout":5,
            "answers":{"1":"confirmed","2":"cancelled"}}"#,
    )
    .unwrap()
}

fn ask(machine: Option<MachinePolicy>, gather: Option<Gather>) -> Interactive {
    Interactive { gather, machine }
}

pub fn cases() -> Vec<Case> {
    use AnsweredBy::*;
    use MachinePolicy::*;
    let person = |keys: &[(f64, char)]| Party::person(keys);
    let human = |name, number, keys: &[(f64, char)], digits, answer| Case {
        name,
        number,
        party: person(keys),
        hangup_after: None,
        ask: ask(Some(Ignore), Some(menu())),
        state: State::AnsweredComplete,
        digits,
        answer,
        answered_by: Some(Human),
    };
    vec![
        human(
            "presses 1 during the prompt",
            "+420777100001",
            &[(4.5, '1')],
            Some("1"),
            Some("confirmed"),
        ),
        human(
            "presses 2 after the prompt",
            "+420777100002",
            &[(7.0, '2')],
            Some("2"),
            Some("cancelled"),
        ),
        human("presses nothing", "+420777100003", &[], None, None),
        human(
            "a wrong key, then the prompt again and a right one",
            "+420777100004",
            &[(4.5, '9'), (7.5, '1')],
            Some("1"),
            Some("confirmed"),
        ),
        human(
            "only wrong keys",
            "+420777100005",
            &[(4.5, '9'), (6.0, '9')],
            Some("9"),
            None,
        ),
        human(
            "a key during the message is lost",
            "+420777100006",
            &[(2.5, '1')],
            None,
            None,
        ),
        Case {
            name: "hangs up during the prompt",
            number: "+420777100007",
            party: person(&[]),
            hangup_after: Some(5.0),
            ask: ask(Some(Ignore), Some(menu())),
            state: State::AnsweredComplete,
            digits: None,
            answer: None,
            answered_by: Some(Human),
        },
        Case {
            name: "an answering machine, policy hangup",
            number: "+420777100008",
            party: Party::Machine { greeting: 8.0 },
            hangup_after: None,
            ask: ask(Some(Hangup), Some(menu())),
            state: State::AnsweredPartial,
            digits: None,
            answer: None,
            answered_by: Some(Machine),
        },
        Case {
            name: "an answering machine, policy leave_message",
            number: "+420777100009",
            party: Party::Machine { greeting: 8.0 },
            hangup_after: None,
            ask: ask(Some(LeaveMessage), Some(menu())),
            state: State::AnsweredComplete,
            digits: None,
            answer: None,
            answered_by: Some(Machine),
        },
        Case {
            name: "no policy, a partial entry that times out keeps its digits",
            number: "+420777100010",
            party: person(&[(3.5, '1'), (3.9, '2')]),
            hangup_after: None,
            ask: ask(
                None,
                Some(serde_json::from_str(r#"{"prompt":"Your code?","digits":4}"#).unwrap()),
            ),
            state: State::AnsweredComplete,
            digits: Some("12"),
            answer: None,
            answered_by: None,
        },
        Case {
            name: "hangs up during detection",
            number: "+420777100011",
            party: person(&[]),
            hangup_after: Some(1.0),
            ask: ask(Some(Ignore), Some(menu())),
            state: State::AnsweredPartial,
            digits: None,
            answer: None,
            answered_by: Some(Unknown),
        },
    ]
}

pub fn message(case: &Case, backend: &str) -> Message {
    let mut new = NewMessage::new(
        PhoneNumber::from_e164(case.number).unwrap(),
        "Your appointment is tomorrow at ten.",
        backend,
    );
    new.interactive = case.ask.clone();
    Message::waiting(&new, jiff::Timestamp::now())
}

/// Asserts the final state and reply of `m`, the message of `case`.
pub fn check(case: &Case, m: &Message) {
    let n = case.name;
    assert!(m.is_final_state, "{n}: not final ({:?})", m.state);
    assert_eq!(m.state, case.state, "{n}: {:?}", m.error);
    assert_eq!(m.reply.digits.as_deref(), case.digits, "{n}");
    assert_eq!(m.reply.answer.as_deref(), case.answer, "{n}");
    assert_eq!(m.reply.answered_by, case.answered_by, "{n}");
    // A hang-up during detection leaves no verdict and so no time.
    let verdict = matches!(
        case.answered_by,
        Some(AnsweredBy::Human | AnsweredBy::Machine)
    );
    if case.digits.is_some() || verdict {
        assert!(m.reply.answered_at.is_some(), "{n}: answered_at");
    }
}
