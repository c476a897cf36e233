//! The dialer commands through the built binary: `send`, `send-template`, `template`,
//! `messages`, exit codes, JSON shape, and bad input storing nothing.

mod runner;

use std::path::Path;

use dialout_dialer::{Message, State};
use dialout_store::{self as store, MessageFilter};
use runner::{Dialout, Run};

/// Runs `dialout` in `dir` with no DIALOUT_* variables from the outer environment but `env`.
fn dialout(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    env.iter()
        .fold(Dialout::new().dir(dir).args(args), |d, (k, v)| d.env(k, v))
        .run()
}

fn stored(dir: &Path) -> Vec<Message> {
    let db = dir.join("dialout.db");
    if !db.exists() {
        return Vec::new();
    }
    store::open(&format!("sqlite://{}", db.display()))
        .unwrap()
        .messages(&MessageFilter::default())
        .unwrap()
}

#[test]
fn main_job_works_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(
        dir.path(),
        &["send", "+420777123456", "Your order has shipped"],
        &[],
    )
    .ok();
    assert!(run.stdout.contains("DEBUG (77)"), "{}", run.stdout);
    let all = stored(dir.path());
    assert_eq!(all.len(), 1, "stored in ./dialout.db");
    assert_eq!(
        (all[0].state, all[0].backend.as_str()),
        (State::Debug, "dummy")
    );
    assert_eq!(all[0].content, "Your order has shipped");
}

#[test]
fn json_shape_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--json",
        "send",
        "00420777123456",
        "Hi",
        "--tag",
        "t1",
        "--related",
        "order:42",
        "--extra",
        "a=b",
        "--extra-json",
        r#"{"n": 1}"#,
        "--priority",
        "1",
        "--predictive",
    ];
    let v = dialout(dir.path(), &args, &[]).ok().json();
    assert_eq!(v["state"], "DEBUG");
    assert_eq!(v["state_code"], 77);
    assert_eq!(v["recipient"], "+420777123456");
    assert_eq!(v["related"], serde_json::json!(["order:42"]));
    assert_eq!(v["extra_data"], serde_json::json!({"a": "b", "n": 1}));
    assert_eq!(
        (v["priority"].as_i64(), v["predictive"].as_bool()),
        (Some(1), Some(true))
    );
    let created = v["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z'), "UTC: {created}");
    created.parse::<jiff::Timestamp>().expect("RFC 3339");

    let id = v["id"].as_str().unwrap();
    let shown = dialout(dir.path(), &["--json", "messages", "show", id], &[])
        .ok()
        .json();
    let h = shown["history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0]["to"].as_str(), h[0]["to_code"].as_i64()),
        (Some("WAITING"), Some(-1))
    );
    assert_eq!(
        (h[1]["from"].as_str(), h[1]["to"].as_str()),
        (Some("WAITING"), Some("DEBUG"))
    );
    let human = dialout(dir.path(), &["messages", "show", id], &[]).ok();
    assert!(
        human.stdout.contains("WAITING -> DEBUG"),
        "{}",
        human.stdout
    );
}

/// Each bad input: exit code 2, a clear error naming the problem, nothing stored.
#[test]
fn bad_inputs_exit_2_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(
        d,
        &["template", "add", "hello", "--body", "Hello {{ name }}"],
        &[],
    )
    .ok();
    let cases: &[(&[&str], &str)] = &[
        (&["send", "+420 12", "x"], "invalid phone number"),
        (&["send", "777123456", "x"], "default_region"),
        (&["send", "1-800-FLOWERS", "x"], "'F' is not allowed"),
        (
            &["send", "+420 777 123 456 ext. 12", "x"],
            "'e' is not allowed",
        ),
        (
            &["send-template", "+420777123456", "nope"],
            "unknown template \"nope\"",
        ),
        (
            &["send-template", "+420777123456", "hello"],
            "the context has no value for name",
        ),
        (
            &["send", "+420777123456", "x", "--tag", "bad tag"],
            "invalid tag",
        ),
        (
            &["send", "+420777123456", "x", "--related", "order"],
            "invalid related object",
        ),
        (
            &["send", "+420777123456", "x", "--related", "Order:1"],
            "invalid related object",
        ),
        (
            &["send", "+420777123456", "x", "--backend", "fax"],
            "unknown backend \"fax\"",
        ),
        (
            &["send", "+420777123456", "x", "--priority", "7"],
            "invalid priority",
        ),
        (
            &["send", "+420777123456", "x", "--extra", "novalue"],
            "KEY=VALUE",
        ),
        (
            &["send", "+420777123456", "x", "--extra-json", "[1]"],
            "JSON object",
        ),
        (
            &["send", "+420777123456", "x", "--at", "tomorrow-ish"],
            "invalid instant",
        ),
    ];
    for (args, expected) in cases {
        let run = dialout(d, args, &[]);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{args:?}: expected {expected:?} in {}",
            run.stderr
        );
    }
    assert!(stored(d).is_empty(), "nothing stored");

    let syntax = dialout(
        d,
        &["template", "add", "broken", "--body", "Hello {{ name"],
        &[],
    );
    assert_eq!(syntax.code, 2);
    assert!(syntax.stderr.contains("syntax error"), "{}", syntax.stderr);
    assert_eq!(
        dialout(d, &["template", "show", "broken"], &[]).code,
        2,
        "not stored"
    );

    // The same idempotency key with other content.
    dialout(
        d,
        &["send", "+420777123456", "first", "--idempotency-key", "k1"],
        &[],
    )
    .ok();
    let again = dialout(
        d,
        &[
            "--json",
            "send",
            "+420777123456",
            "first",
            "--idempotency-key",
            "k1",
        ],
        &[],
    )
    .ok()
    .json();
    assert_eq!(again["existing"], true);
    let other = dialout(
        d,
        &["send", "+420777123456", "second", "--idempotency-key", "k1"],
        &[],
    );
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other.stderr.contains("idempotency key \"k1\""),
        "{}",
        other.stderr
    );
    let all = stored(d);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].content, "first");
}

