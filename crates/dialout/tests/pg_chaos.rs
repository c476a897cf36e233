//! PostgreSQL under faults, through the `dialout` binary: workers SIGKILLed and their
//! sessions terminated at random moments, a database that crashes and comes back, a
//! database that is down when `dialout send` runs. Every message is published exactly
//! once (the file backend's publish log counts), none is left stuck, no password leaks.

mod pg_cluster;
mod runner;
mod worker_support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dialout_dialer::State;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::wait_with_deadline;
use worker_support::Env;

/// A small deterministic generator: the seed is printed, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn pending(url: &str) -> i64 {
    let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) else {
        return -1;
    };
    c.query_one(
        "SELECT COUNT(*) FROM messages WHERE state IN (-1, 99) AND NOT is_final_state",
        &[],
    )
    .map(|r| r.get(0))
    .unwrap_or(-1)
}

fn terminate_sessions(admin: &str, url: &str) -> usize {
    let name = url.rsplit('/').next().unwrap().to_string();
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        &[&name],
    )
    .unwrap()
    .len()
}

fn worker(env: &Env, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    env.cmd(&["worker", "--no-status", "--batch-size", "100"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
}

fn stop(mut w: Child) {
    let _ = kill(Pid::from_raw(w.id() as i32), Signal::SIGTERM);
    wait_with_deadline(&mut w, Duration::from_secs(60));
}

/// Each message's file is in the outbox and no message was handed over twice (a second
/// call logs a second line). A worker killed between placing the file and logging it leaves
/// no log line: the next claimer finds the file and adopts it.
fn assert_published_once(env: &Env, n: usize) {
    let counts = env.publishes();
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    let all = env.messages();
    assert_eq!(all.len(), n);
    let missing: Vec<_> = all
        .iter()
        .filter(|m| !worker_support::outbox_file(&env.outbox(), m.id).exists())
        .collect();
    assert!(missing.is_empty(), "not in the outbox: {missing:?}");
    let unlogged = n - counts.len();
    eprintln!("{unlogged} messages placed by a worker killed before it logged them (adopted)");
    let stuck: Vec<_> = all.iter().filter(|m| m.state != State::Ready).collect();
    assert!(
        stuck.is_empty(),
        "{} messages not published, e.g. {:?}",
        stuck.len(),
        stuck.first()
    );
    assert_eq!(env.claimed(), 0, "no claim left behind");
}

#[test]
fn four_workers_killed_and_cut_off_at_random_publish_each_message_once() {
    let admin = std::env::var("DIALOUT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let env = Env::postgres("lease = \"3s\"\n");
    let n = 10_000;
    env.insert(n);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("chaos seed {seed}");
    let mut rng = Rng(seed);
    let log = env.dir.path().join("workers.log");
    let mut workers: Vec<Child> = (0..4).map(|_| worker(&env, &log)).collect();
    let (mut kills, mut cuts) = (0, 0);
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50 + rng.next(250)));
        let left = pending(&env.url);
        if left == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{left} messages still unpublished after 4 minutes"
        );
        // Chaos only while there is work; past ten of each the workers finish in peace.
        if kills + cuts >= 20 {
            continue;
        }
        if rng.next(2) == 0 {
            let i = rng.next(4) as usize;
            let _ = workers[i].kill();
            let _ = workers[i].wait();
            workers[i] = worker(&env, &log);
            kills += 1;
        } else {
            terminate_sessions(&admin, &env.url);
            cuts += 1;
        }
    }
    eprintln!(
        "drained in {:?} with {kills} SIGKILLs and {cuts} rounds of pg_terminate_backend",
        start.elapsed()
    );
    assert!(kills + cuts > 0, "some chaos happened");
    for w in workers {
        stop(w);
    }
    assert_published_once(&env, n);
}

#[test]
fn workers_ride_out_a_database_crash_and_restart() {
    let cluster = pg_cluster::Cluster::start();
    // With a password in the URL (trust ignores it): it must show up nowhere.
    let admin = cluster
        .admin_url()
        .replace("postgres@", "postgres:Sup3rSecretPw@");
    let env = Env::postgres_at(&admin, "lease = \"3s\"\n");
    let n = 3_000;
    env.insert(n);
    let log = env.dir.path().join("workers.log");
    let workers: Vec<Child> = (0..2).map(|_| worker(&env, &log)).collect();
    // Wait for publishing to be under way, then crash the database mid-batch.
    let start = Instant::now();
    while pending(&env.url) > (n as i64) * 9 / 10 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the workers never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    cluster.down("immediate");
    std::thread::sleep(Duration::from_secs(2));
    cluster.up();
    while pending(&env.url) != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "not drained after the restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for w in workers {
        stop(w);
    }
    assert_published_once(&env, n);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("Sup3rSecretPw"),
        "password in the log:\n{text}"
    );
    let failures = text.matches("worker tick failed").count();
    assert!(
        (1..=2).contains(&failures),
        "each worker logs the outage once, not on every retry ({failures} lines):\n{text}"
    );
}

#[test]
fn send_with_the_database_down_fails_clearly_and_stores_nothing() {
    let cluster = pg_cluster::Cluster::start();
    let admin = cluster
        .admin_url()
        .replace("postgres@", "postgres:Sup3rSecretPw@");
    let env = Env::postgres_at(&admin, "");
    // The schema exists; then the database goes away.
    env.insert(0);
    cluster.down("fast");
    let run = env.run(&["send", "+420777123456", "hello", "--queued"]);
    let err = run.assert_code(1).stderr;
    assert!(err.contains("PostgreSQL"), "names the database: {err}");
    assert!(!err.contains("Sup3rSecretPw"), "password shown: {err}");
    cluster.up();
    assert!(env.messages().is_empty(), "nothing stored");
}
