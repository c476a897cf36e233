//! A real `dialout worker` process, killed with SIGKILL mid-run (once right after it spooled a
//! batch and before it recorded anything, once at an arbitrary moment) and restarted: every
//! message still reaches its final state and no call file is dialed twice. The fake Asterisk
//! runs in this test process, on the shipped dialplan, 50x faster than the wall clock.

mod runner;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_backends::asterisk::file_name;
use dialout_dialer::{Message, MessageId, NewMessage, PhoneNumber, State};
use dialout_store::prelude::*;
use dialout_store::{self as store, MessageFilter};
use dialout_testkit::fake_asterisk::{Callee, Callees, FakeAsterisk};
use runner::Dialout;

const N: usize = 200;

fn kind(i: usize) -> (Vec<Callee>, State, usize) {
    match i % 6 {
        0 => (vec![Callee::answers()], State::AnsweredComplete, 1),
        1 => (
            vec![Callee::answers_then_hangs_up(2.5)],
            State::AnsweredPartial,
            1,
        ),
        2 => (vec![Callee::busy()], State::Declined, 2),
        3 => (vec![Callee::no_answer()], State::Unanswered, 2),
        4 => (vec![Callee::congestion()], State::Unreachable, 2),
        _ => (
            vec![Callee::busy(), Callee::answers()],
            State::AnsweredComplete,
            2,
        ),
    }
}

fn number(i: usize) -> String {
    format!("+420777{:06}", 200_000 + i)
}

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    db: String,
}

/// `dialout worker` at log level info, its stdout discarded.
fn worker(env: &Env) -> Dialout {
    Dialout::new()
        .log("info")
        .arg("--config")
        .arg(&env.config)
        .arg("--database")
        .arg(&env.db)
        .arg("worker")
        .stdout(Stdio::null())
}

/// Starts `dialout worker` with its stderr logged to `log`.
fn logged_worker(env: &Env, log: &str) -> Child {
    worker(env)
        .stderr(std::fs::File::create(env.root.join(log)).unwrap())
        .spawn()
}

