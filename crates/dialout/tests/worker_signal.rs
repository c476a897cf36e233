//! SIGTERM (and SIGINT) stop the worker cleanly: it finishes the batch it holds, releases
//! its claims and exits 0 — on SQLite and PostgreSQL.

mod runner;
mod worker_support;

use std::time::Duration;

use dialout_dialer::State;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::wait_with_deadline;
use worker_support::Env;

fn stop_with(env: Env, signal: Signal) {
    let n = 60;
    env.insert(n);
    // Each batch pauses 400 ms after its claim: the signal arrives while claims are held.
    let mut child = env
        .cmd(&["worker", "--no-status", "--batch-size", "10"])
        .env("DIALOUT_FAILPOINT", "after-claim:delay=400")
        .spawn_until("failpoint after-claim reached", Duration::from_secs(60));
    assert!(env.claimed() > 0, "claims are held when the signal arrives");
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "a clean stop exits 0");

    assert_eq!(env.claimed(), 0, "no claimed message left behind");
    let counts = env.publishes();
    let all = env.messages();
    assert_eq!(all.len(), n);
    let ready = all.iter().filter(|m| m.state == State::Ready).count();
    assert!(
        ready >= 10,
        "the batch it held was finished ({ready} published)"
    );
    assert!(ready < n, "it stopped instead of draining the queue");
    for m in &all {
        match m.state {
            State::Ready => assert_eq!((counts.get(&m.id.to_string()), m.attempts), (Some(&1), 1)),
            State::Waiting => {
                assert_eq!((m.attempts, m.attempt_unresolved), (0, false), "untouched");
                assert!(!counts.contains_key(&m.id.to_string()));
            }
            other => panic!("unexpected state {other}"),
        }
    }
    // The rest is picked up by the next worker at once: nothing waits for a lease.
    env.run(&["worker", "--once", "--no-status"]).ok();
    assert!(env.messages().iter().all(|m| m.state == State::Ready));
}

#[test]
fn sqlite_sigterm_releases_claims() {
    stop_with(Env::sqlite("lease = \"60s\"\n"), Signal::SIGTERM);
}

#[test]
fn postgres_sigterm_releases_claims() {
    stop_with(Env::postgres("lease = \"60s\"\n"), Signal::SIGTERM);
}

#[test]
fn sqlite_sigint_releases_claims() {
    stop_with(Env::sqlite("lease = \"60s\"\n"), Signal::SIGINT);
}
