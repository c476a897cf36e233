//! `dialout dnc ...`, `--allow-duplicate` with the configured limits, and `dialout import`
//! through the built binary: exit codes, JSON, bad rows storing nothing, BOM, `;`, quotes
//! and a re-import.

mod runner;

use std::path::Path;

use dialout_dialer::{Message, State};
use dialout_store::{self as store, MessageFilter};
use runner::{Dialout, Run};

fn dialout(dir: &Path, args: &[&str]) -> Run {
    Dialout::new().dir(dir).args(args).run()
}

fn stored(dir: &Path) -> Vec<Message> {
    let db = dir.join("dialout.db");
    if !db.exists() {
        return Vec::new();
    }
    let mut all = store::open(&format!("sqlite://{}", db.display()))
        .unwrap()
        .messages(&MessageFilter::default())
        .unwrap();
    all.reverse();
    all
}

#[test]
fn dnc_commands_and_refusal_at_send() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = dialout(d, &["dnc", "add", "00420777123456", "--reason", "asked us"]).ok();
    assert!(out.stdout.contains("+420777123456"), "{}", out.stdout);
    let refused = dialout(d, &["send", "+420 777 123 456", "hello"]).assert_code(3);
    assert!(
        refused.stderr.contains("do-not-call") && refused.stderr.contains("asked us"),
        "{}",
        refused.stderr
    );
    let json = dialout(d, &["--json", "send", "+420777123456", "hello"]).assert_code(3);
    assert!(json.stderr.contains("\"refused\""), "{}", json.stderr);
    assert!(stored(d).is_empty(), "nothing stored");

    let check = dialout(d, &["--json", "dnc", "check", "+420777123456"]).assert_code(3);
    assert_eq!(check.json()["listed"], true);
    let free = dialout(d, &["dnc", "check", "+420777000001"]).ok();
    assert!(free.stdout.contains("may be called"), "{}", free.stdout);

    let list = dialout(d, &["--json", "dnc", "list"]).ok().json();
    assert_eq!(list[0]["number"], "+420777123456");
    assert_eq!(list[0]["reason"], "asked us");
    dialout(d, &["dnc", "add", "123"]).assert_code(2);

    dialout(d, &["dnc", "remove", "+420777123456"]).ok();
    dialout(d, &["dnc", "remove", "+420777123456"]).assert_code(2);
    dialout(d, &["send", "+420777123456", "hello"]).ok();
}

#[test]
fn queued_message_listed_later_ends_in_error_at_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(d, &["send", "+420777123456", "hello", "--queued"]).ok();
    dialout(
        d,
        &["dnc", "add", "+420777123456", "--reason", "complained"],
    )
    .ok();
    dialout(d, &["worker", "--once"]).ok();
    let m = &stored(d)[0];
    assert_eq!(m.state, State::Error);
    assert!(
        m.error
            .as_deref()
            .unwrap_or_default()
            .contains("complained"),
        "{m:?}"
    );
}

#[test]
fn dnc_import_lines_and_csv_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("list.txt"),
        "\u{feff}+420777000001\n# a comment\n\n00420777000002\n",
    )
    .unwrap();
    let out = dialout(
        d,
        &["--json", "dnc", "import", "list.txt", "--reason", "opt-out"],
    )
    .ok();
    assert_eq!(out.json()["added"], 2);
    std::fs::write(
        d.join("list.csv"),
        "name;phone\n\"Doe; John\";+420777000003\nX;bad\n",
    )
    .unwrap();
    let bad = dialout(
        d,
        &["--json", "dnc", "import", "list.csv", "--column", "phone"],
    )
    .assert_code(2);
    assert_eq!(bad.json()["invalid"][0]["line"], 3);
    assert_eq!(
        dialout(d, &["--json", "dnc", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ok = dialout(
        d,
        &[
            "--json",
            "dnc",
            "import",
            "list.csv",
            "--column",
            "phone",
            "--skip-invalid",
        ],
    )
    .ok();
    assert_eq!(ok.json()["added"], 1);
}

#[test]
fn caps_and_dedupe_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("dialout.toml"),
        "[delivery]\nmax_calls_per_recipient = { count = 2, per = \"24h\" }\ndedupe_window = \"10m\"\n",
    )
    .unwrap();
    dialout(d, &["send", "+420777123456", "same"]).ok();
    let dup = dialout(d, &["send", "+420777123456", "same"]).assert_code(3);
    assert!(dup.stderr.contains("--allow-duplicate"), "{}", dup.stderr);
    dialout(d, &["send", "+420777123456", "same", "--allow-duplicate"]).ok();
    let cap = dialout(d, &["send", "+420777123456", "other"]).assert_code(3);
    assert!(
        cap.stderr.contains("max_calls_per_recipient"),
        "{}",
        cap.stderr
    );
    assert_eq!(stored(d).len(), 2);

    std::fs::write(
        d.join("dialout.toml"),
        "[delivery]\nmax_calls_per_recipient = { count = 0, per = \"1h\" }\n",
    )
    .unwrap();
    let e = dialout(d, &["send", "+420777000001", "x"]).assert_code(2);
    assert!(
        e.stderr.contains("delivery.max_calls_per_recipient.count"),
        "{}",
        e.stderr
    );
}

