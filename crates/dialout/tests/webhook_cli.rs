//! `dialout webhook ...` and the worker's delivery loop, as a user runs them: the commands'
//! output, and `kill -9` of the worker between the commit of a change and the delivery of its
//! event — nothing is lost, on SQLite and PostgreSQL.

mod runner;
#[path = "../../dialer/tests/webhooks_support/mod.rs"]
mod webhooks_support;
mod worker_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use dialout_dialer::State;
use webhooks_support::{Mode, Receiver};
use worker_support::Env;

const HOOKS: &str = "[webhooks]\ntimeout = \"1s\"\nretry_base = \"100ms\"\nretry_max = \"200ms\"\ninterval = \"50ms\"\nconcurrency = 4\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Pending (0) and delivered (1) deliveries, straight from the database.
fn counts(env: &Env) -> (i64, i64) {
    let sql = "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 1) FROM webhook_deliveries";
    match env.url.strip_prefix("sqlite://") {
        Some(path) => rusqlite::Connection::open(path)
            .unwrap()
            .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap(),
        None => {
            let row = postgres::Client::connect(&env.url, postgres::NoTls)
                .unwrap()
                .query_one(sql, &[])
                .unwrap();
            (row.get(0), row.get(1))
        }
    }
}

fn wait(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill_between_commit_and_delivery(env: Env) {
    const N: usize = 20;
    let rt = runtime();
    // A receiver that reads every request and never answers: the events stay undelivered.
    let rx = rt.block_on(Receiver::start(Mode::Hang));
    let added = env.run(&["webhook", "add", &rx.url()]).ok();
    let lines: Vec<&str> = added.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "id and secret: {:?}", added.stdout);
    assert!(lines[1].starts_with("whsec_"));
    let ids = env.insert(N);
    let mut child = env.cmd(&["worker", "--no-status"]).spawn();
    wait(
        "the worker published and posts",
        Duration::from_secs(60),
        || rx.count() > 0 && env.messages().iter().all(|m| m.state == State::Ready),
    );
    child.kill().expect("SIGKILL"); // kill -9
    child.wait().unwrap();
    let (pending, delivered) = counts(&env);
    assert_eq!(
        (pending, delivered),
        (N as i64, 0),
        "every event is in the outbox"
    );

    // The receiver is back; a new worker delivers what the dead one held once its claims
    // expire.
    rx.set_mode(Mode::Ok);
    let mut child = env.cmd(&["worker", "--no-status"]).spawn();
    wait("every event delivered", Duration::from_secs(60), || {
        counts(&env) == (0, N as i64)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let delivered: HashSet<String> = rx
        .requests()
        .iter()
        .filter(|r| r.body.starts_with(b"{"))
        .map(|r| {
            r.json()["data"]["message"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for id in &ids {
        assert!(delivered.contains(&id.to_string()), "event of {id} arrived");
    }
}

#[test]
fn kill_9_between_commit_and_delivery_loses_nothing_sqlite() {
    kill_between_commit_and_delivery(Env::sqlite(HOOKS));
}

#[test]
fn kill_9_between_commit_and_delivery_loses_nothing_postgres() {
    kill_between_commit_and_delivery(Env::postgres(HOOKS));
}

#[test]
fn webhook_commands() {
    let env = Env::sqlite(HOOKS);
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Ok));
    let added = env
        .run(&[
            "--json",
            "webhook",
            "add",
            &rx.url(),
            "--events",
            "message.state_changed,message.final",
            "--tag",
            "t1",
        ])
        .ok()
        .json();
    let id = added["id"].as_i64().unwrap();
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let listed = env.run(&["--json", "webhook", "list"]).ok();
    assert!(
        !listed.stdout.contains(&secret),
        "list never shows the secret"
    );
    assert_eq!(listed.json()[0]["tag"], "t1");
    let plain = env.run(&["webhook", "list"]).ok();
    assert!(plain.stdout.contains(&rx.url()) && plain.stdout.contains("active"));

    let tested = env
        .run(&["--json", "webhook", "test", &id.to_string()])
        .ok()
        .json();
    assert_eq!(tested["state"], "delivered");
    assert_eq!(rx.requests()[0].json()["type"], "webhook.test");
    let deliveries = env
        .run(&["--json", "webhook", "deliveries", &id.to_string()])
        .ok()
        .json();
    assert_eq!(deliveries.as_array().unwrap().len(), 1);
    let failed = env
        .run(&[
            "--json",
            "webhook",
            "deliveries",
            &id.to_string(),
            "--failed",
        ])
        .ok()
        .json();
    assert!(failed.as_array().unwrap().is_empty());
    let delivery = deliveries[0]["id"].as_i64().unwrap();
    let replayed = env
        .run(&["--json", "webhook", "replay", &delivery.to_string()])
        .ok()
        .json();
    assert_eq!(replayed["replayed"], 1);
    let since = env.run(&["webhook", "replay", "--since", "1h"]).ok();
    assert!(since.stdout.contains("0 deliveries"), "{}", since.stdout);

    // Mistakes are exit code 2 and store nothing.
    env.run(&["webhook", "add", "not a url"]).assert_code(2);
    env.run(&["webhook", "add", &rx.url(), "--events", "message.nope"])
        .assert_code(2);
    env.run(&["webhook", "remove", "999"]).assert_code(2);
    env.run(&["webhook", "replay"]).assert_code(2);
    // A receiver that refuses: the test says so (exit 1) and the event stays queued.
    rx.set_mode(Mode::Status(503, 3));
    let refused = env
        .run(&["webhook", "test", &id.to_string()])
        .assert_code(1);
    assert!(
        refused.stderr.contains("not delivered"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(&secret[6..]));

    env.run(&["webhook", "remove", &id.to_string()]).ok();
    assert_eq!(
        env.run(&["--json", "webhook", "list"]).ok().json(),
        serde_json::json!([])
    );
}
