//! `dialout asterisk dialplan`, `dialout doctor`, and `dialout send` through the Asterisk
//! backend, run as the built binary.

mod runner;

use std::path::Path;

use runner::{Dialout, Run};

/// `dialout ARGS` in `dir` at the binary's own log level, as a user runs it.
fn dialout(dir: &Path, args: &[&str]) -> Run {
    Dialout::new().default_log().dir(dir).args(args).run()
}

fn write_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("dialout.toml");
    std::fs::write(
        &path,
        format!(
            "database_url = \"sqlite://{0}/dialout.db\"\n[backends.pbx]\nkind = \"asterisk\"\nspool_dir = \"{0}/spool/outgoing\"\n\
             channel = \"PJSIP/{{number}}@trunk\"\n{extra}",
            dir.display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn dialplan_prints_the_shipped_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dialout(dir.path(), &["asterisk", "dialplan"]);
    assert_eq!(out.code, 0);
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/dialout.conf"),
    )
    .unwrap();
    assert_eq!(out.stdout, shipped);
    let renamed = dialout(
        dir.path(),
        &["asterisk", "dialplan", "--context", "my-calls"],
    );
    assert!(renamed.stdout.contains("\n[my-calls]\n"));
    assert!(!renamed.stdout.contains("[dialout-message]"));
    let bad = dialout(dir.path(), &["asterisk", "dialplan", "--context", "a]b"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--context"));
}

#[test]
fn doctor_passes_a_good_setup_and_says_what_to_fix_in_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in [
        "spool/outgoing/.dialout-staging",
        "spool/outgoing_done",
        "spool/dialout/audio",
        "spool/dialout/reports",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let config = write_config(root, "");
    let good = dialout(root, &["--config", &config, "doctor"]);
    assert_eq!(good.code, 0, "{}{}", good.stdout, good.stderr);
    assert!(!good.stdout.contains("FAIL"), "{}", good.stdout);
    assert!(good.stdout.contains("one filesystem"));

    let shm = tempfile::tempdir_in("/dev/shm").expect("this test needs /dev/shm");
    std::fs::remove_dir(root.join("spool/dialout/reports")).unwrap();
    let config = write_config(
        root,
        &format!(
            "staging_dir = \"{}\"\nuser = \"no-such-user-dialout\"\n",
            shm.path().display()
        ),
    );
    let bad = dialout(root, &["--config", &config, "doctor"]);
    assert_eq!(bad.code, 1);
    let out = bad.stdout;
    assert!(
        out.contains("FAIL  staging_dir and spool_dir are on one filesystem"),
        "{out}"
    );
    assert!(out.contains("EXDEV"), "{out}");
    assert!(out.contains("no such user"), "{out}");
    assert!(out.contains("FAIL  report_dir"), "{out}");
    assert!(out.contains("fix: "), "{out}");
    let json = dialout(root, &["--config", &config, "--json", "doctor"]);
    let v = json.json();
    assert_eq!(v[0]["backend"], "pbx");
    assert_eq!(v[0]["ok"], false);
    assert!(
        v[0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["ok"] == false && c["fix"].is_string())
    );
}

#[test]
fn send_spools_one_call_file_and_the_message_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("spool/outgoing")).unwrap();
    let config = write_config(root, "");
    let out = dialout(
        root,
        &[
            "--config",
            &config,
            "--json",
            "send",
            "+420777123456",
            "Your order has shipped",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    let msg = if v.is_array() { v[0].clone() } else { v };
    let id = msg["id"].as_str().unwrap().to_string();
    assert_eq!(msg["state"], "READY", "{msg}");
    let spooled = root
        .join("spool/outgoing")
        .join(format!("dialout-{id}.call"));
    let file = std::fs::read_to_string(&spooled).unwrap();
    assert!(
        file.contains("Channel: PJSIP/+420777123456@trunk\n"),
        "{file}"
    );
    assert!(file.contains("Context: dialout-message\n"), "{file}");
    assert!(file.contains(&format!("Set: DIALOUT_ID={id}\n")), "{file}");
    assert!(file.contains("Archive: yes\n"), "{file}");
    assert!(
        !file.contains("shipped"),
        "the text never goes into the call file"
    );
}

#[test]
fn a_bad_backend_key_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("spool/outgoing")).unwrap();
    let config = write_config(root, "calls_per_second = -1\n");
    let out = dialout(root, &["--config", &config, "send", "+420777123456", "Hi"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("backends.pbx.calls_per_second"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(root.join("spool/outgoing"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn stored_data_stays_readable_when_the_backend_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("spool/outgoing")).unwrap();
    let config = write_config(root, "");
    let sent = dialout(root, &["--config", &config, "send", "+420777123456", "Hi"]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);

    // Now the spool sits under a file: the backend cannot start, so sending fails...
    std::fs::write(root.join("blocker"), "").unwrap();
    let broken = write_config(root, "");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&broken)
            .unwrap()
            .replace("/spool/outgoing", "/blocker/outgoing"),
    )
    .unwrap();
    let send = dialout(
        root,
        &["--config", &broken, "send", "+420777123456", "Hi again"],
    );
    assert_ne!(send.code, 0, "{}", send.stdout);
    // ...but listing messages and managing templates need only the store.
    let list = dialout(root, &["--config", &broken, "--json", "messages", "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed = list.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let tpl = dialout(
        root,
        &[
            "--config",
            &broken,
            "template",
            "add",
            "hello",
            "--body",
            "Hello {{ name }}",
        ],
    );
    assert_eq!(tpl.code, 0, "{}", tpl.stderr);
}

#[test]
fn doctor_creates_nothing_and_says_what_start_up_will_create() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A fresh install: only Asterisk's own spool directory exists.
    std::fs::create_dir_all(root.join("spool/outgoing")).unwrap();
    let config = write_config(root, "");
    let run = dialout(root, &["--config", &config, "doctor"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
    for (key, d, mode) in [
        ("staging_dir", "spool/outgoing/.dialout-staging", "700"),
        ("done_dir", "spool/outgoing_done", "750"),
        ("audio_dir", "spool/dialout/audio", "750"),
        ("report_dir", "spool/dialout/reports", "770"),
    ] {
        let path = root.join(d);
        assert!(!path.exists(), "{key}: the doctor created {d}");
        assert!(
            run.stdout.contains(&format!(
                "{key} {} does not exist yet; dialout creates it at start-up (mode {mode})",
                path.display()
            )),
            "{key}: {}",
            run.stdout
        );
    }

    // A typo in spool_dir: flagged, and neither it nor anything inside it is made.
    let typo = root.join("spol/outgoing");
    let config = write_config(root, "");
    let config_text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("spool/outgoing", "spol/outgoing");
    std::fs::write(&config, config_text).unwrap();
    for _ in 0..2 {
        let run = dialout(root, &["--config", &config, "doctor"]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(
            run.stdout
                .contains(&format!("FAIL  spool_dir {} exists", typo.display())),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("inside spool_dir") && run.stdout.contains("fix spool_dir first"),
            "{}",
            run.stdout
        );
        assert!(
            !root.join("spol").exists(),
            "the doctor made the wrong directory"
        );
    }
}
