//! Callees, the dialplan subset and Playback: the reference's "Finer outcomes come from the
//! dialplan" and "Audio for Playback".

mod fake_asterisk_support;

use std::fs;
use std::time::Duration;

use dialout_testkit::fake_asterisk::{
    AttemptOutcome, Callee, Callees, Dialplan, DialplanError, FakeAsterisk, Status, reason,
};
use fake_asterisk_support::{SHIPPED, Spool, T0, message_call, wav};

fn ms(secs: i64) -> i64 {
    secs * 1000
}

struct Msg {
    spool: Spool,
    report: std::path::PathBuf,
    audio: std::path::PathBuf,
}

/// A spool, the shipped dialplan, a report file and a 10-second message.
fn message_setup() -> Msg {
    let spool = Spool::new();
    fs::write(spool.path("extensions.conf"), SHIPPED).unwrap();
    let audio = spool.path("msg");
    wav(&spool.path("msg.wav"), 10.0, 8000);
    Msg {
        report: spool.path("report.log"),
        audio,
        spool,
    }
}

fn fake(m: &Msg, callees: Callees) -> FakeAsterisk {
    FakeAsterisk::builder(&m.spool.outgoing)
        .start_at_unix(T0)
        .dialplan_file(m.spool.path("extensions.conf"))
        .unwrap()
        .callees(callees)
        .build()
        .unwrap()
}

fn report(m: &Msg) -> String {
    fs::read_to_string(&m.report).unwrap_or_default()
}

#[test]
fn shipped_dialplan_writes_report_lines() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    m.spool.spool(
        "m1.call",
        &message_call("PJSIP/100", "m1", &m.report, &m.audio, "Archive: yes\n"),
    );
    fake.run_until_idle().unwrap();
    // Answer after 1 s of ringing, 10 s of audio.
    assert_eq!(
        report(&m),
        format!("{} m1 answered 1\n{} m1 complete 1\n", T0 + 1, T0 + 11)
    );
    let a = &fake.observations().attempts[0];
    let apps: Vec<&str> = a.apps.iter().map(|r| r.app.as_str()).collect();
    assert_eq!(apps, ["Answer", "Set", "Playback", "Set", "Hangup", "NoOp"]);
    assert_eq!(a.apps[5].exten, "h");
    assert_eq!(a.apps[5].data, "hangup m1", "h sees the Set: variables");
    assert_eq!(
        a.apps[2].ended - a.apps[2].started,
        10_000,
        "Playback lasts as long as the audio"
    );
    assert!(
        fake.observations().errors().is_empty(),
        "{:?}",
        fake.observations().errors()
    );
    assert!(
        m.spool
            .archived("m1.call")
            .unwrap()
            .ends_with("Status: Completed\n")
    );
}

#[test]
fn h_runs_after_callee_hangs_up_mid_playback() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers_then_hangs_up(4.0)));
    m.spool.spool(
        "m2.call",
        &message_call("PJSIP/100", "m2", &m.report, &m.audio, "Archive: yes\n"),
    );
    fake.run_until_idle().unwrap();
    assert_eq!(
        report(&m),
        format!("{} m2 answered 1\n", T0 + 1),
        "no `complete` line"
    );
    let a = &fake.observations().attempts[0];
    let playback = a.apps.iter().find(|r| r.app == "Playback").unwrap();
    assert!(playback.interrupted);
    assert_eq!(playback.ended, ms(T0 + 5), "cut when the callee hung up");
    let last = a.apps.last().unwrap();
    assert_eq!((last.exten.as_str(), last.app.as_str()), ("h", "NoOp"));
    assert!(
        m.spool
            .archived("m2.call")
            .unwrap()
            .ends_with("Status: Completed\n"),
        "answered is Completed"
    );
}

#[test]
fn failed_extension_runs_on_every_failed_attempt() {
    let m = message_setup();
    let callees = Callees::new(Callee::answers()).exact_sequence(
        "PJSIP/7",
        vec![Callee::busy(), Callee::no_answer(), Callee::congestion()],
    );
    let mut fake = fake(&m, callees);
    let extra = "MaxRetries: 2\nRetryTime: 100\nWaitTime: 30\nAccount: acct-9\nArchive: yes\n";
    m.spool.spool(
        "f.call",
        &message_call("PJSIP/7", "f", &m.report, &m.audio, extra),
    );
    fake.run_until_idle().unwrap();
    assert_eq!(
        report(&m),
        format!(
            "{} f failed 1 5\n{} f failed 2 3\n{} f failed 3 8\n",
            T0 + 2,
            T0 + 130,
            T0 + 201
        )
    );
    let obs = fake.observations();
    let failed_app = &obs.attempts[0].apps[0];
    assert_eq!(
        (failed_app.channel.as_str(), failed_app.exten.as_str()),
        ("OutgoingSpoolFailed", "failed")
    );
    assert_eq!(
        obs.attempts[2].outcome,
        AttemptOutcome::Failed(reason::CONGESTION)
    );
    assert_eq!(obs.attempts[0].call_file.account, "acct-9");
    assert!(
        m.spool
            .archived("f.call")
            .unwrap()
            .ends_with("Status: Expired\n")
    );
}

