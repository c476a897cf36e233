//! `dialout asterisk dialplan --ami` and `dialout doctor` for an AMI backend, against the
//! fake AMI server running in this test process.

mod runner;

use dialout_testkit::fake_ami::FakeAmi;
use runner::Dialout;

#[test]
fn the_ami_dialplan_reports_by_userevent_and_astdb() {
    let out = Dialout::new()
        .args(["asterisk", "dialplan", "--ami"])
        .run()
        .ok()
        .stdout;
    assert!(out.contains("[dialout-ami]"), "{out}");
    for needle in [
        "UserEvent(DialoutReport,Id: ${DIALOUT_ID},Phase: answered)",
        "Set(DB(dialout/${DIALOUT_ID})=complete ${EPOCH} ${PLAYBACKSTATUS})",
        "exten => failed,1,Set(DB(dialout/${DIALOUT_ID})=failed ${EPOCH} ${REASON})",
        "${HANGUPCAUSE}",
        "Playback(${DIALOUT_AUDIO})",
    ] {
        assert!(out.contains(needle), "missing {needle}");
    }
    let renamed = Dialout::new()
        .args(["asterisk", "dialplan", "--ami", "--context", "calls-out"])
        .run()
        .ok()
        .stdout;
    assert!(renamed.contains("[calls-out]") && !renamed.contains("[dialout-ami]"));
    Dialout::new()
        .args(["asterisk", "dialplan", "--ami", "--context", "a b"])
        .run()
        .assert_code(2);
}

/// A runtime of the test's own for the fake AMI server (the binary runs in other processes).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn config(dir: &std::path::Path, port: u16, secret: &str, context: &str) -> std::path::PathBuf {
    let path = dir.join("dialout.toml");
    std::fs::write(
        &path,
        format!(
            "[backends.pbx]\nkind = \"ami\"\nhost = \"127.0.0.1\"\nport = {port}\nusername = \"dialout\"\nsecret = \"{secret}\"\n\
             channel = \"PJSIP/{{e164}}@trunk\"\ncontext = \"{context}\"\naudio_url = \"http://dialout.example:8080/audio\"\naudio_dir = \"{}/audio\"\n",
            dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn doctor_checks_the_login_the_context_and_the_audio_url() {
    let rt = runtime();
    let fake = rt.block_on(FakeAmi::start("dialout", "s3cret")).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let good = config(dir.path(), fake.port(), "s3cret", "dialout-ami");
    let run = Dialout::new()
        .arg("--config")
        .arg(&good)
        .args(["doctor", "--json"])
        .run();
    let report = run.json();
    let checks = report[0]["checks"].as_array().unwrap().clone();
    let ok = |what: &str| {
        checks
            .iter()
            .find(|c| c["what"].as_str().unwrap().contains(what))
            .unwrap_or_else(|| panic!("no check {what}: {checks:?}"))["ok"]
            .as_bool()
            .unwrap()
    };
    assert!(ok("AMI login"), "{checks:?}");
    assert!(ok("context [dialout-ami]"), "{checks:?}");
    assert!(ok("app_amd is loaded"), "{checks:?}");
    // The fake, like the reference, knows no `Command`: the URL check says what to do.
    assert!(!ok("test audio URL"));
    assert!(dir.path().join("audio/dialout-doctor.wav").is_file());

    let wrong_context = config(dir.path(), fake.port(), "s3cret", "elsewhere");
    let run = Dialout::new()
        .arg("--config")
        .arg(&wrong_context)
        .arg("doctor")
        .run()
        .assert_code(1);
    assert!(
        run.stdout
            .contains("FAIL  the dialplan has context [elsewhere]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("dialout asterisk dialplan --ami --context elsewhere"),
        "{}",
        run.stdout
    );

    let wrong_secret = config(dir.path(), fake.port(), "not-it-42", "dialout-ami");
    let run = Dialout::new()
        .arg("--config")
        .arg(&wrong_secret)
        .arg("doctor")
        .run()
        .assert_code(1);
    assert!(
        run.stdout.contains("FAIL  AMI login as \"dialout\""),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("not-it-42") && !run.stderr.contains("not-it-42"));

    drop(fake);
    let down = config(dir.path(), 1, "s3cret", "dialout-ami");
    let run = Dialout::new()
        .arg("--config")
        .arg(&down)
        .arg("doctor")
        .run()
        .assert_code(1);
    assert!(
        run.stdout.contains("FAIL  AMI reachable on 127.0.0.1:1"),
        "{}",
        run.stdout
    );
    drop(rt);
}

/// Real Asterisk answers a wrong secret after about a second and closes the socket right
/// after: `doctor` must say the login was refused, never that the manager is unreachable,
/// every time.
#[test]
fn a_wrong_secret_is_named_a_refused_login_by_doctor_and_the_worker_every_time() {
    let rt = runtime();
    let fake = rt.block_on(FakeAmi::start("dialout", "s3cret")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = config(dir.path(), fake.port(), "not-it-42", "dialout-ami");
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let wrong = wrong.clone();
                s.spawn(move || {
                    Dialout::new()
                        .arg("--config")
                        .arg(&wrong)
                        .arg("doctor")
                        .run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in runs {
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(
            run.stdout.contains("FAIL  AMI login as \"dialout\"")
                && run.stdout.contains("the login was refused"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("AMI reachable"), "{}", run.stdout);
        assert!(!run.stdout.contains("not-it-42") && !run.stderr.contains("not-it-42"));
    }
    assert_eq!(fake.logins(), (0, 20));

    // The worker, with a message to place: it says the login was refused, not "lost".
    let db = format!("sqlite://{}/dialout.db", dir.path().display());
    Dialout::new()
        .arg("--config")
        .arg(&wrong)
        .arg("--database")
        .arg(&db)
        .args(["send", "--queued", "+420777000101", "Your parcel is ready."])
        .run()
        .ok();
    let log = dir.path().join("worker.log");
    let mut child = Dialout::new()
        .log("info")
        .arg("--config")
        .arg(&wrong)
        .arg("--database")
        .arg(&db)
        .arg("worker")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn();
    let start = std::time::Instant::now();
    let said = || std::fs::read_to_string(&log).unwrap_or_default();
    while !said().contains("AMI login refused") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{}",
            said()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = child.kill();
    let _ = child.wait();
    let said = said();
    assert!(said.contains("Authentication failed"), "{said}");
    assert!(!said.contains("connection lost"), "{said}");
    assert!(!said.contains("not-it-42"), "{said}");
    drop(rt);
}
