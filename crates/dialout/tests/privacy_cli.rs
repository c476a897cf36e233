//! `dialout erase RECIPIENT [--and-block]`, `dialout export RECIPIENT` and
//! `dialout retention run [--dry-run]` through the built binary, on both stores, with the
//! file backend: afterwards neither the database nor the data directory holds the number
//! (E.164 or national) or the content.

mod runner;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use dialout_testkit::db::{self, TempDb};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::{Dialout, Run, wait_with_deadline};
use serde_json::Value;

const CONTENT: &str = "Dear Jana Novakova, your invoice 5521 is due";

struct Env {
    dir: tempfile::TempDir,
    url: String,
    _pg: Option<TempDb>,
}

impl Env {
    fn new(pg: bool, retention: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let pg = pg.then(db::postgres);
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", dir.path().join("dialout.db").display()),
        };
        std::fs::write(
            dir.path().join("dialout.toml"),
            format!(
                "default_region = \"CZ\"\n[backends.out]\nkind = \"file\"\ndir = \"{}\"\n{retention}",
                dir.path().join("outbox").display()
            ),
        )
        .unwrap();
        Env { dir, url, _pg: pg }
    }

    fn run(&self, args: &[&str]) -> Run {
        Dialout::new()
            .dir(self.dir.path())
            .env("DIALOUT_DATABASE_URL", &self.url)
            .args(args)
            .run()
    }

    fn send(&self, to: &str, content: &str) -> String {
        let sent = self.run(&["--json", "send", to, content]).ok().json();
        sent["id"].as_str().unwrap().to_string()
    }

    /// The consumer reports an outcome for `id`, and a status check records it.
    fn answer(&self, id: &str) {
        let results = self.dir.path().join("outbox/results");
        std::fs::create_dir_all(&results).unwrap();
        std::fs::write(
            results.join(format!("{id}.json")),
            r#"{"state": "ANSWERED_COMPLETE"}"#,
        )
        .unwrap();
        self.run(&["check-status"]).ok();
    }

    /// Where `needle` is still kept: files under the data directory (the SQLite file and
    /// its log included) and, on PostgreSQL, any row of any table as text.
    fn traces(&self, needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        walk(self.dir.path(), needle, &mut found);
        if self.url.starts_with("postgres") {
            found.extend(dialout_testkit::db::pg_rows_holding(&self.url, needle));
        }
        found
    }
}

/// Messages by state and by day (created, last changed): what the dashboard counts.
fn counts(env: &Env) -> BTreeMap<(String, String, String), usize> {
    let list = env
        .run(&["--json", "messages", "list", "--limit", "0"])
        .ok()
        .json();
    let mut out = BTreeMap::new();
    for m in list.as_array().unwrap() {
        let day = |k: &str| m[k].as_str().unwrap_or_else(|| panic!("{k}: {m}"))[..10].to_string();
        let key = (m["state"].to_string(), day("created_at"), day("changed_at"));
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn walk(dir: &Path, needle: &str, found: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            walk(&p, needle, found);
        } else if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(p.display().to_string());
        }
    }
}

