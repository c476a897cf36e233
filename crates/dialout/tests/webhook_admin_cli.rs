//! Webhook endpoints after something went wrong, as a user meets it through `dialout`: an
//! endpoint disabled by 410 Gone is enabled again (`webhook enable`) and a replay to it while
//! disabled is refused; `replay --since` selects by when a delivery failed; a URL already
//! subscribed is refused; `webhook deliveries` says when it shows only the newest; a killed
//! worker's deliveries are free one lease later; a lease is renewed while a slow post runs;
//! an idle delivery loop wakes when a change is committed, not at its next poll.

mod runner;
#[path = "../../dialer/tests/webhooks_support/mod.rs"]
mod webhooks_support;
mod worker_support;

use std::time::{Duration, Instant};

use dialout_dialer::State;
use dialout_model::message::JsonMap;
use dialout_store::plan::Change;
use jiff::Timestamp;
use serde_json::Value;
use webhooks_support::{Mode, Receiver};
use worker_support::Env;

/// `[delivery]` keeps the tests' short lease and interval; `[webhooks]` follows.
const HOOKS: &str = "lease = \"1s\"\ninterval = \"50ms\"\n[webhooks]\ntimeout = \"2s\"\nretry_base = \"100ms\"\nretry_max = \"200ms\"\ninterval = \"50ms\"\nconcurrency = 4\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn wait(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs SQL on the test database (both kinds), returning the first column of each row.
fn sql(env: &Env, text: &str) -> Vec<i64> {
    match env.url.strip_prefix("sqlite://") {
        Some(path) => {
            let c = rusqlite::Connection::open(path).unwrap();
            let mut stmt = c.prepare(text).unwrap();
            stmt.query_map([], |r| r.get::<_, i64>(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
        None => postgres::Client::connect(&env.url, postgres::NoTls)
            .unwrap()
            .query(text, &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, i64>(0))
            .collect(),
    }
}

fn endpoint(env: &Env, id: i64) -> Value {
    let list = env.run(&["--json", "webhook", "list"]).ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .expect("listed")
}

fn add(env: &Env, url: &str) -> i64 {
    env.run(&["--json", "webhook", "add", url]).ok().json()["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn an_endpoint_disabled_by_410_is_enabled_again_and_replay_to_it_is_refused_meanwhile() {
    let env = Env::sqlite(HOOKS);
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Status(410, 4)));
    let id = add(&env, &rx.url());
    env.insert(1);
    let mut worker = env.cmd(&["worker", "--no-status"]).spawn();
    wait(
        "the 410 disables the endpoint",
        Duration::from_secs(60),
        || endpoint(&env, id)["active"] == false,
    );
    worker.kill().unwrap();
    worker.wait().unwrap();
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
    let delivery = failed[0]["id"].as_i64().unwrap().to_string();

    // While disabled: a replay would never be posted, so it is refused and queues nothing.
    for args in [
        vec!["webhook", "replay", delivery.as_str()],
        vec!["webhook", "replay", "--since", "1h"],
    ] {
        let refused = env.run(&args).assert_code(2);
        assert!(
            refused.stderr.contains(&format!("webhook endpoint {id} ("))
                && refused.stderr.contains("is disabled")
                && refused.stderr.contains("nothing was queued")
                && refused
                    .stderr
                    .contains(&format!("dialout webhook enable {id}")),
            "{}",
            refused.stderr
        );
        assert!(
            !refused.stdout.contains("queued again"),
            "{}",
            refused.stdout
        );
    }
    let json = env
        .run(&["--json", "webhook", "replay", &delivery])
        .assert_code(2)
        .stderr;
    assert!(json.contains("\"invalid_input\""), "{json}");
    assert_eq!(
        sql(
            &env,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 2"
        ),
        vec![1],
        "still failed"
    );
    // The same URL again is refused, pointing at the disabled endpoint.
    let again = env.run(&["webhook", "add", &rx.url()]).assert_code(2);
    assert!(
        again
            .stderr
            .contains(&format!("webhook endpoint {id} already posts to"))
            && again
                .stderr
                .contains(&format!("dialout webhook enable {id}")),
        "{}",
        again.stderr
    );
    assert_eq!(
        env.run(&["--json", "webhook", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Enabled: active again, and the replay is posted.
    let on = env.run(&["webhook", "enable", &id.to_string()]).ok();
    assert!(
        on.stdout
            .contains(&format!("enabled webhook endpoint {id}"))
    );
    let ep = endpoint(&env, id);
    assert_eq!(
        (ep["active"].clone(), ep["disabled_reason"].clone()),
        (Value::Bool(true), Value::Null)
    );
    rx.set_mode(Mode::Ok);
    let replayed = env.run(&["webhook", "replay", &delivery]).ok();
    assert_eq!(replayed.stdout.trim(), "1 delivery queued again");
    let before = rx.count();
    let mut worker = env.cmd(&["worker", "--no-status"]).spawn();
    wait("the replay is delivered", Duration::from_secs(60), || {
        sql(
            &env,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 1",
        ) == vec![1]
    });
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert_eq!(rx.count(), before + 1);
    env.run(&["webhook", "enable", "999"]).assert_code(2);
    // Off by hand: listed as such.
    env.run(&["webhook", "disable", &id.to_string()]).ok();
    assert_eq!(
        endpoint(&env, id)["disabled_reason"],
        "disabled by an admin"
    );
}

/// Deliveries given up now, of events three days old: `--since 2h` finds them; one given
/// up three hours ago it leaves alone.
fn replay_since_selects_by_failure(env: Env) {
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Status(503, 4)));
    let id = add(&env, &rx.url());
    env.insert(3);
    std::fs::write(
        env.config(),
        std::fs::read_to_string(env.config()).unwrap() + "max_age = \"300ms\"\n",
    )
    .unwrap();
    let mut worker = env.cmd(&["worker", "--no-status"]).spawn();
    wait("every delivery given up", Duration::from_secs(60), || {
        let n = sql(
            &env,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 2",
        )[0];
        n >= 3
            && sql(
                &env,
                "SELECT count(*) FROM webhook_deliveries WHERE state = 0",
            )[0] == 0
    });
    worker.kill().unwrap();
    worker.wait().unwrap();
    let failed = sql(
        &env,
        "SELECT count(*) FROM webhook_deliveries WHERE state = 2",
    )[0];
    let oldest = sql(&env, "SELECT min(id) FROM webhook_deliveries")[0];
    let days: i64 = 3 * 24 * 3600;
    if env.is_pg() {
        sql(
            &env,
            &format!(
                "WITH u AS (UPDATE webhook_deliveries SET at = at - interval '{days} seconds', queued_at = queued_at - interval '{days} seconds' RETURNING 1) SELECT count(*) FROM u"
            ),
        );
        sql(
            &env,
            &format!(
                "WITH u AS (UPDATE webhook_deliveries SET failed_at = now() - interval '3 hours' WHERE id = {oldest} RETURNING 1) SELECT count(*) FROM u"
            ),
        );
    } else {
        let us = days * 1_000_000;
        sql(
            &env,
            &format!(
                "UPDATE webhook_deliveries SET at = at - {us}, queued_at = queued_at - {us} RETURNING 1"
            ),
        );
        let three_hours = Timestamp::now().as_microsecond() - 3 * 3600 * 1_000_000;
        sql(
            &env,
            &format!(
                "UPDATE webhook_deliveries SET failed_at = {three_hours} WHERE id = {oldest} RETURNING 1"
            ),
        );
    }
    let replayed = env
        .run(&["--json", "webhook", "replay", "--since", "2h"])
        .ok()
        .json();
    assert_eq!(
        replayed["replayed"],
        failed - 1,
        "all but the one failed 3 h ago"
    );
    assert_eq!(
        sql(&env, "SELECT id FROM webhook_deliveries WHERE state = 2"),
        vec![oldest]
    );
    let _ = id;
}

#[test]
fn replay_since_selects_by_when_the_delivery_failed_sqlite() {
    replay_since_selects_by_failure(Env::sqlite(HOOKS));
}

#[test]
fn replay_since_selects_by_when_the_delivery_failed_postgres() {
    replay_since_selects_by_failure(Env::postgres(HOOKS));
}

#[test]
fn deliveries_says_when_it_shows_only_the_newest() {
    let env = Env::sqlite(HOOKS);
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Ok));
    let id = add(&env, &rx.url()).to_string();
    for _ in 0..3 {
        env.run(&["webhook", "test", &id]).ok();
    }
    let cut = env
        .run(&["webhook", "deliveries", &id, "--limit", "2"])
        .ok();
    assert_eq!(cut.stdout.lines().count(), 2, "{}", cut.stdout);
    assert!(
        cut.stderr.contains("the newest 2 deliveries are shown") && cut.stderr.contains("--limit"),
        "{}",
        cut.stderr
    );
    let all = env.run(&["webhook", "deliveries", &id]).ok();
    assert_eq!(all.stdout.lines().count(), 3);
    assert!(!all.stderr.contains("newest"), "{}", all.stderr);
    env.run(&["webhook", "deliveries", &id, "--limit", "0"])
        .assert_code(2);
    let help = env.run(&["webhook", "deliveries", "--help"]).ok();
    let words = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("newest first: 100 unless --limit"),
        "{}",
        help.stdout
    );
}

