//! Background mode: inotify, real processes' way of writing, the archive race, crashes.
//! Rescans are set to an hour where a test shows what inotify alone does.

mod fake_asterisk_support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::{Duration, Instant};

use dialout_testkit::fake_asterisk::{
    AttemptOutcome, BackgroundAsterisk, Callee, Callees, FakeAsterisk, Status, real_unix_millis,
};
use fake_asterisk_support::{Spool, app_call, set_mtime};

const LONG: Duration = Duration::from_secs(15);
const HOUR: Duration = Duration::from_secs(3600);

fn spawn(spool: &Spool, callees: Callees, speed: f64) -> BackgroundAsterisk {
    FakeAsterisk::builder(&spool.outgoing)
        .callees(callees)
        .rescan_every(HOUR)
        .spawn(speed)
        .unwrap()
}

fn stage_and_rename(spool: &Spool, name: &str, text: &str) {
    let staged = spool.staging.join(name);
    fs::write(&staged, text).unwrap();
    set_mtime(&staged, real_unix_millis() / 1000);
    fs::rename(&staged, spool.outgoing.join(name)).unwrap();
}

#[test]
fn renamed_file_is_taken_at_once() {
    let spool = Spool::new();
    let fake = spawn(&spool, Callees::default(), 1.0);
    stage_and_rename(&spool, "r.call", &app_call("SIP/1", ""));
    let t = Instant::now();
    let obs = fake.wait_until(LONG, |o| !o.attempts.is_empty()).unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "taken through inotify, not a rescan"
    );
    assert_eq!(obs.attempts[0].file_name, "r.call");
}