/// The end of a worker's log, for failure messages.
fn tail(env: &Env, log: &str) -> String {
    let text = std::fs::read_to_string(env.root.join(log)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn all(store: &Arc<dyn Store>) -> Vec<Message> {
    store
        .messages(&MessageFilter {
            limit: Some(N + 1),
            ..Default::default()
        })
        .unwrap()
}

fn wait_for(
    what: &str,
    timeout: Duration,
    child: &mut Child,
    log: impl Fn() -> String,
    mut cond: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !cond() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the worker exited ({status}) while waiting for {what}; its log:\n{}",
                log()
            );
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what}; worker log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn kill9(mut child: Child) {
    // Child::kill sends SIGKILL.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_worker_killed_mid_run_loses_nothing_and_dials_nobody_twice() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("outgoing")).unwrap();
    let config = root.join("dialout.toml");
    std::fs::write(
        &config,
        format!(
            "[backends.pbx]\nkind = \"asterisk\"\nspool_dir = \"{}/outgoing\"\nchannel = \"PJSIP/{{number}}@trunk\"\n\
             wait_time = 20\nretry_time = 30\nmax_retries = 1\nmax_in_flight = 30\ncalls_per_second = 100\n\n\
             [delivery]\ninterval = \"50ms\"\nlease = \"3s\"\nbatch_size = 30\n",
            root.display()
        ),
    )
    .unwrap();
    let env = Env {
        db: format!("sqlite://{}/dialout.db", root.display()),
        _dir: dir,
        root,
        config,
    };

    let mut callees = Callees::new(Callee::unreachable());
    let mut expected = BTreeMap::new();
    for i in 0..N {
        let (seq, state, attempts) = kind(i);
        callees = callees.exact_sequence(&format!("PJSIP/{}@trunk", number(i)), seq);
        expected.insert(number(i), (state, attempts));
    }
    let dialplan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/dialout.conf");
    let fake = FakeAsterisk::builder(env.root.join("outgoing"))
        .dialplan_file(&dialplan)
        .unwrap()
        .callees(callees)
        .spawn(50.0)
        .unwrap();

    let store = store::open(&env.db).unwrap();
    let new: Vec<NewMessage> = (0..N)
        .map(|i| {
            NewMessage::new(
                PhoneNumber::from_e164(&number(i)).unwrap(),
                ["Your order has shipped.", "Your appointment is tomorrow."][i % 2],
                "pbx",
            )
        })
        .collect();
    store
        .insert(
            &new,
            dialout_store::InsertMode::QUEUED,
            jiff::Timestamp::now(),
        )
        .unwrap();

    let t0 = Instant::now();
    // 1. Killed right after the backend spooled a batch, before any state was recorded.
    let first = worker(&env)
        .env("DIALOUT_FAILPOINT", "after-publish")
        .spawn_until("failpoint after-publish reached", Duration::from_secs(60));
    let spooled_unrecorded = std::fs::read_dir(env.root.join("outgoing"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .count()
        + std::fs::read_dir(env.root.join("outgoing_done"))
            .map(|d| d.count())
            .unwrap_or(0);
    assert!(spooled_unrecorded > 0, "the batch was spooled");
    assert!(
        all(&store).iter().all(|m| m.sent_at.is_none()),
        "nothing recorded yet"
    );
    kill9(first);
    eprintln!("first worker killed at {:?}", t0.elapsed());

    // 2. Restarted, then killed again at an arbitrary moment of the run.
    let mut second = logged_worker(&env, "second.log");
    wait_for(
        "a third of the messages final",
        Duration::from_secs(60),
        &mut second,
        || tail(&env, "second.log"),
        || all(&store).iter().filter(|m| m.is_final_state).count() >= N / 3,
    );
    kill9(second);
    eprintln!("second worker killed at {:?}", t0.elapsed());
    let final_at_kill = all(&store).iter().filter(|m| m.is_final_state).count();
    assert!(final_at_kill < N, "killed mid-run");

    // 3. Restarted to the end.
    let mut third = logged_worker(&env, "third.log");
    wait_for(
        "every message final",
        Duration::from_secs(120),
        &mut third,
        || tail(&env, "third.log"),
        || all(&store).iter().all(|m| m.is_final_state),
    );
    // SIGTERM: a clean stop.
    nix_kill_term(third.id());
    let status = third.wait().unwrap();
    assert!(status.success(), "worker exit after SIGTERM: {status:?}");
    let obs = fake.shutdown();
    eprintln!("all final at {:?}", t0.elapsed());

    assert!(obs.errors().is_empty(), "{:?}", obs.errors());
    let mut wrong = vec![];
    for m in all(&store) {
        let (state, attempts) = expected[m.recipient.as_str()];
        let name = file_name(m.id);
        let numbers: Vec<i32> = obs.attempts_of(&name).map(|a| a.number).collect();
        let want: Vec<i32> = (1..=attempts as i32).collect();
        if m.state != state || numbers != want {
            wrong.push(format!(
                "{}: {} (want {state}), attempts {numbers:?} (want {want:?}), {:?}",
                m.recipient, m.state, m.error
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(obs.dials.len(), N, "each message's call file was dialed");
    assert!(
        obs.dialed_more_than_once().iter().all(|name| {
            let id: MessageId = name
                .trim_start_matches("dialout-")
                .trim_end_matches(".call")
                .parse()
                .unwrap();
            let m = all(&store).into_iter().find(|m| m.id == id).unwrap();
            expected[m.recipient.as_str()].1 > 1
        }),
        "only files with a retry are dialed more than once"
    );
    assert!(
        obs.max_files_in_spool <= 30,
        "{} files in the spool at once",
        obs.max_files_in_spool
    );
    // The batch spooled before the first kill was recognised, not spooled again.
    let recognised = all(&store)
        .iter()
        .filter(|m| {
            store.history(m.id).unwrap().iter().any(|h| {
                h.reason.contains("after an interrupted attempt")
                    || h.reason.contains("already spooled")
            })
        })
        .count();
    assert!(
        recognised >= spooled_unrecorded,
        "{recognised} messages recognised after the crash, {spooled_unrecorded} were spooled unrecorded"
    );
}

fn nix_kill_term(pid: u32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
}