fn erase_and_export(pg: bool) {
    let env = Env::new(pg, "");
    let done = env.send("777 123 456", CONTENT);
    env.answer(&done);
    let open = env.send("+420777123456", CONTENT);
    let other = env.send("+420602111222", "Hello Petr");
    for needle in ["+420777123456", "777123456", CONTENT] {
        assert!(!env.traces(needle).is_empty(), "the test finds {needle}");
    }

    let before = env.run(&["--json", "export", "777123456"]).ok().json();
    assert_eq!(before["number"], "+420777123456");
    let msgs = before["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{before}");
    assert!(msgs.iter().all(|m| m["content"] == CONTENT));
    assert!(msgs.iter().all(|m| m["history"].as_array().is_some()));
    assert_eq!(before["do_not_call"], Value::Null);

    let erased = env
        .run(&["--json", "erase", "00420 777 123 456"])
        .ok()
        .json();
    assert_eq!(erased["messages"], 2, "{erased}");
    assert_eq!(erased["cancelled"], 1, "{erased}");
    assert!(erased["files"].as_u64().unwrap() >= 3, "{erased}");
    let hash = erased["recipient_hash"].as_str().unwrap().to_string();
    assert!(hash.starts_with("erased:"));

    for needle in ["+420777123456", "777123456", "777 123 456", CONTENT] {
        assert_eq!(env.traces(needle), Vec::<String>::new(), "{needle}");
    }
    assert!(!env.traces("+420602111222").is_empty(), "others stay");
    assert!(
        env.dir.path().join(format!("outbox/{other}.json")).exists(),
        "others' files stay"
    );
    assert!(!env.dir.path().join(format!("outbox/{open}.json")).exists());

    let after = env.run(&["--json", "export", "+420777123456"]).ok().json();
    let msgs = after["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "erased messages are still counted: {after}");
    assert!(
        msgs.iter()
            .all(|m| m["recipient"] == hash.as_str() && m["content"] == "")
    );
    assert_eq!(after["erasures"][0]["messages"], 2);
    assert!(
        after["erasures"][0]["by"]
            .as_str()
            .unwrap()
            .starts_with("cli:")
    );

    let blocked = env
        .run(&["--json", "erase", "+420602111222", "--and-block"])
        .ok()
        .json();
    assert_eq!(blocked["blocked"], true);
    let refused = env.run(&["send", "602 111 222", "again"]).assert_code(3);
    assert!(refused.stderr.contains("do-not-call"), "{}", refused.stderr);
    env.run(&["erase", "12"]).assert_code(2);
}

fn retention_run(pg: bool) {
    let env = Env::new(
        pg,
        "[retention]\nmessages = \"1s\"\nwebhook_deliveries = \"1s\"\n",
    );
    let id = env.send("777 123 456", CONTENT);
    env.answer(&id);
    let waiting = env.send("+420777123456", CONTENT);
    let _ = waiting;
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let dry = env
        .run(&["--json", "retention", "run", "--dry-run"])
        .ok()
        .json();
    assert_eq!(dry["messages"], 1, "{dry}");
    assert!(
        !env.traces("777123456").is_empty(),
        "a dry run erases nothing"
    );
    let text = env.run(&["retention", "run", "--dry-run"]).ok();
    assert!(
        text.stdout.contains("would erase 1 message"),
        "{}",
        text.stdout
    );
    let run = env.run(&["--json", "retention", "run"]).ok().json();
    assert_eq!(run["messages"], 1, "{run}");
    let left = env.run(&["--json", "export", "777123456"]).ok().json();
    let msgs = left["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "the message not final stays as it was");
    assert_eq!(
        msgs.iter().filter(|m| m["content"] == CONTENT).count(),
        1,
        "{left}"
    );
    assert!(
        !env.dir
            .path()
            .join(format!("outbox/results/{id}.json"))
            .exists()
    );
}

/// A running worker (`dialout worker`, no status checks) with `[retention]` erases final
/// messages on its own, a short step at a time, and prints what it did when stopped.
fn worker_retention(pg: bool) {
    let env = Env::new(pg, "[retention]\nmessages = \"1s\"\n");
    let mut done = Vec::new();
    for i in 0..3 {
        let id = env.send("777 123 456", &format!("{CONTENT} ({i})"));
        env.answer(&id);
        done.push(id);
    }
    let open = env.send("+420602111222", "Hello Petr");
    let before = counts(&env);
    assert_eq!(before.values().sum::<usize>(), 4, "{before:?}");
    for needle in ["+420777123456", "777123456", CONTENT] {
        assert!(!env.traces(needle).is_empty(), "the test finds {needle}");
    }

    let mut worker = Dialout::new()
        .dir(env.dir.path())
        .env("DIALOUT_DATABASE_URL", &env.url)
        .log("info")
        .args(["--json", "worker", "--no-status", "--interval", "200ms"])
        .spawn_until("worker started", Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = env.run(&["--json", "export", "777123456"]).ok().json();
        let msgs = now["messages"].as_array().unwrap().clone();
        assert_eq!(msgs.len(), 3, "{now}");
        if msgs.iter().all(|m| m["content"] == "") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker erased nothing: {now}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    kill(Pid::from_raw(worker.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_with_deadline(&mut worker, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let mut out = String::new();
    std::io::Read::read_to_string(worker.stdout.as_mut().unwrap(), &mut out).unwrap();
    let stats: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(stats["retention"]["messages"], 3, "{stats}");
    assert!(
        stats["retention"]["files"].as_u64().unwrap() >= 3,
        "{stats}"
    );

    assert_eq!(counts(&env), before, "counts by state and day stay");
    for needle in ["+420777123456", "777123456", "777 123 456", CONTENT] {
        assert_eq!(env.traces(needle), Vec::<String>::new(), "{needle}");
    }
    for id in &done {
        assert!(!env.dir.path().join(format!("outbox/{id}.json")).exists());
    }
    assert!(!env.traces("+420602111222").is_empty(), "not final: kept");
    assert!(env.dir.path().join(format!("outbox/{open}.json")).exists());
}

#[test]
fn worker_retention_sqlite() {
    worker_retention(false);
}

#[test]
fn worker_retention_postgres() {
    worker_retention(true);
}

/// Without `[retention]` a running worker erases nothing, however old its final messages.
#[test]
fn a_worker_without_retention_erases_nothing() {
    let env = Env::new(false, "");
    let id = env.send("777 123 456", CONTENT);
    env.answer(&id);
    std::thread::sleep(Duration::from_millis(1_100));
    let mut worker = Dialout::new()
        .dir(env.dir.path())
        .env("DIALOUT_DATABASE_URL", &env.url)
        .log("info")
        .args(["--json", "worker", "--no-status", "--interval", "100ms"])
        .spawn_until("worker started", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1_500));
    kill(Pid::from_raw(worker.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(
        wait_with_deadline(&mut worker, Duration::from_secs(30)).code(),
        Some(0)
    );
    let mut out = String::new();
    std::io::Read::read_to_string(worker.stdout.as_mut().unwrap(), &mut out).unwrap();
    let stats: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(stats["retention"]["steps"], 0, "{stats}");
    let kept = env.run(&["--json", "export", "777123456"]).ok().json();
    assert_eq!(kept["messages"][0]["content"], CONTENT, "{kept}");
}

#[test]
fn erase_and_export_sqlite() {
    erase_and_export(false);
}

#[test]
fn erase_and_export_postgres() {
    erase_and_export(true);
}

#[test]
fn retention_run_sqlite() {
    retention_run(false);
}

#[test]
fn retention_run_postgres() {
    retention_run(true);
}

#[test]
fn retention_is_off_by_default_and_periods_are_checked() {
    let env = Env::new(false, "");
    env.send("+420777123456", CONTENT);
    let off = env.run(&["retention", "run", "--dry-run"]).assert_code(2);
    assert!(off.stderr.contains("[retention]"), "{}", off.stderr);
    let bad = Env::new(false, "[retention]\nmessages = \"soon\"\n");
    let refused = bad.run(&["retention", "run"]).assert_code(2);
    assert!(
        refused.stderr.contains("retention.messages"),
        "{}",
        refused.stderr
    );
}