#[test]
fn templates_and_refused_send_template_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(
        d,
        &[
            "template",
            "add",
            "shipped",
            "--body",
            "Order {{ order }} shipped",
            "--no-duplicates",
        ],
        &[],
    )
    .ok();
    assert_eq!(
        dialout(d, &["template", "add", "shipped", "--body", "x"], &[]).code,
        2,
        "exists"
    );
    let sent = dialout(
        d,
        &[
            "--json",
            "send-template",
            "+420777123456",
            "shipped",
            "--context",
            "order=42",
            "--related",
            "order:42",
        ],
        &[],
    )
    .ok()
    .json();
    assert_eq!(sent["content"], "Order 42 shipped");
    assert_eq!(sent["template_slug"], "shipped");

    let dup = dialout(
        d,
        &[
            "send-template",
            "+420777123456",
            "shipped",
            "--context-json",
            r#"{"order": 42}"#,
            "--related",
            "order:42",
        ],
        &[],
    );
    assert_eq!(dup.code, 3, "{}", dup.stderr);
    assert!(
        dup.stderr.contains("does not allow duplicates"),
        "{}",
        dup.stderr
    );

    dialout(
        d,
        &[
            "template",
            "set",
            "shipped",
            "--inactive",
            "--body",
            "Order {{ order }} is on its way",
        ],
        &[],
    )
    .ok();
    let t = dialout(d, &["--json", "template", "show", "shipped"], &[])
        .ok()
        .json();
    assert_eq!(
        (t["active"].as_bool(), t["body"].as_str()),
        (Some(false), Some("Order {{ order }} is on its way"))
    );
    let off = dialout(
        d,
        &[
            "send-template",
            "+420777123456",
            "shipped",
            "--context",
            "order=43",
            "--related",
            "order:43",
        ],
        &[],
    );
    assert_eq!(off.code, 3);
    assert!(off.stderr.contains("inactive"), "{}", off.stderr);
    assert_eq!(
        dialout(
            d,
            &["template", "set", "shipped", "--body", "{% if %}"],
            &[]
        )
        .code,
        2
    );

    let list = dialout(d, &["--json", "template", "list"], &[]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    dialout(d, &["template", "remove", "shipped"], &[]).ok();
    assert_eq!(dialout(d, &["template", "remove", "shipped"], &[]).code, 2);
    let all = stored(d);
    assert_eq!(all.len(), 1, "refusals stored nothing");
    assert_eq!(
        (all[0].template_slug.as_deref(), all[0].template_id),
        (Some("shipped"), None)
    );
}

