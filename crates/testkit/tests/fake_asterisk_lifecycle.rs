//! The spooler's life cycle in step mode: one test per fact of the reference's
//! "Where and when files are read", "Life cycle" and "Crashes and restarts".

mod fake_asterisk_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use dialout_testkit::fake_asterisk::{
    AttemptOutcome, Callee, Callees, Disposition, FakeAsterisk, Status, UNLIMITED_RING_SECS,
};
use fake_asterisk_support::{Spool, T0, app_call, mtime, set_mtime};

fn ms(secs: i64) -> i64 {
    secs * 1000
}

#[test]
fn files_present_at_start_are_taken() {
    let spool = Spool::new();
    spool.spool("before.call", &app_call("SIP/1", ""));
    let fake = spool.fake();
    // The start-up scan launched it at once, before any run.
    assert_eq!(fake.observations().attempts.len(), 1);
    assert_eq!(fake.observations().attempts[0].file_name, "before.call");
}

#[test]
fn dot_files_and_names_without_call_are_dialed() {
    let spool = Spool::new();
    let mut fake = spool.fake();
    spool.spool(".hidden", &app_call("SIP/1", ""));
    spool.spool("no-extension.tmp", &app_call("SIP/2", ""));
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert_eq!(obs.dials.get(".hidden"), Some(&1));
    assert_eq!(obs.dials.get("no-extension.tmp"), Some(&1));
}

#[test]
fn subdirectory_and_its_files_are_ignored() {
    let spool = Spool::new();
    let sub = spool.outgoing.join(".dialout");
    fs::create_dir_all(&sub).unwrap();
    fs::write(sub.join("staged.call"), app_call("SIP/1", "")).unwrap();
    let mut fake = spool.fake();
    fake.run_until_idle().unwrap();
    fake.restart();
    fake.run_until_idle().unwrap();
    assert!(
        fake.observations().attempts.is_empty(),
        "nothing in a subdirectory is dialed, even after a restart"
    );
    assert!(sub.join("staged.call").exists());
    // Renamed from the staging subdirectory into outgoing: taken.
    fs::rename(sub.join("staged.call"), spool.outgoing.join("staged.call")).unwrap();
    fake.run_until_idle().unwrap();
    assert_eq!(fake.observations().dials.get("staged.call"), Some(&1));
}

#[test]
fn future_mtime_holds_the_file_until_then() {
    let spool = Spool::new();
    let mut fake = spool.fake();
    spool.spool_at("later.call", app_call("SIP/1", "").as_bytes(), T0 + 90);
    fake.run_until(ms(T0 + 89) + 999);
    assert!(
        fake.observations().attempts.is_empty(),
        "held while mtime > now (one-second resolution)"
    );
    fake.run_until(ms(T0 + 90));
    let a = &fake.observations().attempts[0];
    assert_eq!(a.started, ms(T0 + 90));
}

#[test]
fn attempt_appends_start_retry_and_bumps_mtime() {
    let spool = Spool::new();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .pid(777)
        .callees(Callees::new(Callee::answers_then_hangs_up(30.0)))
        .build()
        .unwrap();
    spool.spool(
        "a.call",
        &app_call("SIP/1", "RetryTime: 120\nArchive: yes\n")
            .replace("NoOp", "Wait")
            .replace("hello", "100"),
    );
    fake.run_until(ms(T0) + 500);
    let text = spool.in_spool("a.call").unwrap();
    assert!(
        text.ends_with(&format!("Archive: yes\n\nStartRetry: 777 1 ({T0})\n")),
        "{text:?}"
    );
    assert_eq!(
        mtime(&spool.outgoing.join("a.call")),
        T0 + 120,
        "mtime = now + RetryTime"
    );
    fake.run_until_idle().unwrap();
    let archived = spool.archived("a.call").unwrap();
    assert!(
        archived.ends_with(&format!("StartRetry: 777 1 ({T0})\nStatus: Completed\n")),
        "{archived:?}"
    );
}

