//! `dialout import-pymess` against a database written by the real django-pymess 0.7.6
//! (installed from PyPI into a virtual environment under the target directory; see
//! scripts/pymess/make_db.py): every state, templates, related objects; checked field by
//! field against what the script wrote; re-runs store nothing twice; the pymess file is
//! left as it was.

mod runner;

use std::path::{Path, PathBuf};
use std::process::Command;

use dialout_dialer::pymess::message_id;
use dialout_dialer::{Message, State};
use dialout_store::{self as store, MessageFilter};
use jiff::Timestamp;
use runner::Dialout;
use serde_json::Value;

const PINS: [&str; 6] = [
    "django-pymess==0.7.6",
    "Django==3.2.25",
    "django-chamber==0.6.17",
    "django-choice-enumfields==1.1.3",
    "beautifulsoup4==4.8.0",
    "import-string==0.1.0",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command, what: &str, fix: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it ({e}); {fix}"));
    assert!(
        out.status.success(),
        "{what} failed ({}); {fix}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The virtual environment's python, made once (and kept in the target directory).
fn python() -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pymess-0.7.6-venv");
    let python = venv.join("bin/python");
    let ready = venv.join("installed");
    if !ready.exists() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
            "install Python 3 with venv (Debian: apt-get install -y python3-venv; scripts/test does it)",
        );
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "-q"])
                .args(PINS),
            "pip install django-pymess 0.7.6 and its pinned dependencies",
            "PyPI must be reachable",
        );
        std::fs::write(&ready, PINS.join("\n")).unwrap();
    }
    python
}

/// Writes a pymess SQLite database with django-pymess's own API; what it wrote, as JSON.
fn make_pymess_db(dir: &Path) -> (PathBuf, Value) {
    let db = dir.join("pymess.sqlite3");
    let dump = dir.join("pymess.json");
    run(
        Command::new(python())
            .arg(workspace().join("scripts/pymess/make_db.py"))
            .arg(&dump)
            .env("PYMESS_SQLITE", &db),
        "scripts/pymess/make_db.py",
        "see its output",
    );
    let text = std::fs::read_to_string(&dump).unwrap();
    (db, serde_json::from_str(&text).unwrap())
}

const CONFIG: &str = r#"
default_backend = "test"
[backends.test]
kind = "dummy"
[backends.dk]
kind = "daktela"
url = "https://example.invalid/api/v6/campaignsRecords"
access_token = "not-used"
autodialer_record_type = "records_auto"
predictive_record_type = "records_pred"
"#;

fn import(dir: &Path, db: &Path, extra: &[&str]) -> runner::Run {
    let url = format!("sqlite://{}", db.display());
    Dialout::new()
        .dir(dir)
        .args(["--json", "import-pymess", url.as_str()])
        .args(extra)
        .run()
}