#[test]
fn import_with_bad_rows_stores_nothing_and_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(d, &["dnc", "add", "+420777000003"]).ok();
    std::fs::write(
        d.join("c.csv"),
        "recipient,content\n+420777000001,hello\n12,bad number\n+420777000003,listed\n+420777000004,\n",
    )
    .unwrap();
    let run = dialout(d, &["--json", "import", "c.csv", "--report", "bad.csv"]).assert_code(2);
    let v = run.json();
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["invalid"].as_u64(),
            v["stored"].as_u64()
        ),
        (Some(4), Some(3), Some(0))
    );
    let report = std::fs::read_to_string(d.join("bad.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "line,recipient,reason");
    assert!(lines[1].starts_with("3,12,"), "{report}");
    assert!(
        lines[2].starts_with("4,+420777000003,") && lines[2].contains("do-not-call"),
        "{report}"
    );
    assert!(
        lines[3].starts_with("5,+420777000004,") && lines[3].contains("empty"),
        "{report}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("bad.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the report holds phone numbers: owner only"
    );
    assert!(stored(d).is_empty());

    dialout(d, &["import", "c.csv", "--dry-run", "--skip-invalid"]).ok();
    assert!(stored(d).is_empty(), "a dry run stores nothing");
    let run = dialout(
        d,
        &[
            "--json",
            "import",
            "c.csv",
            "--skip-invalid",
            "--tag",
            "spring",
        ],
    )
    .ok();
    assert_eq!(run.json()["stored"], 1);
    let all = stored(d);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].state, all[0].tag.as_ref().unwrap().as_str()),
        (State::Waiting, "spring")
    );
}

#[test]
fn import_reads_bom_semicolons_quotes_and_a_reimport_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = "\u{feff}Recipient;content\n+420777000001;\"Hello; your parcel, \"\"A7\"\", is here\"\n+420777000002;\"Two\nlines\"\n+420777000003;plain\n";
    std::fs::write(d.join("c.csv"), csv).unwrap();
    let run = dialout(d, &["--json", "import", "c.csv"]).ok();
    assert_eq!(
        (
            run.json()["stored"].as_u64(),
            run.json()["existing"].as_u64()
        ),
        (Some(3), Some(0))
    );
    let all = stored(d);
    let contents: Vec<&str> = all.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        contents,
        ["Hello; your parcel, \"A7\", is here", "Two\nlines", "plain"]
    );
    assert!(
        all.iter().all(|m| m.state == State::Waiting),
        "queued for the worker"
    );
    let again = dialout(d, &["--json", "import", "c.csv"]).ok().json();
    assert_eq!(
        (again["stored"].as_u64(), again["existing"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(stored(d).len(), 3);
    // Another file (one more row) is another import: its rows are new.
    std::fs::write(d.join("c.csv"), format!("{csv}+420777000004;four\n")).unwrap();
    let other = dialout(d, &["--json", "import", "c.csv"]).ok().json();
    assert_eq!(other["stored"], 4);
}

#[test]
fn import_from_a_template_with_mapped_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(
        d,
        &[
            "template",
            "add",
            "pickup",
            "--body",
            "Hello {{ name }}, order {{ order }} is ready",
        ],
    )
    .ok();
    std::fs::write(
        d.join("t.csv"),
        "phone,Customer,Order No\n+420777000001,Ann,A1\n+420777000002,Bob,B2\n",
    )
    .unwrap();
    let args = [
        "--json",
        "import",
        "t.csv",
        "--template",
        "pickup",
        "--recipient-column",
        "phone",
        "--column",
        "name=Customer",
        "--column",
        "order=Order No",
    ];
    let run = dialout(d, &args).ok();
    assert_eq!(run.json()["stored"], 2);
    let all = stored(d);
    assert_eq!(all[0].content, "Hello Ann, order A1 is ready");
    assert_eq!(all[0].template_slug.as_deref(), Some("pickup"));
    let missing = dialout(
        d,
        &[
            "import",
            "t.csv",
            "--template",
            "pickup",
            "--recipient-column",
            "nope",
        ],
    )
    .assert_code(2);
    assert!(
        missing.stderr.contains("--recipient-column") && missing.stderr.contains("phone"),
        "{}",
        missing.stderr
    );
    let unknown = dialout(
        d,
        &[
            "import",
            "t.csv",
            "--template",
            "nope",
            "--recipient-column",
            "phone",
        ],
    )
    .assert_code(2);
    assert!(unknown.stderr.contains("nope"), "{}", unknown.stderr);
}