#[test]
fn failed_attempt_appends_end_retry_and_retries_later() {
    let spool = Spool::new();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .pid(50)
        .callees(Callees::new(Callee::busy()))
        .build()
        .unwrap();
    spool.spool(
        "r.call",
        &app_call("SIP/1", "MaxRetries: 1\nRetryTime: 60\nArchive: yes\n"),
    );
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert_eq!(obs.attempts.len(), 2, "MaxRetries 1 = two attempts");
    assert_eq!(obs.attempts[0].started, ms(T0));
    assert_eq!(
        obs.attempts[1].started,
        ms(T0 + 60),
        "RetryTime after the first attempt began"
    );
    let text = spool.archived("r.call").unwrap();
    let tail = format!(
        "\nStartRetry: 50 1 ({T0})\n\nEndRetry: 50 1 ({})\n\nStartRetry: 50 2 ({})\nStatus: Expired\n",
        T0 + 2,
        T0 + 60
    );
    assert!(text.ends_with(&tail), "{text:?}");
}

#[test]
fn ast_outgoing_attempt_counts_attempts() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::no_answer()));
    spool.spool(
        "n.call",
        &app_call("SIP/1", "MaxRetries: 2\nRetryTime: 100\nWaitTime: 10\n"),
    );
    fake.run_until_idle().unwrap();
    let numbers: Vec<(i32, String)> = fake
        .observations()
        .attempts
        .iter()
        .map(|a| (a.number, a.variables["AST_OUTGOING_ATTEMPT"].clone()))
        .collect();
    assert_eq!(
        numbers,
        vec![(1, "1".into()), (2, "2".into()), (3, "3".into())]
    );
}

#[test]
fn max_retries_counts_attempts() {
    for (max, expected) in [(0, 1), (1, 2), (3, 4)] {
        let spool = Spool::new();
        let mut fake = spool.fake_with(Callees::new(Callee::congestion()));
        spool.spool(
            "m.call",
            &app_call("SIP/1", &format!("MaxRetries: {max}\nRetryTime: 10\n")),
        );
        fake.run_until_idle().unwrap();
        assert_eq!(
            fake.observations().dials["m.call"],
            expected,
            "MaxRetries {max}"
        );
        assert_eq!(
            fake.observations().end_of("m.call").unwrap().status,
            Status::Expired
        );
    }
}

#[test]
fn negative_max_retries_expires_at_once() {
    let spool = Spool::new();
    let mut fake = spool.fake();
    spool.spool(
        "neg.call",
        &app_call("SIP/1", "MaxRetries: -1\nArchive: yes\n"),
    );
    fake.run_until_idle().unwrap();
    assert!(fake.observations().attempts.is_empty(), "never dialed");
    assert_eq!(
        spool.archived("neg.call").unwrap(),
        format!(
            "{}Status: Expired\n",
            app_call("SIP/1", "MaxRetries: -1\nArchive: yes\n")
        )
    );
}

#[test]
fn archive_dir_is_created_on_first_use() {
    let spool = Spool::new();
    let mut fake = spool.fake();
    spool.spool("plain.call", &app_call("SIP/1", ""));
    fake.run_until_idle().unwrap();
    assert!(!spool.done.exists(), "no archive without Archive: yes");
    spool.spool("kept.call", &app_call("SIP/1", "Archive: yes\n"));
    fake.run_until_idle().unwrap();
    assert!(spool.done.is_dir());
    assert!(
        spool
            .archived("kept.call")
            .unwrap()
            .ends_with("Status: Completed\n")
    );
}

#[test]
fn without_archive_the_file_is_deleted() {
    let spool = Spool::new();
    let mut fake = spool.fake();
    spool.spool("gone.call", &app_call("SIP/1", ""));
    fake.run_until_idle().unwrap();
    assert!(spool.in_spool("gone.call").is_none());
    assert!(spool.archived("gone.call").is_none());
    assert_eq!(
        fake.observations().end_of("gone.call").unwrap().disposition,
        Disposition::Deleted
    );
}

