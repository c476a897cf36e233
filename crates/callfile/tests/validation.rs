//! The value rules, one by one: each refusal names the field and says why.

use dialout_callfile::{Action, BuildError, Call, CallFile, Field, LineLimit};

fn call(channel: &str) -> Result<Call, BuildError> {
    Call::builder().channel(channel).build()
}

fn with(call: Call, action: Action) -> Result<CallFile, BuildError> {
    CallFile::builder().call(call).action(action).build()
}

fn ok_call() -> Call {
    call("SIP/trunk/1").unwrap()
}

fn reason(e: BuildError) -> String {
    e.to_string()
}

#[test]
fn channel_needs_tech_and_destination() {
    assert_eq!(
        Call::builder().build().unwrap_err(),
        BuildError::Missing(Field::Channel)
    );
    for bad in ["SIP", "SIP/", "/123", "S I P/1", "SIP/1 ", "SIP/1\n"] {
        let e = call(bad).unwrap_err();
        assert_eq!(e.field(), Field::Channel, "{bad:?}");
    }
    assert!(call("Local/1000@internal").is_ok());
    assert!(call("PJSIP/flowroute/18002223333").is_ok());
}

#[test]
fn ampersand_channel_is_refused_with_the_working_alternative() {
    let e = call("Local/1000@internal&SIP/flowroute/18002223333").unwrap_err();
    assert_eq!(e.field(), Field::Channel);
    let msg = reason(e);
    assert!(msg.contains("one channel"), "{msg}");
    assert!(
        msg.contains("Local channel") && msg.contains("Dial(A&B)"),
        "{msg}"
    );
}

#[test]
fn callerid_is_kept_as_given_and_parts_are_limited_to_79_bytes() {
    let c = Call::builder()
        .channel("SIP/t/1")
        .callerid("\"Test User\" <5555555555>")
        .build()
        .unwrap();
    assert_eq!(c.callerid(), Some("\"Test User\" <5555555555>"));
    let name79 = "n".repeat(79);
    let num79 = "5".repeat(79);
    assert!(
        Call::builder()
            .channel("SIP/t/1")
            .callerid(format!("\"{name79}\" <{num79}>"))
            .build()
            .is_ok()
    );
    let e = Call::builder()
        .channel("SIP/t/1")
        .callerid(format!("\"{name79}x\" <1>"))
        .build()
        .unwrap_err();
    assert!(e.field() == Field::CallerId && reason(e).contains("name is 80 bytes"));
    let e = Call::builder()
        .channel("SIP/t/1")
        .callerid(format!("Bob <{num79}5>"))
        .build()
        .unwrap_err();
    assert!(e.field() == Field::CallerId && reason(e).contains("number is 80 bytes"));
    let e = Call::builder()
        .channel("SIP/t/1")
        .callerid("1".repeat(80))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), Field::CallerId);
}

#[test]
fn times_and_priority_below_one_are_refused() {
    let b = || Call::builder().channel("SIP/t/1");
    assert_eq!(
        b().wait_time(0).build().unwrap_err().field(),
        Field::WaitTime
    );
    assert_eq!(
        b().retry_time(0).build().unwrap_err().field(),
        Field::RetryTime
    );
    assert!(reason(b().wait_time(0).build().unwrap_err()).contains("at least 1"));
    assert!(
        b().wait_time(1)
            .retry_time(1)
            .max_retries(0)
            .build()
            .is_ok()
    );
    // Asterisk reads a C int: bigger values would wrap negative (a negative MaxRetries expires the file).
    assert_eq!(
        b().max_retries(u32::MAX).build().unwrap_err().field(),
        Field::MaxRetries
    );
    assert_eq!(
        b().wait_time(u32::MAX).build().unwrap_err().field(),
        Field::WaitTime
    );
    let e = with(ok_call(), Action::context("survey", "s", 0)).unwrap_err();
    assert_eq!(e.field(), Field::Priority);
}

#[test]
fn variable_names_are_plain_unless_functions_are_allowed() {
    let b = |n: &str| Call::builder().channel("SIP/t/1").var(n, "1").build();
    for good in ["greeting", "_INHERIT", "__FOREVER", "A1_b"] {
        assert!(b(good).is_ok(), "{good}");
    }
    for bad in ["", "__", "a-b", "a b", "a=b", "é"] {
        assert_eq!(b(bad).unwrap_err().field(), Field::Variable, "{bad:?}");
    }
    let call = b("CDR(userfield)").unwrap();
    assert!(call.sets_functions());
    let e = with(call.clone(), Action::application("Playback", "x")).unwrap_err();
    assert_eq!(e.field(), Field::Variable);
    let why = reason(e);
    assert!(
        why.contains("allow_set_functions") && why.contains("--allow-set-functions"),
        "{why}"
    );
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "x"))
        .allow_set_functions(true)
        .build()
        .unwrap();
    assert!(cf.render().contains("Set: CDR(userfield)=1\n"));
}

