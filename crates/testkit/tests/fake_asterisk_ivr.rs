//! AMD(), Read() and WaitForSilence() of the fake against the times recorded in
//! `shared/reference/asterisk-interactive.md` (real 22.10.1), with the reference's own
//! caller: `AMD()`, then `Read(DIGITS,prompt,1,,1,5)` with a 5.04 s prompt.

mod fake_asterisk_support;

use dialout_testkit::fake_asterisk::{AppRun, Callee, Callees, Dialplan, FakeAsterisk, Party};
use fake_asterisk_support::{Spool, T0, wav};

const CALLER: &str = "\
[ivr-caller]
exten => s,1,AMD()
 same => n,GotoIf($[\"${AMDSTATUS}\" = \"MACHINE\"]?machine)
 same => n,Read(DIGITS,${P},1,,1,5)
 same => n,Hangup()
 same => n(machine),WaitForSilence(1500,1,30)
";

/// Runs one call to `callee`; the applications it ran, in seconds after the answer.
fn run(callee: Callee) -> (Vec<AppRun>, i64) {
    let spool = Spool::new();
    wav(&spool.path("prompt.wav"), 5.04, 8000);
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .dialplan(Dialplan::parse(CALLER).unwrap())
        .callees(Callees::new(callee))
        .build()
        .unwrap();
    spool.spool(
        "c.call",
        &format!(
            "Channel: PJSIP/100\nContext: ivr-caller\nExtension: s\nSet: P={}\n",
            spool.path("prompt").display()
        ),
    );
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert!(obs.errors().is_empty(), "{:?}", obs.errors());
    let a = &obs.attempts[0];
    (a.apps.clone(), a.answered.unwrap())
}

fn at(apps: &[AppRun], app: &str, answered: i64) -> (f64, String) {
    let r = apps.iter().find(|r| r.app == app).unwrap();
    (
        (r.ended - answered) as f64 / 1000.0,
        r.note.clone().unwrap_or_default(),
    )
}

/// "Hello?" as the reference's espeak said it: the verdict comes at 2.00.
fn hello(keys: &[(f64, char)]) -> Party {
    Party::Person {
        speech: 0.684,
        keys: keys.to_vec(),
    }
}

#[test]
fn a_person_who_presses_nothing_times_out_5_s_after_the_prompt() {
    let (apps, t) = run(Callee::talks(hello(&[])));
    assert_eq!(
        at(&apps, "AMD", t),
        (2.0, "AMDSTATUS=HUMAN AMDCAUSE=HUMAN-816-800".into())
    );
    assert_eq!(
        at(&apps, "Read", t),
        (12.04, "READSTATUS=TIMEOUT DIGITS=".into())
    );
}

#[test]
fn a_key_during_the_prompt_ends_read_at_once_and_a_late_one_is_ignored() {
    let (apps, t) = run(Callee::talks(hello(&[(3.0, '1')])));
    assert_eq!(at(&apps, "Read", t), (3.2, "READSTATUS=OK DIGITS=1".into()));
    let (apps, t) = run(Callee::talks(hello(&[(3.0, '9')])));
    assert_eq!(
        at(&apps, "Read", t).1,
        "READSTATUS=OK DIGITS=9",
        "Read does not validate"
    );
    let (apps, t) = run(Callee::talks(hello(&[(15.6, '1')])));
    assert_eq!(at(&apps, "Read", t).1, "READSTATUS=TIMEOUT DIGITS=");
}

#[test]
fn a_key_during_amd_is_lost_and_delays_the_verdict() {
    let (apps, t) = run(Callee::talks(hello(&[(1.3, '1')])));
    assert_eq!(at(&apps, "AMD", t).0, 2.45);
    assert_eq!(at(&apps, "Read", t).1, "READSTATUS=TIMEOUT DIGITS=");
}

#[test]
fn a_hangup_during_the_prompt_is_read_status_hangup() {
    let (apps, _) = run(Callee::talks_then_hangs_up(hello(&[]), 4.0));
    let read = apps.iter().find(|r| r.app == "Read").unwrap();
    assert!(read.interrupted);
    assert!(
        !apps.iter().any(|r| r.app == "Hangup"),
        "the next priority does not run"
    );
}

#[test]
fn machines_silence_and_no_media() {
    let (apps, t) = run(Callee::talks(Party::Machine { greeting: 8.0 }));
    assert_eq!(
        at(&apps, "AMD", t),
        (2.2, "AMDSTATUS=MACHINE AMDCAUSE=MAXWORDS-3-2".into())
    );
    // 1.48 s after the beep (greeting 0.5..8.5, beep to 9.5).
    assert_eq!(
        at(&apps, "WaitForSilence", t),
        (10.98, "WAITSTATUS=SILENCE".into())
    );
    let (apps, t) = run(Callee::talks(Party::Silence));
    assert_eq!(
        at(&apps, "AMD", t),
        (
            2.98,
            "AMDSTATUS=MACHINE AMDCAUSE=INITIALSILENCE-2500-2500".into()
        )
    );
    let (apps, t) = run(Callee::talks(Party::NoMedia));
    assert_eq!(
        at(&apps, "AMD", t),
        (5.01, "AMDSTATUS=NOTSURE AMDCAUSE=TOOLONG-4900".into())
    );
}