#[test]
fn status_is_appended_after_the_rename_without_newline() {
    let spool = Spool::new();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .archive_gap(Duration::from_millis(300))
        .build()
        .unwrap();
    // No newline at the end: Status is glued to the last line.
    spool.spool(
        "glued.call",
        "Channel: SIP/1\nApplication: NoOp\nArchive: yes",
    );
    fake.run_until(ms(T0) + 1000 + 299);
    let before = spool.archived("glued.call").expect("renamed already");
    assert!(
        !before.contains("Status:"),
        "a watcher woken by the rename sees no Status yet"
    );
    fake.run_until_idle().unwrap();
    let after = spool.archived("glued.call").unwrap();
    assert!(
        after.ends_with(&format!("({T0})\nStatus: Completed\n")),
        "{after:?}"
    );
    // Without the newline in the file itself, the last *original* line is glued too:
    let spool2 = Spool::new();
    let mut fake2 = FakeAsterisk::builder(&spool2.outgoing)
        .start_at_unix(T0)
        .build()
        .unwrap();
    spool2.spool(
        "neg.call",
        "Channel: SIP/1\nApplication: NoOp\nMaxRetries: -1\nArchive: yes",
    );
    fake2.run_until_idle().unwrap();
    assert!(
        spool2
            .archived("neg.call")
            .unwrap()
            .ends_with("Archive: yesStatus: Expired\n")
    );
}

#[test]
fn archive_overwrites_same_name() {
    let spool = Spool::new();
    fs::create_dir_all(&spool.done).unwrap();
    fs::write(spool.done.join("dup.call"), "an older archive\n").unwrap();
    let mut fake = spool.fake();
    spool.spool("dup.call", &app_call("SIP/1", "Archive: yes\n"));
    fake.run_until_idle().unwrap();
    let text = spool.archived("dup.call").unwrap();
    assert!(!text.contains("older"));
    assert!(text.starts_with("Channel: SIP/1\n"));
}

#[test]
fn archive_appears_at_hangup() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers()));
    spool.spool(
        "w.call",
        "Channel: SIP/1\nApplication: Wait\nData: 20\nArchive: yes\n",
    );
    fake.run_until(ms(T0 + 20));
    assert!(
        spool.archived("w.call").is_none(),
        "the attempt blocks while the call lasts (1 s ring + 20 s)"
    );
    fake.run_until(ms(T0 + 21));
    assert!(spool.archived("w.call").is_some());
    assert_eq!(
        fake.observations().end_of("w.call").unwrap().at,
        ms(T0 + 21)
    );
}

#[test]
fn answered_is_completed_even_without_context() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers_then_hangs_up(1.0)));
    spool.spool(
        "noctx.call",
        "Channel: SIP/1\nContext: nowhere\nExtension: s\nArchive: yes\n",
    );
    spool.spool(
        "noapp.call",
        "Channel: SIP/1\nApplication: NoSuchApp\nArchive: yes\n",
    );
    spool.spool(
        "short.call",
        "Channel: SIP/1\nApplication: Wait\nData: 60\nArchive: yes\n",
    );
    fake.run_until_idle().unwrap();
    for f in ["noctx.call", "noapp.call", "short.call"] {
        assert!(
            spool.archived(f).unwrap().ends_with("Status: Completed\n"),
            "{f}"
        );
    }
    let short = fake
        .observations()
        .attempts_of("short.call")
        .next()
        .unwrap();
    assert!(
        short.apps[0].interrupted,
        "the callee hung up after a second"
    );
}

#[test]
fn all_failures_are_expired() {
    let spool = Spool::new();
    let callees = Callees::new(Callee::answers())
        .exact("SIP/busy", Callee::busy())
        .exact("SIP/none", Callee::no_answer())
        .exact("SIP/cong", Callee::congestion())
        .exact("SIP/rej", Callee::rejects())
        .exact("SIP/down", Callee::unreachable());
    let mut fake = spool.fake_with(callees);
    for (name, ch) in [
        ("b", "SIP/busy"),
        ("n", "SIP/none"),
        ("c", "SIP/cong"),
        ("r", "SIP/rej"),
        ("d", "SIP/down"),
        ("t", "Bogus/1"),
    ] {
        spool.spool(name, &app_call(ch, "Archive: yes\nWaitTime: 5\n"));
    }
    fake.run_until_idle().unwrap();
    for name in ["b", "n", "c", "r", "d", "t"] {
        assert!(
            spool.archived(name).unwrap().ends_with("Status: Expired\n"),
            "{name}"
        );
    }
}

