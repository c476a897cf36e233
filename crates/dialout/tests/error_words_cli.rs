//! Error messages a user reads: whole sentences, the option at fault named (also in
//! `--json`'s `field`), no Rust type names.

mod runner;

use runner::Dialout;

fn in_dir(dir: &std::path::Path) -> Dialout {
    Dialout::new()
        .dir(dir)
        .env_remove("DIALOUT_DATABASE_URL")
        .env_remove("DIALOUT_CONFIG")
}

/// Nothing was stored in `dir`: no database, or one without messages.
fn nothing_stored(dir: &std::path::Path) {
    if !dir.join("dialout.db").exists() {
        return;
    }
    let list = in_dir(dir).args(["--json", "messages", "list"]).run();
    assert_eq!(list.stdout.trim(), "[]", "{}", list.stderr);
}

fn json_error(stderr: &str) -> serde_json::Value {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("{\"error\""))
        .unwrap_or_else(|| panic!("no JSON error on stderr: {stderr}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn a_word_for_priority_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let run = in_dir(dir.path())
        .args(["send", "+420777123456", "Hi", "--priority", "high"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("expected 1 (highest), 2 or 3 (the default)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("invalid digit"), "{}", run.stderr);
    let run = in_dir(dir.path())
        .args([
            "--json",
            "send",
            "+420777123456",
            "Hi",
            "--priority",
            "high",
        ])
        .run();
    assert_eq!(json_error(&run.stderr)["error"]["field"], "--priority");
    // Out of range: the dialer refuses it, and --json still names the option.
    let run = in_dir(dir.path())
        .args(["--json", "send", "+420777123456", "Hi", "--priority", "7"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(json_error(&run.stderr)["error"]["field"], "--priority");
    nothing_stored(dir.path());
}

#[test]
fn json_errors_name_the_argument_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    for (args, field) in [
        (vec!["send", "12", "Hi"], "RECIPIENT"),
        (vec!["send", "+420777123456", "Hi", "--tag", "a b"], "--tag"),
        (
            vec!["send", "+420777123456", "Hi", "--related", "nocolon"],
            "--related",
        ),
        (
            vec!["send", "+420777123456", "Hi", "--time-zone", "Mars/Base"],
            "--time-zone",
        ),
        (vec!["send-template", "+420777123456", "no-such"], "SLUG"),
    ] {
        let mut all = vec!["--json"];
        all.extend(&args);
        let run = in_dir(dir.path()).args(&all).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(
            json_error(&run.stderr)["error"]["field"],
            field,
            "{args:?}: {}",
            run.stderr
        );
    }
    nothing_stored(dir.path());
}

#[test]
fn a_phone_number_error_is_a_whole_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let run = in_dir(dir.path())
        .args(["send", "+420 777 123 456 x", "Hi"])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("'x' is not allowed in a phone number: use digits, spaces, a leading + and the separators - . ( ) /"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_value_of_the_wrong_shape_says_what_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dialout.toml"),
        "[delivery]\nmax_calls_per_recipient = 3\n",
    )
    .unwrap();
    let run = in_dir(dir.path())
        .args(["send", "+420777123456", "Hi"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("a table such as { count = 3, per = \"24h\" }"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("CapConfig"), "{}", run.stderr);
}