#[test]
fn messages_list_filters_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(
        d,
        &[
            "send",
            "+420777123456",
            "a",
            "--related",
            "order:1",
            "--tag",
            "x",
        ],
        &[],
    )
    .ok();
    dialout(
        d,
        &["send", "+420777123456", "b", "--related", "order:2"],
        &[],
    )
    .ok();
    dialout(d, &["send", "+420777123456", "c", "--at", "2h"], &[]).ok();
    let contents = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["--json", "messages", "list"];
        full.extend_from_slice(args);
        dialout(d, &full, &[])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(contents(&[]), ["c", "b", "a"]);
    assert_eq!(contents(&["--related", "order:1"]), ["a"]);
    assert_eq!(contents(&["--tag", "x"]), ["a"]);
    assert_eq!(
        contents(&["--state", "waiting"]),
        ["c"],
        "--at in the future: not published yet"
    );
    assert_eq!(contents(&["--state", "77"]), ["b", "a"]);
    assert_eq!(contents(&["--since", "1h", "--limit", "2"]), ["c", "b"]);
    assert_eq!(contents(&["--since", "2000-01-01T00:00:00Z"]).len(), 3);
    assert!(contents(&["--since", "2999-01-01T00:00:00Z"]).is_empty());
    assert_eq!(
        dialout(d, &["messages", "list", "--state", "SENT"], &[]).code,
        2
    );
    assert_eq!(dialout(d, &["messages", "show", "not-an-id"], &[]).code, 2);
}

#[test]
fn configuration_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("dialout.toml"),
        "default_region = \"CZ\"\ndatabase_url = \"sqlite://other.db\"\n",
    )
    .unwrap();
    let v = dialout(d, &["--json", "send", "777 123 456", "x"], &[])
        .ok()
        .json();
    assert_eq!(
        v["recipient"], "+420777123456",
        "default_region from ./dialout.toml"
    );
    assert!(d.join("other.db").exists());
    assert!(stored(d).is_empty(), "database_url from the file was used");

    // The environment overrides the file; --database overrides both.
    let us = dialout(
        d,
        &[
            "--json",
            "--database",
            "sqlite://dialout.db",
            "send",
            "(201) 555-0123",
            "x",
        ],
        &[("DIALOUT_DEFAULT_REGION", "US")],
    )
    .ok()
    .json();
    assert_eq!(us["recipient"], "+12015550123");
    assert_eq!(stored(d).len(), 1);

    std::fs::write(
        d.join("bad.toml"),
        "default_region = \"CZ\"\ndefualt_backend = \"x\"\n",
    )
    .unwrap();
    let bad = dialout(
        d,
        &["--config", "bad.toml", "send", "+420777123456", "x"],
        &[],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("defualt_backend") && bad.stderr.contains("line 2"),
        "{}",
        bad.stderr
    );

    let missing = dialout(
        d,
        &["send", "+420777123456", "x"],
        &[("DIALOUT_CONFIG", "nope.toml")],
    );
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.toml"), "{}", missing.stderr);

    std::fs::write(d.join("batch.toml"), "batch_sending = true\n").unwrap();
    let queued = dialout(
        d,
        &[
            "--json",
            "--config",
            "batch.toml",
            "send",
            "+420777123456",
            "x",
        ],
        &[],
    )
    .ok()
    .json();
    assert_eq!(queued["state"], "WAITING");
}

#[test]
fn unreachable_database_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(
        dir.path(),
        &[
            "--database",
            "postgres://u:hunter2@127.0.0.1:1/db",
            "send",
            "+420777123456",
            "x",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        dialout(
            dir.path(),
            &["send", "+420777123456", &format!("message {i}")],
            &[],
        )
        .ok();
    }
    // The reader goes away before dialout writes (as `dialout ... | head -1` can).
    let mut child = Dialout::new()
        .dir(dir.path())
        .args(["--json", "messages", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// A template added without `--no-duplicates` sends the same related objects again, as one
/// added through the API or the dashboard does; `--no-duplicates` refuses the second.
#[test]
fn templates_allow_duplicates_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(
        d,
        &["template", "add", "ready", "--body", "Order {{ order }}"],
        &[],
    )
    .ok();
    let t = dialout(d, &["--json", "template", "show", "ready"], &[])
        .ok()
        .json();
    assert_eq!(t["allow_duplicates"], true, "{t}");
    let send = |slug: &str| {
        dialout(
            d,
            &[
                "send-template",
                "+420777123456",
                slug,
                "--context",
                "order=7",
                "--related",
                "order:7",
            ],
            &[],
        )
    };
    send("ready").ok();
    send("ready").ok();
    assert_eq!(stored(d).len(), 2, "the repeat was sent");

    dialout(
        d,
        &[
            "template",
            "add",
            "once",
            "--body",
            "Order {{ order }}",
            "--no-duplicates",
        ],
        &[],
    )
    .ok();
    send("once").ok();
    let dup = send("once");
    assert_eq!(dup.code, 3, "{}", dup.stderr);
    assert_eq!(stored(d).len(), 3, "the refused repeat stored nothing");
}