#[test]
fn file_without_channel_or_target_is_invalid() {
    let spool = Spool::new();
    let mut fake = spool.fake();
    spool.spool("noarch.call", "Application: NoOp\n");
    spool.spool("arch.call", "Channel: SIP/1\nContext: x\nArchive: yes\n");
    spool.spool("arch-too-late.call", "Channel: SIP/1\n");
    fake.run_until_idle().unwrap();
    assert!(spool.in_spool("noarch.call").is_none() && spool.archived("noarch.call").is_none());
    assert_eq!(
        spool.archived("arch.call").unwrap(),
        "Channel: SIP/1\nContext: x\nArchive: yes\nStatus: Failed\n"
    );
    assert!(
        fake.observations().attempts.is_empty(),
        "an invalid file is never dialed"
    );
    assert_eq!(
        fake.observations().end_of("arch.call").unwrap().status,
        Status::Failed
    );
}

#[test]
fn unreadable_file_is_deleted_without_archive() {
    let spool = Spool::new();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .run_as(64000, 64000)
        .build()
        .unwrap();
    let staged = spool.staging.join("secret.call");
    fs::write(&staged, app_call("SIP/1", "Archive: yes\n")).unwrap();
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o600)).unwrap();
    set_mtime(&staged, T0);
    fs::rename(&staged, spool.outgoing.join("secret.call")).unwrap();
    fake.run_until_idle().unwrap();
    assert!(spool.in_spool("secret.call").is_none(), "deleted");
    assert!(
        spool.archived("secret.call").is_none(),
        "its Archive line was never read"
    );
    assert_eq!(
        fake.observations()
            .end_of("secret.call")
            .unwrap()
            .detail
            .as_deref(),
        Some("unreadable")
    );
}

#[test]
fn file_not_owned_keeps_its_mtime() {
    let spool = Spool::new();
    // Asterisk runs as uid 64000; the file belongs to someone else but is group-writable.
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .run_as(64000, 0)
        .callees(Callees::new(Callee::busy()))
        .build()
        .unwrap();
    let staged = spool.staging.join("g.call");
    fs::write(
        &staged,
        app_call("SIP/1", "MaxRetries: 1\nRetryTime: 100\n"),
    )
    .unwrap();
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o664)).unwrap();
    set_mtime(&staged, T0);
    fs::rename(&staged, spool.outgoing.join("g.call")).unwrap();
    fake.run_until(ms(T0 + 10));
    // utime failed: the mtime is the last append's (EndRetry at T0+2), not T0+2+RetryTime.
    assert_eq!(
        mtime(&spool.outgoing.join("g.call")),
        T0 + 2,
        "Unable to set utime"
    );
    assert!(
        spool.in_spool("g.call").unwrap().contains("EndRetry"),
        "appending still works"
    );
    assert!(
        fake.observations()
            .warnings
            .iter()
            .any(|w| w.contains("Unable to set utime"))
    );
    // So after a restart the retry is not held until T0+100: it goes at once.
    fake.crash();
    fake.restart();
    assert_eq!(fake.observations().attempts.len(), 2);
    assert_eq!(fake.observations().attempts[1].started, ms(T0 + 10));
}

#[test]
fn always_delete_no_leaves_a_future_file() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers_then_hangs_up(5.0)));
    // The attempt's StartRetry pushes the mtime to now + RetryTime, beyond the call's end.
    spool.spool(
        "stay.call",
        &app_call("SIP/1", "AlwaysDelete: no\nArchive: yes\n"),
    );
    fake.run_for(Duration::from_secs(20));
    assert!(spool.in_spool("stay.call").is_some(), "left in outgoing");
    assert!(spool.archived("stay.call").is_none());
    assert_eq!(
        fake.observations().end_of("stay.call").unwrap().disposition,
        Disposition::LeftInSpool
    );
}

