//! Arbitrary strings in every field: either the builder refuses, or Asterisk (imitated by an
//! independent reader) sees exactly the intended lines, each value unchanged.

mod common;

use common::{Reader, asterisk_read, intended, nasty_string};
use dialout_callfile::{Action, BuildError, Call, CallFile, Field, LineLimit};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Slot {
    ChannelDest,
    ChannelRaw,
    CallerId,
    VarName,
    VarValue,
    Account,
    Codecs,
    Application,
    Data,
    Context,
    Extension,
}

const SLOTS: [Slot; 11] = [
    Slot::ChannelDest,
    Slot::ChannelRaw,
    Slot::CallerId,
    Slot::VarName,
    Slot::VarValue,
    Slot::Account,
    Slot::Codecs,
    Slot::Application,
    Slot::Data,
    Slot::Context,
    Slot::Extension,
];

fn build(slot: Slot, s: &str, limit: LineLimit, functions: bool) -> Result<CallFile, BuildError> {
    let get = |this: Slot, default: &str| -> String {
        if std::mem::discriminant(&this) == std::mem::discriminant(&slot) {
            s.to_string()
        } else {
            default.to_string()
        }
    };
    let channel = match slot {
        Slot::ChannelDest => format!("SIP/{s}"),
        Slot::ChannelRaw => s.to_string(),
        _ => "SIP/trunk/123".into(),
    };
    let call = Call::builder()
        .channel(channel)
        .callerid(get(Slot::CallerId, "\"A\" <1>"))
        .var(
            get(Slot::VarName, "GREETING"),
            get(Slot::VarValue, "tt-monkeys"),
        )
        .account(get(Slot::Account, "acct"))
        .codecs(get(Slot::Codecs, "ulaw"))
        .wait_time(10)
        .build()?;
    let action = match slot {
        Slot::Context | Slot::Extension => {
            Action::context(get(Slot::Context, "survey"), get(Slot::Extension, "s"), 1)
        }
        _ => Action::application(
            get(Slot::Application, "Playback"),
            get(Slot::Data, "hello-world"),
        ),
    };
    CallFile::builder()
        .call(call)
        .action(action)
        .archive(true)
        .line_limit(limit)
        .allow_set_functions(functions)
        .build()
}

fn field_of(slot: Slot) -> Field {
    match slot {
        Slot::ChannelDest | Slot::ChannelRaw => Field::Channel,
        Slot::CallerId => Field::CallerId,
        Slot::VarName | Slot::VarValue => Field::Variable,
        Slot::Account => Field::Account,
        Slot::Codecs => Field::Codecs,
        Slot::Application => Field::Application,
        Slot::Data => Field::Data,
        Slot::Context => Field::Context,
        Slot::Extension => Field::Extension,
    }
}

fn lower(v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.into_iter()
        .map(|(k, x)| (k.to_ascii_lowercase(), x))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_field_is_refused_or_read_back_exactly(
        slot in prop::sample::select(SLOTS.to_vec()),
        s in nasty_string(40),
        modern in any::<bool>(),
        functions in any::<bool>(),
    ) {
        let limit = if modern { LineLimit::Modern } else { LineLimit::Legacy };
        match build(slot, &s, limit, functions) {
            Err(e) => prop_assert_eq!(e.field(), field_of(slot), "{}", e),
            Ok(cf) => {
                let text = cf.render();
                prop_assert!(text.ends_with('\n'));
                let reader = if modern { Reader::Modern } else { Reader::Legacy };
                prop_assert_eq!(lower(asterisk_read(&text, reader)), intended(&cf), "file:\n{}", text);
                // No line is longer than the limit (newline not counted).
                prop_assert!(text.lines().all(|l| l.len() <= limit.max_bytes()));
            }
        }
    }
}

/// The property above must not pass by refusing everything: these tricky values are kept.
#[test]
fn tricky_but_safe_values_are_accepted_and_read_back() {
    for (slot, s) in [
        (Slot::Data, "a;b"),
        (Slot::Data, "x\\;y"),
        (Slot::Data, "ends with ;"),
        (Slot::Data, ";;"),
        (Slot::Data, "a#b"),
        (Slot::Data, "in\tside"),
        (Slot::VarValue, "#first"),
        (Slot::VarValue, ""),
        (Slot::Account, "acme;eu"),
        (Slot::CallerId, "'Test User' <5555555555>"),
        (Slot::CallerId, "a<b <1>"),
        (Slot::CallerId, "\"Bob;#1\" <+420777123456>"),
        (Slot::Context, "é-ctx"),
    ] {
        let cf = build(slot, s, LineLimit::Legacy, false)
            .unwrap_or_else(|e| panic!("{s:?} refused: {e}"));
        assert_eq!(
            lower(asterisk_read(&cf.render(), Reader::Legacy)),
            intended(&cf),
            "{s:?}"
        );
    }
}

#[test]
fn classic_injections_are_refused_with_the_field_named() {
    let cases = [
        (
            Slot::CallerId,
            "\"Bob\" <1>\nApplication: System\nData: rm -rf /",
        ),
        (Slot::ChannelDest, "trunk/1\rApplication: System"),
        (Slot::Data, "x\u{0}y"),
        (Slot::Data, "hello #world"),
        (Slot::Data, "#hello"),
        (Slot::Account, " padded"),
        (Slot::Account, "padded\t"),
        (Slot::VarName, "FILE(/etc/passwd)"),
        (Slot::VarName, "A B"),
        (Slot::VarValue, "ok\nSet: X=y"),
    ];
    for (slot, s) in cases {
        let e = build(slot, s, LineLimit::Legacy, false).unwrap_err();
        assert_eq!(e.field(), field_of(slot), "{s:?}: {e}");
    }
}
