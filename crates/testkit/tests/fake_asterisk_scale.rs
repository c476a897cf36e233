//! 1,000 calls, in both modes: the fake clock keeps them fast.
//! (Timing figures belong to benchmarks; these tests only show it works at that size.)

mod fake_asterisk_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dialout_testkit::fake_asterisk::{Callee, Callees, FakeAsterisk, Status};
use fake_asterisk_support::{SHIPPED, Spool, T0, message_call, wav};

fn callees() -> Callees {
    // Every 10th channel is busy once then answers; every 7th never answers.
    Callees::new(Callee::answers())
        .matching(|c| c.ends_with('0'), Callee::busy())
        .matching_sequence(
            |c| c.ends_with('5'),
            vec![Callee::busy(), Callee::answers()],
        )
        .matching(
            |c| {
                c.trim_start_matches("PJSIP/")
                    .parse::<u32>()
                    .is_ok_and(|n| n % 7 == 0)
            },
            Callee::no_answer(),
        )
}

/// A spool with the shipped dialplan and a 30-second message: (spool, report, audio).
fn setup() -> (Spool, PathBuf, PathBuf) {
    let spool = Spool::new();
    fs::write(spool.path("extensions.conf"), SHIPPED).unwrap();
    wav(&spool.path("msg.wav"), 30.0, 8000);
    let (report, audio) = (spool.path("report.log"), spool.path("msg"));
    (spool, report, audio)
}

const EXTRA: &str = "MaxRetries: 1\nRetryTime: 120\nWaitTime: 40\nArchive: yes\n";

fn check(spool: &Spool, report: &Path, obs: &dialout_testkit::fake_asterisk::Observations) {
    assert_eq!(obs.ends.len(), 1000);
    assert!(obs.errors().is_empty(), "{:?}", obs.errors());
    let completed = obs
        .ends
        .iter()
        .filter(|e| e.status == Status::Completed)
        .count();
    // n%10==0 busy twice; n%10==5 busy then answers; else n%7==0 never answers.
    let expected_expired = (1..=1000u32)
        .filter(|n| n % 10 == 0 || (n % 10 != 5 && n % 7 == 0))
        .count();
    assert_eq!(1000 - completed, expected_expired);
    let text = fs::read_to_string(report).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.contains(" complete ")).count(),
        completed
    );
    assert_eq!(fs::read_dir(&spool.done).unwrap().count(), 1000);
}

#[test]
fn thousand_calls_in_step_mode() {
    let (spool, report, audio) = setup();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .dialplan_file(spool.path("extensions.conf"))
        .unwrap()
        .callees(callees())
        .build()
        .unwrap();
    for n in 1..=1000 {
        // Spread over ten minutes of fake time, like a paced writer.
        let text = message_call(
            &format!("PJSIP/{n}"),
            &format!("m{n}"),
            &report,
            &audio,
            EXTRA,
        );
        spool.spool_at(
            &format!("m{n}.call"),
            text.as_bytes(),
            T0 + i64::from(n) * 6 / 10,
        );
    }
    fake.run_until_idle().unwrap();
    check(&spool, &report, fake.observations());
    assert!(
        fake.observations().dialed_more_than_once().len() >= 100,
        "the retries happened"
    );
}

#[test]
fn thousand_calls_in_background_mode() {
    let (spool, report, audio) = setup();
    // 1 fake second = 1 ms: a 30 s message plays in 30 ms, RetryTime 120 s waits 120 ms.
    let fake = FakeAsterisk::builder(&spool.outgoing)
        .dialplan_file(spool.path("extensions.conf"))
        .unwrap()
        .callees(callees())
        .spawn(1000.0)
        .unwrap();
    for n in 1..=1000 {
        let text = message_call(
            &format!("PJSIP/{n}"),
            &format!("m{n}"),
            &report,
            &audio,
            EXTRA,
        );
        let staged = spool.staging.join(format!("m{n}.call"));
        fs::write(&staged, text).unwrap();
        fs::rename(&staged, spool.outgoing.join(format!("m{n}.call"))).unwrap();
    }
    let obs = fake
        .wait_until(Duration::from_secs(60), |o| o.ends.len() == 1000)
        .unwrap();
    fake.wait_idle(Duration::from_secs(10)).unwrap();
    check(&spool, &report, &obs);
}