#[test]
fn callee_sequence_busy_then_answer() {
    let m = message_setup();
    let callees = Callees::new(Callee::unreachable())
        .exact_sequence("PJSIP/8", vec![Callee::busy(), Callee::answers()]);
    let mut fake = fake(&m, callees);
    m.spool.spool(
        "s.call",
        &message_call(
            "PJSIP/8",
            "s",
            &m.report,
            &m.audio,
            "MaxRetries: 3\nRetryTime: 60\nArchive: yes\n",
        ),
    );
    fake.run_until_idle().unwrap();
    assert_eq!(
        report(&m),
        format!(
            "{} s failed 1 5\n{} s answered 2\n{} s complete 2\n",
            T0 + 2,
            T0 + 61,
            T0 + 71
        )
    );
    assert_eq!(fake.observations().dials["s.call"], 2);
}

#[test]
fn reason_codes_per_callee() {
    let m = message_setup();
    let callees = Callees::new(Callee::answers())
        .exact("PJSIP/busy", Callee::busy())
        .exact("PJSIP/none", Callee::no_answer())
        .exact("PJSIP/cong", Callee::congestion())
        .exact("PJSIP/rej", Callee::rejects())
        .exact("PJSIP/down", Callee::unreachable())
        .matching(
            |c| c.ends_with("/slow"),
            Callee::Answers {
                ring: 50.0,
                hangup_after: None,
            },
        );
    let mut fake = fake(&m, callees);
    let cases = [
        ("busy", "PJSIP/busy", 5),
        ("none", "PJSIP/none", 3),
        ("cong", "PJSIP/cong", 8),
        ("rej", "PJSIP/rej", 1),
        ("down", "PJSIP/down", 0),
        ("tech", "Nope/1", 0),
        ("slow", "PJSIP/slow", 3),
    ];
    for (id, ch, _) in cases {
        m.spool.spool(
            id,
            &message_call(ch, id, &m.report, &m.audio, "WaitTime: 40\n"),
        );
    }
    fake.run_until_idle().unwrap();
    let text = report(&m);
    for (id, _, code) in cases {
        assert!(
            text.lines()
                .any(|l| l.ends_with(&format!(" {id} failed 1 {code}"))),
            "{id}: {text}"
        );
        let a = fake.observations().attempts_of(id).next().unwrap();
        assert_eq!(a.outcome, AttemptOutcome::Failed(code), "{id}");
    }
    let none = fake.observations().attempts_of("none").next().unwrap();
    assert_eq!(none.ended, Some(ms(T0 + 40)), "rang until WaitTime");
    let slow = fake.observations().attempts_of("slow").next().unwrap();
    assert_eq!(
        slow.ended,
        Some(ms(T0 + 40)),
        "answering after WaitTime is no answer"
    );
}

#[test]
fn wait_time_default_rings_45_seconds() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::no_answer()));
    m.spool.spool(
        "w",
        &message_call("PJSIP/1", "w", &m.report, &m.audio, "WaitTime: 0\n"),
    );
    fake.run_until_idle().unwrap();
    assert_eq!(
        fake.observations().attempts[0].ended,
        Some(ms(T0 + 45)),
        "WaitTime 0 becomes 45"
    );
}

#[test]
fn local_channel_with_ampersand_expires_undialed() {
    let m = message_setup();
    let plan = format!("{SHIPPED}\n[internal]\nexten => 1000,1,NoOp()\n");
    let mut fake = FakeAsterisk::builder(&m.spool.outgoing)
        .start_at_unix(T0)
        .dialplan(Dialplan::parse(&plan).unwrap())
        .build()
        .unwrap();
    m.spool.spool(
        "amp.call",
        &message_call(
            "Local/1000@internal&SIP/x/123",
            "amp",
            &m.report,
            &m.audio,
            "Archive: yes\n",
        ),
    );
    m.spool.spool(
        "ok.call",
        &message_call(
            "Local/1000@internal",
            "ok",
            &m.report,
            &m.audio,
            "Archive: yes\n",
        ),
    );
    fake.run_until_idle().unwrap();
    let amp = fake.observations().attempts_of("amp.call").next().unwrap();
    assert_eq!(amp.call_file.tech, "Local");
    assert!(amp.callee.is_none(), "never reached a callee");
    assert_eq!(amp.outcome, AttemptOutcome::Failed(0));
    assert!(
        amp.warnings.iter().any(|w| w.contains("internal&SIP")),
        "{:?}",
        amp.warnings
    );
    assert!(
        m.spool
            .archived("amp.call")
            .unwrap()
            .ends_with("Status: Expired\n")
    );
    assert!(
        m.spool
            .archived("ok.call")
            .unwrap()
            .ends_with("Status: Completed\n")
    );
}

