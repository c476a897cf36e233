//! Three `dialout worker` processes on one PostgreSQL database publish 10,000 messages:
//! each exactly once (claims with FOR UPDATE SKIP LOCKED); the same on SQLite, smaller.

mod runner;
mod worker_support;

use std::process::Stdio;
use std::time::Duration;

use dialout_dialer::State;
use runner::wait_with_deadline;
use serde_json::Value;
use worker_support::Env;

#[test]
fn three_workers_publish_ten_thousand_once_each() {
    many_workers(Env::postgres("lease = \"30s\"\n"), 10_000);
}

/// SQLite serialises the claims (BEGIN IMMEDIATE): safe, if not fast, with several workers.
#[test]
fn three_workers_on_sqlite_publish_once_each() {
    many_workers(Env::sqlite("lease = \"30s\"\n"), 2_000);
}

fn many_workers(env: Env, n: usize) {
    let ids = env.insert(n);
    let mut workers: Vec<_> = (0..3)
        .map(|_| {
            env.cmd(&[
                "--json",
                "worker",
                "--once",
                "--no-status",
                "--batch-size",
                "50",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
        })
        .collect();
    let mut recorded = Vec::new();
    for w in &mut workers {
        let status = wait_with_deadline(w, Duration::from_secs(300));
        assert_eq!(status.code(), Some(0));
        let mut out = String::new();
        std::io::Read::read_to_string(w.stdout.as_mut().unwrap(), &mut out).unwrap();
        let stats: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("worker --json output ({e}): {out}"));
        recorded.push(stats["recorded"].as_u64().unwrap());
    }
    eprintln!("messages recorded per worker: {recorded:?}");
    assert_eq!(
        recorded.iter().sum::<u64>(),
        n as u64,
        "every message recorded once in all"
    );
    assert!(
        recorded.iter().filter(|r| **r > 0).count() >= 2,
        "the work was shared: {recorded:?}"
    );

    let counts = env.publishes();
    assert_eq!(counts.len(), n);
    for id in &ids {
        assert_eq!(counts.get(&id.to_string()), Some(&1), "message {id}");
    }
    let all = env.messages();
    assert_eq!(all.len(), n);
    assert!(
        all.iter()
            .all(|m| m.state == State::Ready && m.attempts == 1)
    );
    assert_eq!(env.claimed(), 0);
}
