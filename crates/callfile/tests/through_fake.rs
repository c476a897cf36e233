//! Files read by the fake Asterisk (dialout-testkit), which reads them on its own, byte by
//! byte, as `pbx_spool.c` does: every valid file means to it exactly what the builder meant,
//! and a hand-written file with an injected value would be dialed differently.

mod common;

use std::fs;

use common::{CallerIdCase, callfile_with_callerid, intended, nasty_string};
use dialout_callfile::{Action, Call, CallFile, LineLimit, Outcome, parse};
use dialout_testkit::fake_asterisk::{
    Callee, Callees, Disposition, FakeAsterisk, LineMode, Status, read_call_file,
};
use proptest::prelude::*;

/// The fake's understanding of `cf`'s text matches the model, field by field, including what
/// Asterisk cuts only when it dials (application, context, extension, WaitTime * 1000).
/// `parts`: the name and number the caller id was written from, when the test knows them.
fn check(cf: &CallFile, mode: LineMode, parts: Option<&CallerIdCase>) -> Result<(), TestCaseError> {
    let text = cf.render();
    let got = read_call_file(text.as_bytes(), mode);
    prop_assert_eq!(got.validate(), Ok(()));
    prop_assert!(
        got.warnings.is_empty(),
        "warnings: {:?}\n{}",
        got.warnings,
        text
    );
    let lines: Vec<(String, String)> = got
        .lines
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    prop_assert_eq!(lines, intended(cf));
    let c = cf.call();
    prop_assert_eq!(got.channel(), c.channel());
    prop_assert_eq!(&got.variables, &c.variables().to_vec());
    prop_assert_eq!(got.account.as_str(), c.account().unwrap_or(""));
    prop_assert_eq!(got.codecs.as_str(), c.codecs().unwrap_or(""));
    prop_assert_eq!(got.wait_time, c.wait_time().map_or(45, |v| v as i32));
    prop_assert_eq!(
        i64::from(got.dial_timeout_ms()),
        i64::from(c.wait_time().unwrap_or(45)) * 1000
    );
    match (c.callerid(), &got.caller_id) {
        (None, None) => {}
        (Some(written), Some(read)) => {
            let (name, number) = (read.name.as_str(), read.number.as_str());
            if let Some(p) = parts {
                prop_assert_eq!(written, p.value.as_str());
                prop_assert_eq!((name, number), (p.name.as_str(), p.number.as_str()));
            }
            // Whatever the value, it is one of the accepted spellings of what the fake read.
            prop_assert!(
                spellings(name, number).contains(&written.to_string()),
                "{:?} read as name {:?} number {:?}",
                written,
                name,
                number
            );
        }
        (w, r) => prop_assert!(false, "callerid {:?} read as {:?}", w, r),
    }
    prop_assert_eq!(got.retry_time, c.retry_time().map_or(300, |v| v as i32));
    prop_assert_eq!(got.max_retries, c.max_retries().map_or(0, |v| v as i32));
    prop_assert_eq!(got.always_delete, c.always_delete().unwrap_or(true));
    prop_assert_eq!(got.early_media, c.early_media().unwrap_or(false));
    prop_assert_eq!(got.archive, cf.archive());
    match cf.action() {
        Action::Application { app, data } => {
            prop_assert!(got.uses_application());
            prop_assert_eq!(&got.application, app);
            prop_assert_eq!(&got.dialed_application(), app);
            prop_assert_eq!(&got.data, data);
        }
        Action::Context {
            context,
            extension,
            priority,
        } => {
            prop_assert!(!got.uses_application());
            prop_assert_eq!(&got.context, context);
            prop_assert_eq!(&got.extension, extension);
            prop_assert_eq!(&got.dialed_context(), context);
            prop_assert_eq!(&got.dialed_extension(), extension);
            prop_assert_eq!(got.priority, *priority as i32);
        }
    }
    Ok(())
}