/// The receiver reads every post and never answers; the worker is killed mid-post. With a
/// 2 s lease and a 10 s timeout, a new worker posts them again within seconds (the old claim
/// lasted 17 × timeout + 5 s = 175 s).
fn killed_worker_frees_its_deliveries_within_a_lease(env: Env) {
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Hang));
    add(&env, &rx.url());
    env.insert(5);
    let mut worker = env.cmd(&["worker", "--no-status"]).spawn();
    wait("the worker posts", Duration::from_secs(60), || {
        rx.count() >= 5
    });
    worker.kill().unwrap();
    worker.wait().unwrap();
    let killed = Instant::now();
    rx.set_mode(Mode::Ok);
    let seen = rx.count();
    let mut worker = env.cmd(&["worker", "--no-status"]).spawn();
    wait("posted again", Duration::from_secs(60), || {
        rx.count() >= seen + 5
    });
    let after = killed.elapsed();
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(
        after < Duration::from_secs(15),
        "the claims lasted {after:?} after the kill"
    );
}

const LEASED: &str = "lease = \"1s\"\ninterval = \"50ms\"\n[webhooks]\ntimeout = \"10s\"\nlease = \"2s\"\ninterval = \"50ms\"\n";

#[test]
fn killed_worker_frees_its_deliveries_within_a_lease_sqlite() {
    killed_worker_frees_its_deliveries_within_a_lease(Env::sqlite(LEASED));
}