#[test]
fn file_written_in_place_is_read_at_first_close() {
    let spool = Spool::new();
    let fake = spawn(&spool, Callees::default(), 1.0);
    let path = spool.outgoing.join("inplace.call");
    // Still open: not taken, whatever it holds.
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(b"Channel: SIP/1\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(fake.observations().ends.is_empty() && fake.observations().attempts.is_empty());
    drop(f); // first close: taken now, half-written
    let obs = fake
        .wait_until(LONG, |o| o.end_of("inplace.call").is_some())
        .unwrap();
    let end = obs.end_of("inplace.call").unwrap();
    assert_eq!(end.status, Status::Failed, "read half-written: invalid");
    assert!(obs.attempts.is_empty());
    assert!(!path.exists(), "deleted before the writer could finish");
    assert!(OpenOptions::new().append(true).open(&path).is_err());
}

#[test]
fn staging_subdirectory_is_not_watched_and_rename_from_it_is_taken() {
    let spool = Spool::new();
    let sub = spool.outgoing.join(".dialout");
    fs::create_dir(&sub).unwrap();
    let fake = spawn(&spool, Callees::default(), 1.0);
    fs::write(sub.join("s.call"), app_call("SIP/1", "")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(fake.observations().attempts.is_empty());
    fs::rename(sub.join("s.call"), spool.outgoing.join("s.call")).unwrap();
    fake.wait_until(LONG, |o| o.dials.get("s.call") == Some(&1))
        .unwrap();
}

#[test]
fn archive_race_is_visible_to_a_watcher() {
    let spool = Spool::new();
    let fake = FakeAsterisk::builder(&spool.outgoing)
        .rescan_every(HOUR)
        .archive_gap(Duration::from_millis(300))
        .spawn(50.0)
        .unwrap();
    stage_and_rename(&spool, "a.call", &app_call("SIP/1", "Archive: yes\n"));
    let archived = spool.done.join("a.call");
    let deadline = Instant::now() + LONG;
    while !archived.exists() {
        assert!(Instant::now() < deadline, "never archived");
        std::thread::sleep(Duration::from_millis(2));
    }
    let first = fs::read_to_string(&archived).unwrap();
    assert!(
        !first.contains("Status:"),
        "renamed before Status is appended: {first:?}"
    );
    fake.wait_idle(LONG).unwrap();
    assert!(
        fs::read_to_string(&archived)
            .unwrap()
            .ends_with("Status: Completed\n")
    );
}

#[test]
fn future_mtime_is_held_in_fake_time() {
    let spool = Spool::new();
    // 1 fake second = 10 ms: a call 60 s ahead goes after about 0.6 s.
    let fake = spawn(&spool, Callees::default(), 100.0);
    let due = fake.now() / 1000 + 60;
    let staged = spool.staging.join("later.call");
    fs::write(&staged, app_call("SIP/1", "")).unwrap();
    set_mtime(&staged, due);
    fs::rename(&staged, spool.outgoing.join("later.call")).unwrap();
    let obs = fake.wait_until(LONG, |o| !o.attempts.is_empty()).unwrap();
    assert!(
        obs.attempts[0].started >= due * 1000,
        "not before its mtime"
    );
    assert!(
        obs.attempts[0].started < (due + 100) * 1000,
        "taken when due (1 s of slack)"
    );
}

#[test]
fn crash_and_restart_dial_again_in_background() {
    let spool = Spool::new();
    let fake = spawn(&spool, Callees::new(Callee::answers()), 100.0);
    stage_and_rename(
        &spool,
        "c.call",
        "Channel: SIP/1\nApplication: Wait\nData: 20\nRetryTime: 30\nArchive: yes\n",
    );
    fake.wait_until(LONG, |o| {
        o.attempts.first().is_some_and(|a| a.answered.is_some())
    })
    .unwrap();
    fake.crash();
    assert_eq!(
        fake.observations().attempts[0].outcome,
        AttemptOutcome::Crashed
    );
    fake.restart();
    let obs = fake
        .wait_until(LONG, |o| o.end_of("c.call").is_some())
        .unwrap();
    assert_eq!(obs.dials["c.call"], 2);
    fake.wait_idle(LONG).unwrap();
    assert!(
        spool
            .archived("c.call")
            .unwrap()
            .ends_with("Status: Completed\n")
    );
}

#[test]
fn concurrent_writer_is_paced_and_observed() {
    let spool = Spool::new();
    // Each call lasts 21 fake seconds (about 0.1 s), files arrive every 5 ms: they overlap.
    let fake = spawn(
        &spool,
        Callees::new(Callee::answers_then_hangs_up(20.0)),
        200.0,
    );
    let outgoing = spool.outgoing.clone();
    let staging = spool.staging.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            let staged = staging.join(format!("{i}.call"));
            fs::write(
                &staged,
                format!("Channel: SIP/{i}\nApplication: Wait\nData: 30\n"),
            )
            .unwrap();
            fs::rename(&staged, outgoing.join(format!("{i}.call"))).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    writer.join().unwrap();
    let obs = fake.wait_until(LONG, |o| o.ends.len() == 40).unwrap();
    assert!(
        obs.max_files_in_spool >= 2,
        "several calls were in the spool at once"
    );
    assert!(obs.max_files_in_spool <= 40);
    assert!(obs.dialed_more_than_once().is_empty());
    assert!(obs.ends.iter().all(|e| e.status == Status::Completed));
    let idle = fake.wait_idle(LONG).unwrap();
    assert_eq!(idle.attempts.len(), 40);
    let final_obs = fake.shutdown();
    assert_eq!(final_obs.ends.len(), 40);
}

#[test]
fn mtime_set_after_writing_in_place_does_not_delay() {
    let spool = Spool::new();
    let fake = spawn(&spool, Callees::new(Callee::answers()), 1.0);
    let path = spool.outgoing.join("late-utime.call");
    fs::write(&path, "Channel: SIP/1\nApplication: Wait\nData: 600\n").unwrap();
    // The writer "schedules" it an hour ahead, but only after closing it: too late.
    std::thread::sleep(Duration::from_millis(200));
    let future = real_unix_millis() / 1000 + 3600;
    if path.exists() {
        set_mtime(&path, future);
    }
    let obs = fake.wait_until(LONG, |o| !o.attempts.is_empty()).unwrap();
    assert!(
        obs.attempts[0].started < future * 1000 - 3_000_000,
        "dialed at its first close, not an hour later"
    );
}

#[test]
fn hard_link_created_but_never_opened_is_taken_after_two_seconds() {
    let spool = Spool::new();
    // 1 fake second = 100 ms: the 2-second grace for a created-but-unopened file is 0.2 s.
    let fake = spawn(&spool, Callees::default(), 10.0);
    let staged = spool.staging.join("linked.call");
    fs::write(&staged, app_call("SIP/1", "")).unwrap();
    let linked_at = fake.now();
    fs::hard_link(&staged, spool.outgoing.join("linked.call")).unwrap();
    let obs = fake.wait_until(LONG, |o| !o.attempts.is_empty()).unwrap();
    let waited = obs.attempts[0].started - linked_at;
    assert!(
        (1000..=6000).contains(&waited),
        "taken after the 2 s grace (1 s resolution), waited {waited} ms"
    );
}