/// The accepted forms of a caller id with this name and number (the builder's contract).
fn spellings(name: &str, number: &str) -> Vec<String> {
    let mut v = vec![
        format!("\"{name}\" <{number}>"),
        format!("\"{name}\"<{number}>"),
        format!("{name} <{number}>"),
        format!("{name}<{number}>"),
    ];
    if name.is_empty() {
        v.push(number.to_string());
    }
    if number.is_empty() {
        v.push(name.to_string());
        v.push(format!("\"{name}\""));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_valid_file_means_to_the_fake_what_the_builder_meant(
        (cf, parts) in callfile_with_callerid()
    ) {
        check(&cf, LineMode::Modern, parts.as_ref())?;
        if cf.line_limit() == LineLimit::Legacy {
            check(&cf, LineMode::Old, parts.as_ref())?;
        }
    }

    #[test]
    fn arbitrary_values_are_refused_or_read_exactly_by_the_fake(
        data in nasty_string(40),
        callerid in nasty_string(30),
        value in nasty_string(30),
    ) {
        let call = Call::builder().channel("PJSIP/555").callerid(callerid).var("DIALOUT_ID", value).build();
        let Ok(call) = call else { return Ok(()) };
        let Ok(cf) = CallFile::builder().call(call).action(Action::application("Playback", data)).build() else {
            return Ok(());
        };
        check(&cf, LineMode::Old, None)?;
        check(&cf, LineMode::Modern, None)?;
    }
}

#[test]
fn a_spooled_file_is_dialed_archived_and_its_result_parsed() {
    let root = tempfile::tempdir().unwrap();
    let outgoing = root.path().join("outgoing");
    fs::create_dir(&outgoing).unwrap();
    let mut fake = FakeAsterisk::builder(&outgoing)
        .callees(Callees::new(Callee::answers()).exact("PJSIP/busy", Callee::busy()))
        .build()
        .unwrap();
    let spool = |channel: &str| {
        let call = Call::builder()
            .channel(channel)
            .var("DIALOUT_ID", "m;1")
            .max_retries(1)
            .retry_time(60)
            .build()
            .unwrap();
        CallFile::builder()
            .call(call)
            .action(Action::application("NoOp", "hello; world"))
            .archive(true)
            .spool_dir(&outgoing)
            .build()
            .unwrap()
            .spool(None)
            .unwrap()
    };
    let answered = spool("PJSIP/555");
    let busy = spool("PJSIP/busy");
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert!(obs.warnings.is_empty(), "{:?}", obs.warnings);

    let name = |p: &std::path::Path| p.file_name().unwrap().to_str().unwrap().to_string();
    let answered_name = name(&answered);
    let a: Vec<_> = obs.attempts_of(&answered_name).collect();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].channel, "PJSIP/555");
    assert_eq!(
        (a[0].apps[0].app.as_str(), a[0].apps[0].data.as_str()),
        ("NoOp", "hello; world")
    );
    assert_eq!(
        a[0].variables.get("DIALOUT_ID").map(String::as_str),
        Some("m;1")
    );
    assert_eq!(
        obs.attempts_of(&name(&busy)).count(),
        2,
        "MaxRetries 1: two attempts"
    );
    // The fake staging subdirectory is never taken as a call.
    assert_eq!(obs.dials.len(), 2, "{:?}", obs.dials);

    let done = root.path().join("outgoing_done");
    for (path, status, outcome) in [
        (&answered, Status::Completed, Outcome::Completed),
        (&busy, Status::Expired, Outcome::Expired),
    ] {
        let end = obs.ends.iter().find(|e| e.file_name == name(path)).unwrap();
        assert_eq!(
            (end.status, end.disposition),
            (status, Disposition::Archived)
        );
        let archived = fs::read_to_string(done.join(name(path))).unwrap();
        let parsed = parse(&archived).unwrap();
        assert_eq!(parsed.status, Some(outcome));
        assert!(!parsed.attempts.is_empty());
        assert_eq!(
            parsed.call.variables(),
            [("DIALOUT_ID".to_string(), "m;1".to_string())]
        );
    }
}

#[test]
fn an_injected_value_in_a_hand_written_file_is_dialed_differently() {
    let root = tempfile::tempdir().unwrap();
    let outgoing = root.path().join("outgoing");
    fs::create_dir(&outgoing).unwrap();
    let mut fake = FakeAsterisk::builder(&outgoing)
        .callees(Callees::new(Callee::answers()))
        .build()
        .unwrap();
    // Values from outside, e.g. a web form: the caller id carries another Channel (it comes
    // after the Channel line, so it wins), the data another Application (the last line wins).
    let evil_callerid = "\"Bob\" <555>\nChannel: PJSIP/900123456";
    let evil_data = "hello\nApplication: System\nData: touch /tmp/owned";

    // dialout refuses both values, naming the field...
    let e = Call::builder()
        .channel("PJSIP/555")
        .callerid(evil_callerid)
        .build()
        .unwrap_err();
    assert_eq!(e.field(), dialout_callfile::Field::CallerId);
    let call = Call::builder().channel("PJSIP/555").build().unwrap();
    let e = CallFile::builder()
        .call(call)
        .action(Action::application("NoOp", evil_data))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), dialout_callfile::Field::Data);
    // ... and keeps what only looks like syntax (';', '#' not after a blank) as data.
    let call = Call::builder()
        .channel("PJSIP/555")
        .callerid("\"Bob;#1\" <555>")
        .build()
        .unwrap();
    let safe = CallFile::builder()
        .call(call)
        .action(Action::application("NoOp", "a;b#c"))
        .spool_dir(&outgoing)
        .build()
        .unwrap();
    let safe_path = safe.spool(None).unwrap();

    // A writer that pastes the values in, in pycall's order, gets another call.
    let hand = format!(
        "Channel: PJSIP/555\nCallerid: {evil_callerid}\nApplication: NoOp\nData: {evil_data}\n"
    );
    fs::write(root.path().join("hand.call"), hand).unwrap();
    fs::rename(root.path().join("hand.call"), outgoing.join("hand.call")).unwrap();
    fake.run_until_idle().unwrap();
    let obs = fake.observations();

    let hand_attempt = obs.attempts_of("hand.call").next().unwrap();
    assert_eq!(
        hand_attempt.channel, "PJSIP/900123456",
        "another number is dialed"
    );
    assert_eq!(
        (
            hand_attempt.apps[0].app.as_str(),
            hand_attempt.apps[0].data.as_str()
        ),
        ("System", "touch /tmp/owned"),
        "another application runs"
    );

    let safe_name = safe_path.file_name().unwrap().to_str().unwrap();
    let a = obs.attempts_of(safe_name).next().unwrap();
    assert_eq!(a.channel, "PJSIP/555");
    assert_eq!(
        (a.apps[0].app.as_str(), a.apps[0].data.as_str()),
        ("NoOp", "a;b#c")
    );
    assert_eq!(a.call_file.caller_id.as_ref().unwrap().name, "Bob;#1");
}
