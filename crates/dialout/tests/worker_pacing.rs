//! `max_in_flight` holds across several `dialout worker` processes on one database: the
//! limit is counted in the claim's transaction, so no two workers spend the same room.
//! Each worker pauses after handing a batch to the backend and before recording it (the
//! `after-publish` failpoint, a slow backend): a limit counted per process, or read before
//! claiming, lets the other workers publish a batch of their own meanwhile.

mod runner;
mod worker_support;

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dialout_dialer::State;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::wait_with_deadline;
use worker_support::Env;

const LIMIT: usize = 5;
const MESSAGES: usize = 20;

#[test]
fn max_in_flight_holds_across_workers_on_postgres() {
    limit_holds_across_workers(Env::postgres(""));
}

#[test]
fn max_in_flight_holds_across_workers_on_sqlite() {
    limit_holds_across_workers(Env::sqlite(""));
}

fn limit_holds_across_workers(env: Env) {
    env.set_config(
        &format!("max_in_flight = {LIMIT}\n"),
        "lease = \"30s\"\ninterval = \"50ms\"\nstatus_interval = \"100ms\"\n",
    );
    let ids = env.insert(MESSAGES);
    let workers: Vec<Child> = (0..3)
        .map(|_| {
            // Small batches: no worker fills the limit alone, they all take part.
            env.cmd(&["--json", "worker", "--batch-size", "2"])
                .env("DIALOUT_FAILPOINT", "after-publish:delay=300")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
        })
        .collect();
    let mut workers = Stop(workers);
    let results = env.outbox().join("results");
    std::fs::create_dir_all(&results).unwrap();

    // The consumer: a message is in flight from its publish until the test writes its
    // result (the database makes it final later still, so this undercounts, never over).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut answered: HashSet<String> = HashSet::new();
    let (mut open, mut since, mut most) = (HashSet::new(), Instant::now(), 0);
    while answered.len() < MESSAGES {
        assert!(
            Instant::now() < deadline,
            "{} of {MESSAGES} answered by the deadline",
            answered.len()
        );
        let now_open: HashSet<String> = env
            .publishes()
            .into_keys()
            .filter(|id| !answered.contains(id))
            .collect();
        most = most.max(now_open.len());
        assert!(
            now_open.len() <= LIMIT,
            "{} messages in flight at once with max_in_flight = {LIMIT}",
            now_open.len()
        );
        if now_open != open {
            (open, since) = (now_open, Instant::now());
        } else if !open.is_empty() && since.elapsed() > Duration::from_millis(700) {
            // Long enough for every worker to have claimed a few times: answer them all.
            for id in open.drain() {
                let tmp = results.join(format!(".{id}.tmp"));
                std::fs::write(&tmp, r#"{"state": "ANSWERED_COMPLETE"}"#).unwrap();
                std::fs::rename(&tmp, results.join(format!("{id}.json"))).unwrap();
                answered.insert(id);
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(most, LIMIT, "the limit was reached");

    let counts = env.publishes();
    for id in &ids {
        assert_eq!(counts.get(&id.to_string()), Some(&1), "message {id}");
    }
    // The last results taken in: every message final, none claimed.
    loop {
        let all = env.messages();
        if all.iter().all(|m| m.state == State::AnsweredComplete) {
            break;
        }
        assert!(Instant::now() < deadline, "not all final: {all:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(env.claimed(), 0);

    // Stopped cleanly, each says what it recorded: the work was shared.
    let recorded: Vec<u64> = workers
        .0
        .drain(..)
        .map(|mut w| {
            kill(Pid::from_raw(w.id() as i32), Signal::SIGTERM).unwrap();
            assert_eq!(
                wait_with_deadline(&mut w, Duration::from_secs(30)).code(),
                Some(0)
            );
            let mut out = String::new();
            std::io::Read::read_to_string(w.stdout.as_mut().unwrap(), &mut out).unwrap();
            let stats: serde_json::Value = serde_json::from_str(&out)
                .unwrap_or_else(|e| panic!("worker --json output ({e}): {out}"));
            stats["recorded"].as_u64().unwrap()
        })
        .collect();
    eprintln!("messages recorded per worker: {recorded:?}");
    assert_eq!(recorded.iter().sum::<u64>(), MESSAGES as u64);
    assert!(
        recorded.iter().filter(|r| **r > 0).count() >= 2,
        "more than one worker published: {recorded:?}"
    );
}

/// Kills the workers however the test ends.
struct Stop(Vec<Child>);

impl Drop for Stop {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}