#[test]
fn resubmitted_archive_sits_in_outgoing() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::busy()));
    spool.spool(
        "once.call",
        &app_call("SIP/1", "Archive: yes\nRetryTime: 60\n"),
    );
    fake.run_until_idle().unwrap();
    let archived = spool.archived("once.call").unwrap();
    // Someone spools the archived file again, as it is, to the same running Asterisk.
    spool.spool_at("once.call", archived.as_bytes(), fake.now_secs());
    fake.run_for(Duration::from_secs(4 * 3600));
    let obs = fake.observations();
    assert_eq!(obs.dials["once.call"], 1, "never dialed again");
    assert!(
        spool
            .in_spool("once.call")
            .unwrap()
            .contains("DelayedRetry"),
        "it sits and is delayed for ever"
    );
    assert!(obs.delayed_retries > 100);
}

#[test]
fn crash_then_restart_dials_again() {
    let spool = Spool::new();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .pid(100)
        .callees(Callees::new(Callee::answers()))
        .build()
        .unwrap();
    spool.spool(
        "c.call",
        "Channel: SIP/1\nApplication: Wait\nData: 30\nMaxRetries: 0\nArchive: yes\n",
    );
    fake.run_for(Duration::from_secs(10));
    fake.crash();
    assert_eq!(
        fake.observations().attempts[0].outcome,
        AttemptOutcome::Crashed
    );
    fake.restart();
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert_eq!(
        obs.dials["c.call"], 2,
        "dialed again even with MaxRetries 0"
    );
    assert_eq!(
        obs.attempts[1].number, 1,
        "the aborted attempt is not counted yet"
    );
    // The StartRetry had pushed the mtime to T0 + RetryTime (300): the start-up scan holds
    // the file until then, then aborts the dead attempt and dials again.
    assert_eq!(obs.attempts[1].started, ms(T0 + 300));
    let text = spool.archived("c.call").unwrap();
    let lines = format!(
        "\nStartRetry: 100 1 ({T0})\n\nAbortRetry: 101 1 ({0})\n\nStartRetry: 101 1 ({0})\n",
        T0 + 300
    );
    assert!(text.contains(&lines), "{text:?}");
    assert!(text.ends_with("Status: Completed\n"));
}

#[test]
fn crash_between_rename_and_status_loses_the_status() {
    let spool = Spool::new();
    let mut fake = FakeAsterisk::builder(&spool.outgoing)
        .start_at_unix(T0)
        .archive_gap(Duration::from_secs(1))
        .build()
        .unwrap();
    spool.spool("lost.call", &app_call("SIP/1", "Archive: yes\n"));
    fake.run_until(ms(T0 + 1) + 500);
    fake.crash();
    fake.restart();
    fake.run_until_idle().unwrap();
    let text = spool.archived("lost.call").unwrap();
    assert!(
        !text.contains("Status:"),
        "the archive stays without its Status line"
    );
}

#[test]
fn clean_stop_archives_call_in_progress_expired() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers()));
    spool.spool(
        "s.call",
        "Channel: SIP/1\nApplication: Wait\nData: 100\nMaxRetries: 5\nArchive: yes\n",
    );
    spool.spool_at(
        "later.call",
        app_call("SIP/2", "Archive: yes\n").as_bytes(),
        T0 + 3600,
    );
    fake.run_for(Duration::from_secs(10));
    fake.stop();
    assert!(
        spool
            .archived("s.call")
            .unwrap()
            .ends_with("Status: Expired\n")
    );
    assert_eq!(
        fake.observations().attempts[0].outcome,
        AttemptOutcome::Stopped
    );
    assert!(
        spool.in_spool("later.call").is_some(),
        "a waiting file stays for the next start"
    );
}

#[test]
fn counts_dials_and_files_present() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::busy()));
    for i in 0..5 {
        spool.spool(
            &format!("{i}.call"),
            &app_call(&format!("SIP/{i}"), "MaxRetries: 1\nRetryTime: 30\n"),
        );
    }
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    assert_eq!(obs.max_files_in_spool, 5);
    assert_eq!(obs.dials.values().copied().collect::<Vec<_>>(), vec![2; 5]);
    assert_eq!(obs.dialed_more_than_once().len(), 5);
}