fn time(v: &Value) -> Option<Timestamp> {
    v.as_str().map(|t| t.parse().unwrap())
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn object(v: &Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// One pymess message against what dialout stored for it.
fn check_message(p: &Value, m: &Message, states: &[(i64, State)]) {
    let id = p["id"].as_i64().unwrap();
    let code = p["state"].as_i64().unwrap();
    let state = State::from_code(code)
        .or_else(|| states.iter().find(|s| s.0 == code).map(|s| s.1))
        .unwrap();
    let ctx = format!("pymess message {id}");
    assert_eq!(m.created_at, time(&p["created_at"]).unwrap(), "{ctx}");
    assert_eq!(m.changed_at, time(&p["changed_at"]).unwrap(), "{ctx}");
    assert_eq!(m.sent_at, time(&p["sent_at"]), "{ctx}");
    assert_eq!(
        m.recipient.as_str(),
        p["recipient"].as_str().unwrap(),
        "{ctx}"
    );
    assert_eq!(m.content, p["content"].as_str().unwrap_or(""), "{ctx}");
    assert_eq!(m.template_slug, text(&p["template_slug"]), "{ctx}");
    assert_eq!(m.template_id.is_some(), p["template"].is_string(), "{ctx}");
    assert_eq!(m.state, state, "{ctx}");
    assert_eq!(m.error, text(&p["error"]), "{ctx}");
    assert_eq!(m.extra_data, object(&p["extra_data"]), "{ctx}");
    let mut sender = object(&p["extra_sender_data"]);
    let backend = p["backend"].as_str().unwrap_or("");
    if backend.ends_with("DaktelaDialerBackend")
        && let Some(name) = p["extra_data"].get("name")
    {
        // Where dialout's Daktela status check looks for the record.
        sender.insert("name".into(), name.clone());
    }
    assert_eq!(m.extra_sender_data, sender, "{ctx}");
    let expected_backend = match backend {
        b if b.ends_with("DaktelaDialerBackend") => "dk",
        _ => "test",
    };
    assert_eq!(m.backend, expected_backend, "{ctx}");
    assert_eq!(
        m.tag.as_ref().map(|t| t.to_string()),
        text(&p["tag"]),
        "{ctx}"
    );
    let final_ = p["is_final_state"].as_bool().unwrap() || state == State::Error;
    assert_eq!(m.is_final_state, final_, "{ctx}");
    let related: Vec<String> = m.related.iter().map(|r| r.to_string()).collect();
    let expected: Vec<String> = p["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(related, expected, "{ctx}");
    assert_eq!(
        i64::from(m.priority.get()),
        p["priority"].as_i64().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        m.predictive,
        !p["is_autodialer"].as_bool().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        i64::from(m.attempts),
        p["number_of_send_attempts"].as_i64().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        i64::from(m.check_failures),
        p["number_of_status_check_attempts"].as_i64().unwrap(),
        "{ctx}"
    );
    assert!(
        !m.attempt_unresolved && m.next_attempt_at.is_none(),
        "{ctx}"
    );
}

fn summary(run: &runner::Run) -> (Value, Value, Vec<String>) {
    let v = run.json();
    let refused = v["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["table"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    (
        v["tables"]["pymess_dialertemplate"].clone(),
        v["tables"]["pymess_dialermessage"].clone(),
        refused,
    )
}

fn counts(imported: u64, existing: u64, refused: u64) -> Value {
    serde_json::json!({ "imported": imported, "existing": existing, "refused": refused })
}

#[test]
fn import_from_real_django_pymess_sqlite_field_by_field_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pymess_db, dump) = make_pymess_db(d);
    let pymess_messages = dump["messages"].as_array().unwrap();
    let codes: std::collections::BTreeSet<i64> = pymess_messages
        .iter()
        .map(|m| m["state"].as_i64().unwrap())
        .collect();
    assert_eq!(
        codes.len(),
        19,
        "every pymess state is in the database: {codes:?}"
    );
    std::fs::write(d.join("dialout.toml"), CONFIG).unwrap();
    let before = std::fs::read(&pymess_db).unwrap();

    // States 12 and 13 have no dialout state, a Django-only template body cannot be read:
    // those are refused with their ids and why, and everything else is imported.
    let first = import(d, &pymess_db, &[]).assert_code(1);
    let (templates, messages, refused) = summary(&first);
    assert_eq!(templates, counts(3, 0, 1), "{}", first.stdout);
    assert_eq!(messages, counts(22, 0, 2), "{}", first.stdout);
    assert_eq!(
        refused,
        [
            "pymess_dialertemplate django-only",
            "pymess_dialermessage 14",
            "pymess_dialermessage 15"
        ]
    );
    assert!(
        first.stdout.contains("--state 12=STATE"),
        "{}",
        first.stdout
    );

    let states = [(12, State::Unanswered), (13, State::Hangup)];
    let second = import(
        d,
        &pymess_db,
        &["--state", "12=UNANSWERED", "--state", "13=4"],
    )
    .assert_code(1);
    let (templates, messages, _) = summary(&second);
    assert_eq!(templates, counts(0, 3, 1));
    assert_eq!(messages, counts(2, 22, 0));

    // Human output: the summary per table on stdout, the refusal on stderr.
    let url = format!("sqlite://{}", pymess_db.display());
    let third = Dialout::new()
        .dir(d)
        .args([
            "import-pymess",
            url.as_str(),
            "--state",
            "12=11",
            "--state",
            "13=4",
        ])
        .run()
        .assert_code(1);
    assert!(
        third
            .stdout
            .contains("pymess_dialermessage: 0 imported, 24 already there, 0 refused"),
        "{}",
        third.stdout
    );
    assert!(
        third
            .stderr
            .contains("refused: pymess_dialertemplate django-only"),
        "{}",
        third.stderr
    );
    assert_eq!(
        std::fs::read(&pymess_db).unwrap(),
        before,
        "pymess's file was written to"
    );

    let s = store::open(&format!("sqlite://{}", d.join("dialout.db").display())).unwrap();
    let all = s.messages(&MessageFilter::default()).unwrap();
    assert_eq!(all.len(), pymess_messages.len());
    for p in pymess_messages {
        let id = message_id(time(&p["created_at"]).unwrap(), p["id"].as_i64().unwrap());
        let m = s.message(id).unwrap().expect("imported");
        check_message(p, &m, &states);
        let history = s.history(id).unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.to, m.state);
        assert!(last.reason.contains("imported from pymess"), "{last:?}");
    }
    for t in dump["templates"].as_array().unwrap() {
        let slug = t["slug"].as_str().unwrap();
        let stored = s.template(slug).unwrap();
        if slug == "django-only" {
            assert!(stored.is_none());
            continue;
        }
        let stored = stored.unwrap();
        assert_eq!(stored.body, t["body"].as_str().unwrap());
        assert_eq!(stored.active, t["is_active"].as_bool().unwrap());
        assert_eq!(
            stored.allow_duplicates,
            t["is_allowed_duplicate_messages"].as_bool().unwrap()
        );
        assert_eq!(stored.created_at, time(&t["created_at"]).unwrap());
    }
    // A message from a template links to dialout's template of that slug.
    let reminder = s.template("reminder").unwrap().unwrap();
    let linked = all
        .iter()
        .filter(|m| m.template_slug.as_deref() == Some("reminder"))
        .collect::<Vec<_>>();
    assert_eq!(linked.len(), 2);
    assert!(linked.iter().all(|m| m.template_id == Some(reminder.id)));
}