#[test]
fn killed_worker_frees_its_deliveries_within_a_lease_postgres() {
    killed_worker_frees_its_deliveries_within_a_lease(Env::postgres(LEASED));
}

/// A post slower than the lease (3 s against 1.5 s), two workers polling every 50 ms: the
/// lease is renewed while the post runs, so the other worker never takes the delivery and
/// the receiver gets it once.
#[test]
fn a_lease_is_renewed_while_a_slow_post_runs() {
    let env = Env::sqlite(
        "lease = \"1s\"\ninterval = \"50ms\"\n[webhooks]\ntimeout = \"10s\"\nlease = \"1500ms\"\ninterval = \"50ms\"\n",
    );
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Slow(Duration::from_secs(3))));
    add(&env, &rx.url());
    let mut a = env.cmd(&["worker", "--no-status"]).spawn();
    let mut b = env.cmd(&["worker", "--no-status"]).spawn();
    env.insert(1);
    wait("delivered", Duration::from_secs(60), || {
        sql(
            &env,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 1",
        ) == vec![1]
    });
    std::thread::sleep(Duration::from_secs(2));
    for w in [&mut a, &mut b] {
        w.kill().unwrap();
        w.wait().unwrap();
    }
    assert_eq!(rx.count(), 1, "posted once");
}

/// Polling every 30 s, an idle delivery loop still posts an event within a moment of its
/// change: the worker's own change (in process), and on PostgreSQL a change committed by
/// another process (LISTEN/NOTIFY).
fn changes_wake_the_delivery_loop(env: Env) {
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Ok));
    add(&env, &rx.url());
    let mut worker = env
        .cmd(&["worker", "--no-status"])
        .env("DIALOUT_LOG", "info")
        .spawn();
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let ids = env.insert(1);
    wait(
        "the worker's change is posted",
        Duration::from_secs(20),
        || rx.count() >= 1,
    );
    let first = started.elapsed();
    let mut second = None;
    if env.is_pg() {
        // Changed by this process, posted by the worker's.
        let store = env.store();
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let change = Change::Status {
            state: State::Done,
            is_final: false,
            error: None,
            sender_data: JsonMap::new(),
            reason: "checked".into(),
            reply: Default::default(),
        };
        store
            .apply(&[(ids[0], change)], None, Timestamp::now())
            .unwrap();
        let seen = rx.count();
        wait(
            "another process's change is posted",
            Duration::from_secs(20),
            || rx.count() > seen,
        );
        second = Some(started.elapsed());
    }
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(first < Duration::from_secs(5), "in process: {first:?}");
    if let Some(second) = second {
        assert!(
            second < Duration::from_secs(5),
            "across processes: {second:?}"
        );
    }
}

const SLOW_POLL: &str = "lease = \"1s\"\ninterval = \"50ms\"\n[webhooks]\ninterval = \"30s\"\n";

#[test]
fn changes_wake_the_delivery_loop_sqlite() {
    changes_wake_the_delivery_loop(Env::sqlite(SLOW_POLL));
}

#[test]
fn changes_wake_the_delivery_loop_postgres() {
    changes_wake_the_delivery_loop(Env::postgres(SLOW_POLL));
}
