//! What a new user meets first, through the binary: clap's errors with their usage, help
//! for a bare command, JSON errors with `--json`, quiet logs, template mistakes said plainly.

mod runner;

use runner::{Dialout, Run};

fn dialout(dir: &std::path::Path, args: &[&str]) -> Run {
    Dialout::new().dir(dir).default_log().args(args).run()
}

fn stored_count(dir: &std::path::Path) -> usize {
    let run = dialout(dir, &["--json", "messages", "list", "--limit", "1000"]).ok();
    run.json().as_array().unwrap().len()
}

#[test]
fn a_bare_command_prints_its_help_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[][..],
        &["messages"],
        &["template"],
        &["callfile"],
        &["asterisk"],
    ] {
        let run = dialout(dir.path(), args).assert_code(2);
        assert!(
            run.stderr.contains("Usage: dialout"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("Commands:"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_missing_argument_is_named_with_the_usage() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(dir.path(), &["send"]).assert_code(2);
    assert!(
        run.stderr
            .starts_with("dialout: the following required arguments"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("<RECIPIENT>") && run.stderr.contains("<CONTENT>"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Usage: dialout send"), "{}", run.stderr);
    assert!(!dir.path().join("dialout.db").exists(), "nothing opened");
}

#[test]
fn a_misspelt_option_gets_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(
        dir.path(),
        &[
            "call",
            "--chanel",
            "PJSIP/1@t",
            "--application",
            "Playback",
            "--print",
        ],
    )
    .assert_code(2);
    assert!(run.stderr.contains("'--chanel'"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--channel"),
        "a similar argument is named: {}",
        run.stderr
    );
}

#[test]
fn negative_values_reach_dialouts_own_checks() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(
        dir.path(),
        &["send", "+420777123456", "hi", "--priority", "-1"],
    )
    .assert_code(2);
    assert!(run.stderr.contains("priority"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("unexpected argument"),
        "{}",
        run.stderr
    );
    let past = dialout(dir.path(), &["send", "+420777123456", "hi", "--at", "-5m"]).assert_code(2);
    assert!(
        past.stderr.starts_with("dialout: --at: "),
        "{}",
        past.stderr
    );
    assert!(past.stderr.contains("in the past"), "{}", past.stderr);
    let old = dialout(
        dir.path(),
        &[
            "send",
            "+420777123456",
            "hi",
            "--at",
            "2020-01-01T00:00:00Z",
        ],
    )
    .assert_code(2);
    assert!(old.stderr.contains("in the past"), "{}", old.stderr);
    assert_eq!(stored_count(dir.path()), 0, "nothing stored");
}

#[test]
fn with_json_an_error_is_a_json_object_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let bad_value = dialout(
        dir.path(),
        &["--json", "send", "+420777123456", "hi", "--priority", "x"],
    )
    .assert_code(2);
    assert!(bad_value.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(bad_value.stderr.trim()).expect(&bad_value.stderr);
    assert_eq!(v["error"]["kind"], "invalid_input");
    assert_eq!(v["error"]["field"], "--priority");
    assert!(v["error"]["message"].as_str().unwrap().contains("'x'"));

    let bad_number = dialout(dir.path(), &["send", "abc", "hi", "--json"]).assert_code(2);
    let v: serde_json::Value =
        serde_json::from_str(bad_number.stderr.trim()).expect(&bad_number.stderr);
    assert_eq!(v["error"]["kind"], "invalid_input");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("phone number")
    );

    let missing = dialout(
        dir.path(),
        &[
            "--json",
            "messages",
            "show",
            &dialout_dialer::MessageId::new().to_string(),
        ],
    )
    .assert_code(2);
    let v: serde_json::Value = serde_json::from_str(missing.stderr.trim()).expect(&missing.stderr);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("no message")
    );
    assert_eq!(stored_count(dir.path()), 0);
}

#[test]
fn send_logs_nothing_when_all_is_well() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(dir.path(), &["send", "+420777123456", "hello"]).ok();
    assert_eq!(
        run.stderr, "",
        "no log lines on success, the first run's migrations included"
    );
    assert!(run.stdout.contains("DEBUG (77)"), "{}", run.stdout);
    let verbose = dialout(dir.path(), &["-v", "send", "+420777123456", "hello"]).ok();
    assert!(!verbose.stderr.is_empty(), "-v says what happened");
}

#[test]
fn template_mistakes_exit_2_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dialout(dir.path(), &["template", "add", "x", "--body", ""]).assert_code(2);
    assert!(empty.stderr.contains("empty"), "{}", empty.stderr);
    let list = dialout(dir.path(), &["--json", "template", "list"]).ok();
    assert_eq!(list.json(), serde_json::json!([]));

    dialout(
        dir.path(),
        &[
            "template",
            "add",
            "hello",
            "--body",
            "Hi {{ name }} {{ day }}",
        ],
    )
    .ok();
    let nothing = dialout(dir.path(), &["template", "set", "hello"]).assert_code(2);
    assert!(
        nothing.stderr.contains("nothing to change"),
        "{}",
        nothing.stderr
    );
    let missing = dialout(dir.path(), &["send-template", "+420777123456", "hello"]).assert_code(2);
    assert!(
        missing.stderr.contains("no value for day, name"),
        "{}",
        missing.stderr
    );
    assert_eq!(stored_count(dir.path()), 0);
}

#[test]
fn every_duration_option_takes_every_form() {
    let dir = tempfile::tempdir().unwrap();
    dialout(dir.path(), &["send", "+420777123456", "hello"]).ok();
    for since in ["1 day", "2d", "P1D", "PT15M", "1h30m", "90s"] {
        let run = dialout(
            dir.path(),
            &["--json", "messages", "list", "--since", since],
        )
        .ok();
        assert_eq!(run.json().as_array().unwrap().len(), 1, "--since {since}");
    }
    let in_future = dialout(
        dir.path(),
        &["--json", "send", "+420777123456", "x", "--at", "1 day"],
    )
    .ok();
    assert!(in_future.json()["not_before"].is_string());
    let bad = dialout(dir.path(), &["messages", "list", "--since", "1 month"]).assert_code(2);
    assert!(
        bad.stderr.starts_with("dialout: --since: invalid instant"),
        "{}",
        bad.stderr
    );

    let call = |extra: &[&str]| {
        let mut args = vec![
            "call",
            "--channel",
            "PJSIP/1@t",
            "--application",
            "Playback",
            "--print",
        ];
        args.extend_from_slice(extra);
        dialout(dir.path(), &args)
    };
    let printed = call(&["--wait-time", "1m", "--retry-time", "300"]).ok();
    assert!(
        printed.stdout.contains("WaitTime: 60\n"),
        "{}",
        printed.stdout
    );
    assert!(
        printed.stdout.contains("RetryTime: 300\n"),
        "{}",
        printed.stdout
    );
    call(&["--in", "P1D"]).ok();
    call(&["--in", "1 day"]).ok();
    let half = call(&["--wait-time", "1.5s"]).assert_code(2);
    assert!(
        half.stderr.contains("whole number of seconds"),
        "{}",
        half.stderr
    );

    let worker = Dialout::new()
        .dir(dir.path())
        .args(["worker", "--once", "--no-status", "--interval", "1 day"])
        .run()
        .ok();
    assert!(
        worker.stdout.contains("worker stopped"),
        "{}",
        worker.stdout
    );
    let zero = Dialout::new()
        .dir(dir.path())
        .args(["worker", "--once", "--interval", "0s"])
        .run()
        .assert_code(2);
    assert!(zero.stderr.contains("--interval"), "{}", zero.stderr);
}

#[test]
fn a_bad_configuration_exits_2_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["mysql://x", "sqlite://"] {
        for cmd in [
            &["messages", "list"][..],
            &["send", "+420777123456", "x"],
            &["template", "list"],
        ] {
            let mut args = vec!["--database", url];
            args.extend_from_slice(cmd);
            let run = dialout(dir.path(), &args).assert_code(2);
            assert!(
                run.stderr.contains("database URL"),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    std::fs::write(
        dir.path().join("dialout.toml"),
        "[backends.d]\nkind = \"dummy\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    for cmd in [
        &["messages", "list"][..],
        &["template", "list"],
        &["send", "+420777123456", "x"],
        &["check-status"],
    ] {
        let run = dialout(dir.path(), cmd).assert_code(2);
        assert!(
            run.stderr.contains("backends.d.colour"),
            "{cmd:?}: {}",
            run.stderr
        );
    }
    std::fs::write(
        dir.path().join("dialout.toml"),
        "[delivery]\nlease = \"soon\"\n",
    )
    .unwrap();
    let run = dialout(dir.path(), &["messages", "list"]).assert_code(2);
    assert!(run.stderr.contains("delivery.lease"), "{}", run.stderr);
    assert!(!dir.path().join("dialout.db").exists(), "nothing created");
}

#[test]
fn messages_list_pages_with_a_cursor_and_lists_all_with_limit_0() {
    let dir = tempfile::tempdir().unwrap();
    // No database here yet: said so, and none is made.
    let nothing = dialout(dir.path(), &["--json", "messages", "list"]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert!(
        nothing.stderr.contains("no database at"),
        "{}",
        nothing.stderr
    );
    assert!(!dir.path().join("dialout.db").exists());
    for i in 0..105 {
        dialout(
            dir.path(),
            &["send", "+420777123456", &format!("m{i}"), "--queued"],
        )
        .ok();
    }
    let ids = |run: &Run| -> Vec<String> {
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let default = dialout(dir.path(), &["--json", "messages", "list"]).ok();
    assert_eq!(ids(&default).len(), 100, "the default limit");
    let all = dialout(dir.path(), &["--json", "messages", "list", "--limit", "0"]).ok();
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 105);
    // The streamed array is laid out as serde_json lays out a whole one.
    let whole: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(
        all.stdout,
        serde_json::to_string_pretty(&whole).unwrap() + "\n"
    );

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["--json", "messages", "list", "--limit", "40"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = ids(&dialout(dir.path(), &args).ok());
        if page.is_empty() {
            break;
        }
        cursor = page.last().cloned();
        paged.extend(page);
    }
    assert_eq!(
        paged, all_ids,
        "pages cover every message once, newest first"
    );

    let text = dialout(dir.path(), &["messages", "list", "--limit", "0"]).ok();
    assert_eq!(text.stdout.lines().count(), 105);
    let bad = dialout(dir.path(), &["messages", "list", "--cursor", "nope"]).assert_code(2);
    assert!(
        bad.stderr.starts_with("dialout: --cursor: "),
        "{}",
        bad.stderr
    );
}

#[test]
fn content_limits_exit_2_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(2_001);
    let run = dialout(dir.path(), &["send", "+420777123456", &long]).assert_code(2);
    assert!(
        run.stderr.contains("the limit is 2000 (max_content_chars)"),
        "{}",
        run.stderr
    );
    let zw = dialout(dir.path(), &["send", "+420777123456", "\u{200b}"]).assert_code(2);
    assert!(zw.stderr.contains("no letter or digit"), "{}", zw.stderr);
    std::fs::write(
        dir.path().join("dialout.toml"),
        "max_content_chars = 3000\n",
    )
    .unwrap();
    dialout(dir.path(), &["send", "+420777123456", &long, "--queued"]).ok();
    assert_eq!(stored_count(dir.path()), 1);
    std::fs::write(dir.path().join("dialout.toml"), "max_content_chars = 0\n").unwrap();
    let zero = dialout(dir.path(), &["messages", "list"]).assert_code(2);
    assert!(zero.stderr.contains("max_content_chars"), "{}", zero.stderr);
}

#[test]
fn postgres_commands_log_no_server_notices() {
    let admin = std::env::var("DIALOUT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!("PostgreSQL is needed for this test and is unreachable at {admin} ({e}): start the local server or set DIALOUT_TEST_PG_URL")
    });
    let name = format!(
        "dialout_test_{}",
        dialout_dialer::MessageId::new().as_uuid().simple()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = admin.split('?').next().unwrap();
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let run = dialout(dir.path(), &["-vv", "--database", &url, "messages", "list"]).ok();
        assert!(!run.stderr.contains("NOTICE"), "{}", run.stderr);
    }
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    std::fs::write(&db, "these are my notes, not a database\n".repeat(200)).unwrap();
    let url = format!("sqlite://{}", db.display());
    for cmd in [&["messages", "list"][..], &["send", "+420777123456", "x"]] {
        let mut args = vec!["--database", url.as_str()];
        args.extend_from_slice(cmd);
        let run = dialout(dir.path(), &args).assert_code(1);
        assert!(
            run.stderr.contains(&db.display().to_string()),
            "{cmd:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("not a database"), "{}", run.stderr);
    }
    assert!(
        std::fs::read_to_string(&db)
            .unwrap()
            .starts_with("these are my notes"),
        "untouched"
    );
}