#[test]
fn blanks_comments_and_control_characters_are_refused() {
    for (bad, why) in [
        (" lead", "blank"),
        ("trail ", "blank"),
        ("tab\t", "blank"),
        ("a #b", "'#'"),
        ("a\t#b", "'#'"),
        ("#a", "'#'"),
        ("a\nb", "control"),
        ("a\rb", "control"),
        ("a\u{1b}b", "control"),
        ("a\0b", "control"),
    ] {
        let e = Call::builder()
            .channel("SIP/t/1")
            .account(bad)
            .build()
            .unwrap_err();
        assert_eq!(e.field(), Field::Account, "{bad:?}");
        assert!(reason(e).contains(why), "{bad:?}");
    }
}

#[test]
fn semicolons_are_escaped_not_refused() {
    let cf = with(ok_call(), Action::application("Playback", "a;b")).unwrap();
    assert!(cf.render().contains("Data: a\\;b\n"));
}

#[test]
fn application_and_codecs_are_names() {
    assert_eq!(
        with(ok_call(), Action::application("Play back", ""))
            .unwrap_err()
            .field(),
        Field::Application
    );
    assert_eq!(
        with(ok_call(), Action::application("", ""))
            .unwrap_err()
            .field(),
        Field::Application
    );
    assert!(with(ok_call(), Action::application("Hangup", "")).is_ok());
    let b = |c: &str| Call::builder().channel("SIP/t/1").codecs(c).build();
    assert!(b("ulaw,alaw").is_ok());
    for bad in ["", "ulaw,", "ulaw alaw"] {
        assert_eq!(b(bad).unwrap_err().field(), Field::Codecs, "{bad:?}");
    }
}

#[test]
fn early_media_only_with_a_context() {
    let c = Call::builder()
        .channel("SIP/t/1")
        .early_media(true)
        .build()
        .unwrap();
    assert_eq!(
        with(c.clone(), Action::application("Playback", "x"))
            .unwrap_err()
            .field(),
        Field::EarlyMedia
    );
    let cf = with(c, Action::context("survey", "s", 1)).unwrap();
    assert!(cf.render().contains("early_media: yes\n"));
}

#[test]
fn lines_over_255_bytes_need_the_modern_limit() {
    // "Data: " is 6 bytes: 249 bytes of data make a 255-byte line.
    let fits = "d".repeat(249);
    assert!(with(ok_call(), Action::application("Playback", fits.clone())).is_ok());
    let long = "d".repeat(250);
    let e = with(ok_call(), Action::application("Playback", long.clone())).unwrap_err();
    assert!(e.field() == Field::Data && reason(e).contains("13.15"));
    let b = || {
        CallFile::builder()
            .call(ok_call())
            .line_limit(LineLimit::Modern)
    };
    assert!(
        b().action(Action::application("Playback", "d".repeat(1016)))
            .build()
            .is_ok()
    );
    let e = b()
        .action(Action::application("Playback", "d".repeat(1017)))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), Field::Data);
    // The escape counts: 128 ';' render as 256 bytes.
    let e = with(ok_call(), Action::application("Playback", ";".repeat(125))).unwrap_err();
    assert_eq!(e.field(), Field::Data);
    assert_eq!(LineLimit::from_bytes(255), Some(LineLimit::Legacy));
    assert_eq!(LineLimit::from_bytes(1022), Some(LineLimit::Modern));
    assert_eq!(LineLimit::from_bytes(512), None);
}

#[test]
fn filename_mode_user_and_group_are_checked() {
    let b = || {
        CallFile::builder()
            .call(ok_call())
            .action(Action::application("Playback", "x"))
    };
    for bad in ["", ".hidden", "a/b", "..", "a\nb"] {
        assert_eq!(
            b().filename(bad).build().unwrap_err().field(),
            Field::Filename,
            "{bad:?}"
        );
    }
    assert!(b().filename("test.call").build().is_ok());
    for bad in [0o644, 0o604, 0o400, 0o200, 0o4600, 0o666] {
        assert_eq!(
            b().mode(bad).build().unwrap_err().field(),
            Field::Mode,
            "{bad:o}"
        );
    }
    assert!(b().mode(0o660).build().is_ok());
    assert_eq!(b().user("a b").build().unwrap_err().field(), Field::User);
    assert_eq!(b().group("").build().unwrap_err().field(), Field::Group);
    assert_eq!(
        CallFile::builder().call(ok_call()).build().unwrap_err(),
        BuildError::Missing(Field::Action)
    );
}

#[test]
fn render_order_is_pycalls_then_new_keys_before_the_action() {
    let call = Call::builder()
        .channel("SIP/t/1")
        .callerid("Bob <1>")
        .var("A", "1")
        .var("B", "2")
        .account("acct")
        .wait_time(10)
        .retry_time(60)
        .max_retries(2)
        .codecs("ulaw")
        .always_delete(false)
        .early_media(true)
        .build()
        .unwrap();
    let cf = CallFile::builder()
        .call(call)
        .action(Action::context("survey", "s", 1))
        .archive(true)
        .build()
        .unwrap();
    assert_eq!(
        cf.render(),
        "Channel: SIP/t/1\nCallerid: Bob <1>\nSet: A=1\nSet: B=2\nAccount: acct\nWaitTime: 10\nRetryTime: 60\n\
         Maxretries: 2\nCodecs: ulaw\nAlwaysDelete: no\nearly_media: yes\nContext: survey\nExtension: s\n\
         Priority: 1\nArchive: yes\n"
    );
}
