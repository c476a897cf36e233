//! `dialout import-pymess` against a database written by the real django-pymess 0.7.6
//! (installed from PyPI into a virtual environment under the target directory; see
//! scripts/pymess/make_db.py), in SQLite and in PostgreSQL: every state, templates, related
//! objects; checked field by field against what the script wrote; re-runs store nothing
//! twice; the pymess database is left as it was.

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
/// Django's PostgreSQL driver, for pymess databases in PostgreSQL (2.9.9 has CPython 3.11
/// wheels; Django 3.2 supports 2.9).
const PG_DRIVER: &str = "psycopg2-binary==2.9.9";

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
    let wanted = [&PINS[..], &[PG_DRIVER]].concat().join("\n");
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(wanted.as_str()) {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
            "install Python 3 with venv (Debian: apt-get install -y python3-venv; scripts/test does it)",
        );
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "-q"])
                .args(PINS)
                .arg(PG_DRIVER),
            "pip install django-pymess 0.7.6, its pinned dependencies and psycopg2-binary",
            "PyPI must be reachable",
        );
        std::fs::write(&ready, wanted).unwrap();
    }
    python
}

/// A database written by django-pymess: an SQLite file, or a PostgreSQL database of its own.
enum PymessDb {
    Sqlite(PathBuf),
    Postgres(dialout_testkit::db::TempDb),
}

impl PymessDb {
    fn url(&self) -> String {
        match self {
            PymessDb::Sqlite(path) => format!("sqlite://{}", path.display()),
            PymessDb::Postgres(db) => db.url.clone(),
        }
    }

    /// Everything in it, to show that an import wrote nothing: the file's bytes, or each
    /// table's rows in a fixed order.
    fn snapshot(&self) -> Vec<String> {
        match self {
            PymessDb::Sqlite(path) => vec![format!("{:?}", std::fs::read(path).unwrap())],
            PymessDb::Postgres(db) => {
                let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
                let tables: Vec<String> = c
                    .query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = 'public' ORDER BY 1",
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                assert!(tables.len() > 5, "{tables:?}");
                tables
                    .iter()
                    .map(|t| {
                        let rows: String = c
                            .query_one(
                                &format!(
                                    "SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {t} x"
                                ),
                                &[],
                            )
                            .unwrap()
                            .get(0);
                        format!("{t}: {rows}")
                    })
                    .collect()
            }
        }
    }
}

/// Writes a pymess database with django-pymess's own API (in PostgreSQL when `pg`);
/// what it wrote, as JSON.
fn make_pymess_db(dir: &Path, pg: bool) -> (PymessDb, Value) {
    let dump = dir.join("pymess.json");
    let mut cmd = Command::new(python());
    cmd.arg(workspace().join("scripts/pymess/make_db.py"))
        .arg(&dump);
    let db = if pg {
        let db = dialout_testkit::db::postgres();
        let config: postgres::Config = db.url.parse().unwrap();
        let host = match &config.get_hosts()[0] {
            postgres::config::Host::Tcp(h) => h.clone(),
            other => panic!("a TCP host is needed for Django: {other:?}"),
        };
        cmd.env("PYMESS_PG_NAME", config.get_dbname().unwrap())
            .env("PYMESS_PG_HOST", host)
            .env("PYMESS_PG_PORT", config.get_ports()[0].to_string())
            .env("PYMESS_PG_USER", config.get_user().unwrap_or("postgres"));
        PymessDb::Postgres(db)
    } else {
        let path = dir.join("pymess.sqlite3");
        cmd.env("PYMESS_SQLITE", &path);
        PymessDb::Sqlite(path)
    };
    run(&mut cmd, "scripts/pymess/make_db.py", "see its output");
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

fn import(dir: &Path, db: &PymessDb, extra: &[&str]) -> runner::Run {
    let url = db.url();
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

/// Everything dialout stored against what pymess wrote: each message field by field with its
/// history, each template, and the template links.
fn check_stored(url: &str, dump: &Value, states: &[(i64, State)]) {
    let s = store::open(url).unwrap();
    let pymess_messages = dump["messages"].as_array().unwrap();
    let all = s.messages(&MessageFilter::default()).unwrap();
    assert_eq!(all.len(), pymess_messages.len());
    for p in pymess_messages {
        let id = message_id(time(&p["created_at"]).unwrap(), p["id"].as_i64().unwrap());
        let m = s.message(id).unwrap().expect("imported");
        check_message(p, &m, states);
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

/// Every pymess state is in the database the script wrote.
fn check_every_state(dump: &Value) {
    let codes: std::collections::BTreeSet<i64> = dump["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_i64().unwrap())
        .collect();
    assert_eq!(
        codes.len(),
        19,
        "every pymess state is in the database: {codes:?}"
    );
}

const STATES: [(i64, State); 2] = [(12, State::Unanswered), (13, State::Hangup)];

#[test]
fn import_from_real_django_pymess_sqlite_field_by_field_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pymess_db, dump) = make_pymess_db(d, false);
    check_every_state(&dump);
    std::fs::write(d.join("dialout.toml"), CONFIG).unwrap();
    let before = pymess_db.snapshot();

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
    let url = pymess_db.url();
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
    assert!(
        pymess_db.snapshot() == before,
        "pymess's file was written to"
    );
    check_stored(
        &format!("sqlite://{}", d.join("dialout.db").display()),
        &dump,
        &STATES,
    );
}

/// A pymess database in PostgreSQL, written by django-pymess through psycopg2, into dialout's
/// SQLite database: the same rows field by field, a second run that stores nothing, and
/// pymess's database as it was (read in a read-only transaction).
#[test]
fn import_from_real_django_pymess_postgres_field_by_field_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pymess_db, dump) = make_pymess_db(d, true);
    assert!(pymess_db.url().starts_with("postgres"));
    check_every_state(&dump);
    std::fs::write(d.join("dialout.toml"), CONFIG).unwrap();
    let before = pymess_db.snapshot();
    let args = ["--state", "12=11", "--state", "13=4"];
    let first = import(d, &pymess_db, &args).assert_code(1);
    let (templates, messages, refused) = summary(&first);
    assert_eq!(templates, counts(3, 0, 1), "{}", first.stdout);
    assert_eq!(messages, counts(24, 0, 0), "{}", first.stdout);
    assert_eq!(refused, ["pymess_dialertemplate django-only"]);
    let again = import(d, &pymess_db, &args).assert_code(1);
    let (templates, messages, _) = summary(&again);
    assert_eq!(templates, counts(0, 3, 1));
    assert_eq!(messages, counts(0, 24, 0));
    assert_eq!(
        pymess_db.snapshot(),
        before,
        "pymess's database was written to"
    );
    check_stored(
        &format!("sqlite://{}", d.join("dialout.db").display()),
        &dump,
        &STATES,
    );
}

/// The same import into a PostgreSQL database of dialout's: the same rows, field by field,
/// and a second run that stores nothing.
#[test]
fn import_into_postgres_field_by_field_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pymess_db, dump) = make_pymess_db(d, false);
    std::fs::write(d.join("dialout.toml"), CONFIG).unwrap();
    let target = dialout_testkit::db::postgres();
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
    check_stored(&target.url, &dump, &STATES);
}
