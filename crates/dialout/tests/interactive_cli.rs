//! Interactive calls through the built binary (SQLite, the File backend): the `--gather-*`
//! and `--machine` options of `send`, `template add|set` and `import` (and its `gather` and
//! `machine` columns), the reply read back by `check-status`, `messages list --answer`, and
//! refusals with the option named in `--json` errors and nothing stored.

mod runner;

use std::path::Path;

use runner::{Dialout, Run};
use serde_json::Value;

fn setup(dir: &Path) {
    let outbox = dir.join("outbox");
    std::fs::write(
        dir.join("dialout.toml"),
        format!(
            "default_backend = \"f\"\n[backends.f]\nkind = \"file\"\ndir = {:?}\n\
             [backends.dk]\nkind = \"daktela\"\nurl = \"http://127.0.0.1:9/api/v6/campaignsRecords\"\n\
             access_token = \"t0ken\"\nautodialer_record_type = \"records_1\"\n",
            outbox.display().to_string()
        ),
    )
    .unwrap();
}

fn dialout(dir: &Path, args: &[&str]) -> Run {
    Dialout::new().dir(dir).args(args).run()
}

fn json_error(run: &Run) -> Value {
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("{\"error\""))
        .unwrap_or_else(|| panic!("no JSON error on stderr: {}", run.stderr));
    serde_json::from_str(line).unwrap()
}

fn result(dir: &Path, id: &str, body: &str) {
    let results = dir.join("outbox").join("results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join(format!("{id}.json")), body).unwrap();
}

#[test]
fn send_press_and_list_by_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let sent = dialout(
        d,
        &[
            "--json",
            "send",
            "+420777123456",
            "Your visit is tomorrow at 9.",
            "--gather-prompt",
            "Press 1 to confirm, 2 to cancel.",
            "--gather-keys",
            "12",
            "--gather-answer",
            "1=confirmed",
            "--gather-answer",
            "2=cancelled",
            "--gather-timeout",
            "8",
            "--machine",
            "leave_message",
        ],
    )
    .ok()
    .json();
    assert_eq!(sent["gather"]["keys"], "12");
    assert_eq!(sent["gather"]["timeout"], 8);
    assert_eq!(sent["gather"]["finish_key"], "#");
    assert_eq!(sent["machine"], "leave_message");
    let id = sent["id"].as_str().unwrap().to_string();

    // The same gather from a file, and no finish key.
    std::fs::write(
        d.join("g.json"),
        r#"{"keys": "12", "finish_key": null, "answers": {"1": "confirmed", "2": "cancelled"}}"#,
    )
    .unwrap();
    let other = dialout(
        d,
        &[
            "--json",
            "send",
            "+420777123457",
            "Hi",
            "--gather-file",
            "g.json",
        ],
    )
    .ok()
    .json();
    assert_eq!(other["gather"]["finish_key"], Value::Null);
    let other = other["id"].as_str().unwrap().to_string();

    result(
        d,
        &id,
        r#"{"state": "ANSWERED_COMPLETE", "digits": "1", "answered_by": "human"}"#,
    );
    result(
        d,
        &other,
        r#"{"state": "ANSWERED_COMPLETE", "digits": "2", "answered_by": "machine"}"#,
    );
    dialout(d, &["check-status"]).ok();

    let shown = dialout(d, &["--json", "messages", "show", &id]).ok().json();
    assert_eq!(shown["digits"], "1");
    assert_eq!(shown["answer"], "confirmed");
    assert_eq!(shown["answered_by"], "human");
    let last = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["answer"], "confirmed");
    let text = dialout(d, &["messages", "show", &id]).ok().stdout;
    assert!(
        text.contains("answer") && text.contains("confirmed"),
        "{text}"
    );

    let listed = dialout(d, &["--json", "messages", "list", "--answer", "confirmed"])
        .ok()
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
}

#[test]
fn refusals_name_the_option_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    for (args, field, words) in [
        (
            vec!["--gather-keys", "1a"],
            "--gather-keys",
            "gather keys \"1a\"",
        ),
        (
            vec!["--gather-timeout", "0"],
            "--gather-timeout",
            "timeout 0",
        ),
        (
            vec!["--gather-keys", "12", "--gather-answer", "3=x"],
            "--gather-answer",
            "gather answer \"3\"",
        ),
        (
            vec!["--gather-keys", "12", "--backend", "dk"],
            "--backend",
            "campaign records API",
        ),
        (
            vec!["--machine", "hangup", "--backend", "dk"],
            "--backend",
            "cannot make this call",
        ),
    ] {
        let mut all = vec!["--json", "send", "+420777123456", "Hi"];
        all.extend(args.iter().copied());
        let run = dialout(d, &all).assert_code(2);
        let e = json_error(&run);
        assert_eq!(e["error"]["field"], field, "{args:?}: {}", run.stderr);
        assert!(
            e["error"]["message"].as_str().unwrap().contains(words),
            "{args:?}: {}",
            run.stderr
        );
    }
    // clap refuses an unknown policy and a gather file beside gather options.
    dialout(
        d,
        &["send", "+420777123456", "Hi", "--machine", "voicemail"],
    )
    .assert_code(2);
    std::fs::write(d.join("g.json"), r#"{"keys": "1"}"#).unwrap();
    dialout(
        d,
        &[
            "send",
            "+420777123456",
            "Hi",
            "--gather-file",
            "g.json",
            "--gather-keys",
            "1",
        ],
    )
    .assert_code(2);
    let listed = dialout(d, &["--json", "messages", "list"]).ok().json();
    assert_eq!(listed, Value::Array(vec![]), "nothing stored");
}

#[test]
fn templates_and_csv_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let t = dialout(
        d,
        &[
            "--json",
            "template",
            "add",
            "visit",
            "--body",
            "Visit at {{ time }}.",
            "--gather-keys",
            "12",
            "--gather-answer",
            "1=confirmed",
            "--machine",
            "hangup",
        ],
    )
    .ok()
    .json();
    assert_eq!(t["gather"]["answers"]["1"], "confirmed");
    assert_eq!(t["machine"], "hangup");
    let t = dialout(d, &["--json", "template", "set", "visit", "--no-machine"])
        .ok()
        .json();
    assert_eq!(t["machine"], Value::Null);
    assert_eq!(t["gather"]["keys"], "12");

    std::fs::write(
        d.join("visits.csv"),
        "recipient,time,machine,gather\n\
         +420777000001,9:00,,\n\
         +420777000002,10:00,leave_message,\n\
         +420777000003,11:00,,\"{\"\"keys\"\": \"\"9\"\"}\"\n\
         +420777000004,12:00,voicemail,\n",
    )
    .unwrap();
    let run = dialout(
        d,
        &[
            "--json",
            "import",
            "visits.csv",
            "--template",
            "visit",
            "--skip-invalid",
        ],
    )
    .ok();
    let summary = run.json();
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{summary}");
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("machine column"),
        "{summary}"
    );
    let listed = dialout(d, &["--json", "messages", "list"]).ok().json();
    let by = |n: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["recipient"] == n)
            .unwrap()
            .clone()
    };
    let one = by("+420777000001");
    assert_eq!(one["gather"]["keys"], "12", "the template's");
    assert_eq!(one["machine"], Value::Null);
    assert_eq!(
        one["content"], "Visit at 9:00.",
        "machine/gather are no variables"
    );
    assert_eq!(by("+420777000002")["machine"], "leave_message");
    assert_eq!(by("+420777000003")["gather"]["keys"], "9");
}