#[test]
fn set_variables_reach_dialplan_with_inheritance_prefixes() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    let text = format!(
        "Channel: PJSIP/1\nContext: dialout-message\nExtension: s\nSet: __DIALOUT_ID=inh\nSetVar: DIALOUT_REPORT={}\nSet: DIALOUT_AUDIO={}\n",
        m.report.display(),
        m.audio.display()
    );
    m.spool.spool("v.call", &text);
    fake.run_until_idle().unwrap();
    assert!(report(&m).contains(" inh answered 1"), "{}", report(&m));
}

#[test]
fn set_line_with_file_function_writes_a_file() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    let target = m.spool.path("written-by-set");
    m.spool.spool(
        "fn.call",
        &format!(
            "Channel: PJSIP/1\nApplication: NoOp\nSet: FILE({},,,al,u)=from a Set line\n",
            target.display()
        ),
    );
    fake.run_until_idle().unwrap();
    assert_eq!(fs::read_to_string(target).unwrap(), "from a Set line\n");
}

#[test]
fn smuggled_second_application_runs() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    // What a renderer that let a newline through a value would produce.
    m.spool.spool("inj.call", "Channel: PJSIP/1\nApplication: Playback\nData: hello\nApplication: System\nData: rm -rf /tmp/x\n");
    fake.run_until_idle().unwrap();
    let a = &fake.observations().attempts[0];
    assert_eq!(
        (a.apps[0].app.as_str(), a.apps[0].data.as_str()),
        ("System", "rm -rf /tmp/x")
    );
    assert!(a.apps[0].note.as_deref().unwrap().contains("not simulated"));
}

#[test]
fn application_form_runs_the_application_by_name() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    m.spool.spool("p.call", &format!("Channel: PJSIP/1\nApplication: Playback\nData: {}\nContext: dialout-message\nExtension: s\nArchive: yes\n", m.audio.display()));
    fake.run_until_idle().unwrap();
    let a = &fake.observations().attempts[0];
    assert_eq!(
        a.apps.len(),
        1,
        "Application wins over Context: no dialplan ran"
    );
    assert_eq!(a.apps[0].ended - a.apps[0].started, 10_000);
    assert_eq!(a.ended, Some(ms(T0 + 11)));
    assert!(report(&m).is_empty());
}

#[test]
fn application_form_data_is_not_substituted() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    m.spool.spool(
        "d.call",
        "Channel: PJSIP/1\nApplication: NoOp\nData: ${EPOCH}\n",
    );
    fake.run_until_idle().unwrap();
    assert_eq!(fake.observations().attempts[0].apps[0].data, "${EPOCH}");
}

#[test]
fn playback_of_a_missing_file_warns_and_continues() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    let missing = m.spool.path("no-such-sound");
    m.spool.spool(
        "miss.call",
        &message_call("PJSIP/1", "miss", &m.report, &missing, ""),
    );
    fake.run_until_idle().unwrap();
    assert_eq!(
        report(&m),
        format!("{0} miss answered 1\n{0} miss complete 1\n", T0 + 1),
        "app_playback returns 0: the dialplan goes on"
    );
    let a = &fake.observations().attempts[0];
    assert_eq!(a.variables["PLAYBACKSTATUS"], "FAILED");
    assert!(a.warnings.iter().any(|w| w.contains("Playback failed")));
}

#[test]
fn playback_of_a_16khz_wav_fails() {
    let m = message_setup();
    wav(&m.spool.path("wide.wav"), 5.0, 16000);
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    m.spool.spool(
        "wide.call",
        &message_call("PJSIP/1", "wide", &m.report, &m.spool.path("wide"), ""),
    );
    fake.run_until_idle().unwrap();
    let a = &fake.observations().attempts[0];
    assert_eq!(
        a.variables["PLAYBACKSTATUS"], "FAILED",
        "`.wav` must be 8 kHz"
    );
    assert!(
        a.warnings.iter().any(|w| w.contains("16000 Hz")),
        "{:?}",
        a.warnings
    );
}

#[test]
fn playback_reads_sln_and_wav16() {
    let m = message_setup();
    fs::write(m.spool.path("raw.sln"), vec![0u8; 16000 * 3]).unwrap(); // 3 s at 8 kHz
    wav(&m.spool.path("hd.wav16"), 2.0, 16000);
    let plan = "[p]\nexten => s,1,Playback(raw&hd)\n";
    let mut fake = FakeAsterisk::builder(&m.spool.outgoing)
        .start_at_unix(T0)
        .sounds_dir(&m.spool.root)
        .dialplan(Dialplan::parse(plan).unwrap())
        .build()
        .unwrap();
    m.spool
        .spool("s.call", "Channel: PJSIP/1\nContext: p\nExtension: s\n");
    fake.run_until_idle().unwrap();
    let p = &fake.observations().attempts[0].apps[0];
    assert_eq!(
        p.ended - p.started,
        5000,
        "relative names are looked up in sounds_dir, & plays both"
    );
}

