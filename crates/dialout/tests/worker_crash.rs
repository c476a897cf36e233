//! `kill -9` of a real `dialout` process between claim and publish, and between publish
//! and the state update: no message is lost and none is published twice — on SQLite and
//! PostgreSQL. The file backend's publish log counts publishes per message.

mod runner;
mod worker_support;

use std::time::Duration;

use dialout_dialer::State;
use worker_support::Env;

const N: usize = 30;
const BATCH: &str = "10";

fn crash_then_recover(env: Env, point: &str) {
    let ids = env.insert(N);
    let mut child = env
        .cmd(&["worker", "--once", "--no-status", "--batch-size", BATCH])
        .env("DIALOUT_FAILPOINT", point)
        .spawn_until(
            &format!("failpoint {point} reached"),
            Duration::from_secs(60),
        );
    child.kill().expect("SIGKILL"); // kill -9
    child.wait().unwrap();

    // What the dead process left behind.
    let counts = env.publishes();
    assert!(env.claimed() > 0, "the killed worker held claims");
    match point {
        "after-claim" => assert!(
            counts.is_empty(),
            "nothing was published before the kill: {counts:?}"
        ),
        _ => {
            assert_eq!(
                counts.len(),
                10,
                "one batch was handed over before the kill"
            );
            let unresolved = env
                .messages()
                .into_iter()
                .filter(|m| m.attempt_unresolved && m.state == State::Waiting)
                .count();
            assert_eq!(unresolved, 10, "published but not recorded");
        }
    }

    // Its claims expire (lease 1 s); a new worker finishes the job.
    std::thread::sleep(Duration::from_millis(1200));
    env.run(&["worker", "--once", "--no-status", "--batch-size", BATCH])
        .ok();

    let all = env.messages();
    assert_eq!(all.len(), N, "no message lost");
    let counts = env.publishes();
    for id in &ids {
        assert_eq!(
            counts.get(&id.to_string()),
            Some(&1),
            "message {id} published exactly once"
        );
    }
    assert_eq!(counts.len(), N);
    for m in &all {
        assert_eq!(
            (m.state, m.attempt_unresolved),
            (State::Ready, false),
            "{}",
            m.id
        );
        assert!(m.attempts <= 1, "{}: attempts {}", m.id, m.attempts);
    }
    if point == "after-publish" {
        let adopted = all.iter().filter(|m| {
            env.store()
                .history(m.id)
                .unwrap()
                .iter()
                .any(|h| h.reason.contains("adopted"))
        });
        assert_eq!(
            adopted.count(),
            10,
            "the unresolved ones were found at the backend, not published again"
        );
    }
    assert_eq!(env.claimed(), 0);
}

#[test]
fn sqlite_kill_between_claim_and_publish() {
    crash_then_recover(Env::sqlite(""), "after-claim");
}

#[test]
fn sqlite_kill_between_publish_and_update() {
    crash_then_recover(Env::sqlite(""), "after-publish");
}

#[test]
fn postgres_kill_between_claim_and_publish() {
    crash_then_recover(Env::postgres(""), "after-claim");
}

#[test]
fn postgres_kill_between_publish_and_update() {
    crash_then_recover(Env::postgres(""), "after-publish");
}

/// `dialout send` publishing at once goes through the same claims.
#[test]
fn sqlite_kill_during_send_then_worker() {
    let env = Env::sqlite("");
    let mut child = env
        .cmd(&["send", "+420777123456", "hello"])
        .env("DIALOUT_FAILPOINT", "after-publish")
        .spawn_until("failpoint after-publish reached", Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let m = &env.messages()[0];
    assert_eq!((m.state, m.attempt_unresolved), (State::Waiting, true));
    std::thread::sleep(Duration::from_millis(1200));
    env.run(&["worker", "--once", "--no-status"]).ok();
    let m = &env.messages()[0];
    assert_eq!(m.state, State::Ready);
    assert_eq!(env.publishes()[&m.id.to_string()], 1);
}

/// `dialout send` to a backend whose `find` can tell whether it got a message stores the
/// message with its first attempt begun, in one commit, before the backend is called. A
/// `kill -9` right after that commit: the message is there, claimed, its attempt
/// unresolved and not published; after the lease the worker asks the backend, which says
/// no, and publishes it exactly once.
fn kill_during_send_before_publish(env: Env) {
    let mut child = env
        .cmd(&["send", "+420777123456", "hello"])
        .env("DIALOUT_FAILPOINT", "after-claim")
        .spawn_until("failpoint after-claim reached", Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let m = &env.messages()[0];
    assert_eq!(
        (m.state, m.attempts, m.attempt_unresolved),
        (State::Waiting, 1, true)
    );
    assert_eq!(env.claimed(), 1, "still claimed by the dead process");
    assert!(
        env.publishes().is_empty(),
        "the backend was not called before the kill"
    );
    std::thread::sleep(Duration::from_millis(1200));
    env.run(&["worker", "--once", "--no-status"]).ok();
    let all = env.messages();
    assert_eq!(all.len(), 1, "no message lost");
    let m = &all[0];
    assert_eq!((m.state, m.attempt_unresolved), (State::Ready, false));
    assert_eq!(
        env.publishes()[&m.id.to_string()],
        1,
        "published exactly once"
    );
    assert_eq!(env.claimed(), 0);
}

#[test]
fn sqlite_kill_during_send_before_publish_then_worker() {
    kill_during_send_before_publish(Env::sqlite(""));
}

#[test]
fn postgres_kill_during_send_before_publish_then_worker() {
    kill_during_send_before_publish(Env::postgres(""));
}