/// The same import into a PostgreSQL database of dialout's: the same rows, field by field,
/// and a second run that stores nothing.
#[test]
fn import_into_postgres_field_by_field_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pymess_db, dump) = make_pymess_db(d);
    std::fs::write(d.join("dialout.toml"), CONFIG).unwrap();
    let target = dialout_testkit::db::postgres();
    let states = [(12, State::Unanswered), (13, State::Hangup)];
    let args = [
        "--database",
        target.url.as_str(),
        "--state",
        "12=11",
        "--state",
        "13=4",
    ];
    let first = import(d, &pymess_db, &args).assert_code(1);
    let (templates, messages, _) = summary(&first);
    assert_eq!(templates, counts(3, 0, 1));
    assert_eq!(messages, counts(24, 0, 0));
    let again = import(d, &pymess_db, &args).assert_code(1);
    let (templates, messages, _) = summary(&again);
    assert_eq!(templates, counts(0, 3, 1));
    assert_eq!(messages, counts(0, 24, 0));

    let s = store::open(&target.url).unwrap();
    let pymess_messages = dump["messages"].as_array().unwrap();
    assert_eq!(
        s.messages(&MessageFilter::default()).unwrap().len(),
        pymess_messages.len()
    );
    for p in pymess_messages {
        let id = message_id(time(&p["created_at"]).unwrap(), p["id"].as_i64().unwrap());
        let m = s.message(id).unwrap().expect("imported");
        check_message(p, &m, &states);
        let history = s.history(id).unwrap();
        assert!(
            history
                .last()
                .unwrap()
                .reason
                .contains("imported from pymess")
        );
    }
}