#[test]
fn short_retry_time_after_restart_archives_expired_during_the_call() {
    // After a restart the AbortRetry line counts as a retry: with RetryTime shorter than the
    // call, the next queue entry finds MaxRetries used up and archives `Expired` mid-call;
    // the call's own `Completed` then finds nothing to archive. Why RetryTime must exceed
    // WaitTime plus the call's length.
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers()));
    spool.spool(
        "x.call",
        "Channel: SIP/1\nApplication: Wait\nData: 100\nRetryTime: 5\nArchive: yes\n",
    );
    fake.run_for(Duration::from_secs(3));
    fake.crash();
    fake.restart();
    fake.run_until_idle().unwrap();
    let ends: Vec<(Status, Disposition)> = fake
        .observations()
        .ends
        .iter()
        .map(|e| (e.status, e.disposition))
        .collect();
    assert_eq!(
        ends,
        [
            (Status::Expired, Disposition::Archived),
            (Status::Completed, Disposition::Gone)
        ]
    );
    assert!(
        spool
            .archived("x.call")
            .unwrap()
            .ends_with("Status: Expired\n")
    );
}

#[test]
fn run_until_observed_stops_at_the_condition() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::busy()));
    spool.spool(
        "o.call",
        &app_call("SIP/1", "MaxRetries: 3\nRetryTime: 50\n"),
    );
    fake.run_until_observed(|o| o.attempts.len() == 2).unwrap();
    assert_eq!(
        fake.now(),
        ms(T0 + 50),
        "stopped at the second attempt's start"
    );
    assert!(
        fake.run_until_observed(|o| o.attempts.len() == 99).is_err(),
        "goes idle first"
    );
}

#[test]
fn endless_delayed_retry_is_reported_not_idle() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers_then_hangs_up(5.0)));
    spool.spool(
        "stay.call",
        &app_call("SIP/1", "AlwaysDelete: no\nRetryTime: 60\n"),
    );
    let err = fake
        .run_until_idle()
        .expect_err("a file left with a future mtime keeps being delayed");
    assert!(err.to_string().contains("DelayedRetry"), "{err}");
    assert_eq!(
        fake.observations().dials["stay.call"],
        1,
        "never dialed again by the same process"
    );
}

#[test]
fn overflowing_wait_time_rings_without_limit_or_for_a_wrapped_time() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::no_answer()));
    // A RetryTime beyond the ringing, so no DelayedRetry is written meanwhile.
    spool.spool(
        "unlimited",
        &app_call("SIP/1", "WaitTime: 2147484\nRetryTime: 100000000\n"),
    );
    spool.spool(
        "short",
        &app_call("SIP/2", "WaitTime: 4294968\nRetryTime: 100000000\n"),
    );
    spool.spool(
        "max",
        &app_call("SIP/3", "WaitTime: 2147483\nRetryTime: 100000000\n"),
    );
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    let rang = |name: &str| {
        let a = obs.attempts_of(name).next().unwrap();
        (a.ended.unwrap() - a.started, a.warnings.clone())
    };
    let (ms, warnings) = rang("unlimited");
    assert_eq!(ms, (UNLIMITED_RING_SECS * 1000.0) as i64);
    assert!(
        warnings.iter().any(|w| w.contains("without a time limit")),
        "{warnings:?}"
    );
    assert_eq!(rang("short").0, 704, "4294968 * 1000 wraps to 704 ms");
    assert_eq!(rang("max").0, 2_147_483_000);
}

#[test]
fn long_application_name_is_cut_to_31_bytes() {
    let spool = Spool::new();
    let mut fake = spool.fake_with(Callees::new(Callee::answers_then_hangs_up(1.0)));
    let app = format!("NoOp{}", "x".repeat(30));
    spool.spool("long", &format!("Channel: SIP/1\nApplication: {app}\n"));
    fake.run_until_idle().unwrap();
    let obs = fake.observations();
    let a = obs.attempts_of("long").next().unwrap();
    assert_eq!(a.apps[0].app, app[..31]);
}