#[test]
fn wait_and_hangup_and_epoch_follow_the_fake_clock() {
    let spool = Spool::new();
    let out = spool.path("out.txt");
    let plan = format!(
        "[w] ; a comment\nexten => s,1,Wait(2.5)\nsame => n,Set(FILE({0},,,al,u)=${{EPOCH}} a\\;b)\nsame => n,Hangup()\nsame => n,Set(FILE({0},,,al,u)=never)\n",
        out.display()
    );
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .dialplan(Dialplan::parse(&plan).unwrap())
        .build()
        .unwrap();
    spool.spool("w.call", "Channel: PJSIP/1\nContext: w\nExtension: s\n");
    fake.run_until_idle().unwrap();
    assert_eq!(
        fs::read_to_string(out).unwrap(),
        format!("{} a;b\n", T0 + 3),
        "1 s ring + 2.5 s → EPOCH floor"
    );
}

#[test]
fn dialplan_outside_the_subset_is_an_error_naming_it() {
    let cases = [
        ("[c]\nexten => s,1,Dial(PJSIP/1)\n", "application `Dial`"),
        (
            "[c]\nexten => s,1,NoOp(${CALLERID(num)})\n",
            "function `CALLERID`",
        ),
        (
            "[c]\nexten => s,1,Set(CDR(userfield)=x)\n",
            "function `CDR`",
        ),
        ("[c]\nexten => s,1,NoOp($[1+1])\n", "expression"),
        ("[c]\nexten => s,1,NoOp(${X:1:2})\n", "variable reference"),
        ("[c]\nexten => _X.,1,NoOp()\n", "extension name"),
        ("[c]\nexten => s,1(start),NoOp()\n", "priority"),
        ("[c]\ninclude => other\n", "keyword `include`"),
        ("exten => s,1,NoOp()\n", "outside any [context]"),
        ("[c](+)\n", "context header"),
        ("[c]\nexten => s,1,Goto(d,s,1)\n", "application `Goto`"),
    ];
    for (text, needle) in cases {
        let err = Dialplan::parse(text).expect_err(text);
        assert!(matches!(err, DialplanError::Unsupported { .. }));
        assert!(err.to_string().contains(needle), "{text:?}: {err}");
    }
    assert!(Dialplan::parse(SHIPPED).is_ok());
}

#[test]
fn unsupported_file_options_are_runtime_errors() {
    let spool = Spool::new();
    let plan = format!(
        "[c]\nexten => s,1,Set(FILE({},,,d)=x)\n",
        spool.path("f").display()
    );
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .dialplan(Dialplan::parse(&plan).unwrap())
        .build()
        .unwrap();
    spool.spool("c.call", "Channel: PJSIP/1\nContext: c\nExtension: s\n");
    fake.run_until_idle().unwrap();
    let errors = fake.observations().errors();
    assert!(
        errors.iter().any(|e| e.contains("FILE options `d`")),
        "{errors:?}"
    );
}

#[test]
fn h_also_runs_after_the_failed_extension() {
    // __ast_pbx_run runs `h` at the end of any PBX run, the failed pseudo channel's included.
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::busy()));
    m.spool.spool(
        "hb.call",
        &message_call("PJSIP/1", "hb", &m.report, &m.audio, ""),
    );
    fake.run_until_idle().unwrap();
    let a = &fake.observations().attempts[0];
    let names: Vec<(&str, &str)> = a
        .apps
        .iter()
        .map(|r| (r.exten.as_str(), r.app.as_str()))
        .collect();
    assert_eq!(names, [("failed", "Set"), ("h", "NoOp")]);
    assert_eq!(
        fake.observations().end_of("hb.call").unwrap().status,
        Status::Expired
    );
}

#[test]
fn stop_runs_h_for_an_answered_call() {
    let m = message_setup();
    let mut fake = fake(&m, Callees::new(Callee::answers()));
    m.spool.spool(
        "st.call",
        &message_call("PJSIP/1", "st", &m.report, &m.audio, "Archive: yes\n"),
    );
    fake.run_for(Duration::from_secs(5));
    fake.stop();
    let a = &fake.observations().attempts[0];
    assert_eq!(a.apps.last().unwrap().exten, "h");
    assert!(
        m.spool
            .archived("st.call")
            .unwrap()
            .ends_with("Status: Expired\n")
    );
}
