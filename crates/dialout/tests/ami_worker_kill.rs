//! A real `dialout worker` driving the fake AMI server, killed with SIGKILL (once right after
//! it originated a batch and before it recorded anything, once mid-call) and restarted: every
//! message reaches the state its callee deserves, read back from AstDB where the events were
//! lost, and nobody is called twice.

mod runner;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_dialer::{Message, NewMessage, PhoneNumber, State};
use dialout_store::prelude::*;
use dialout_store::{self as store, MessageFilter};
use dialout_testkit::fake_ami::{Callee, FakeAmi};
use runner::Dialout;

const N: usize = 90;

fn number(i: usize) -> String {
    format!("+420779{:06}", 300_000 + i)
}

fn expected(i: usize) -> State {
    match i % 3 {
        0 => State::AnsweredComplete,
        1 => State::AnsweredPartial,
        _ => State::Declined,
    }
}

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    db: String,
}

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

fn all(store: &Arc<dyn Store>) -> Vec<Message> {
    store
        .messages(&MessageFilter {
            limit: Some(N + 1),
            ..Default::default()
        })
        .unwrap()
}

fn wait_for(what: &str, env: &Env, log: &str, child: &mut Child, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        let tail = || std::fs::read_to_string(env.root.join(log)).unwrap_or_default();
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the worker exited ({status}) waiting for {what}:\n{}",
                tail()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out waiting for {what}:\n{}",
            tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_killed_mid_call_loses_nothing_and_calls_nobody_twice() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt.block_on(FakeAmi::start("dialout", "s3cret")).unwrap();
    fake.playback(Duration::from_millis(1500));
    for i in 0..N {
        let digits = number(i)[1..].to_string();
        match i % 3 {
            1 => fake.callee(&digits, Callee::hangs_up_after(Duration::from_millis(300))),
            2 => fake.callee(&digits, Callee::busy()),
            _ => {}
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let config = root.join("dialout.toml");
    std::fs::write(
        &config,
        format!(
            "[backends.pbx]\nkind = \"ami\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"dialout\"\nsecret_env = \"TEST_AMI_SECRET\"\n\
             channel = \"Local/{{digits}}@callee\"\naudio_url = \"http://dialout.example:8080/audio\"\naudio_dir = \"{}/audio\"\n\
             wait_time = 5\nmax_in_flight = 15\ncalls_per_second = 100\n\n\
             [delivery]\ninterval = \"50ms\"\nlease = \"3s\"\nbatch_size = 15\n",
            fake.port(),
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
    let store = store::open(&env.db).unwrap();
    let new: Vec<NewMessage> = (0..N)
        .map(|i| {
            NewMessage::new(
                PhoneNumber::from_e164(&number(i)).unwrap(),
                "Your order has shipped.",
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

    // 1. Killed right after it originated a batch, before recording anything.
    let mut first = worker(&env)
        .env("TEST_AMI_SECRET", "s3cret")
        .env("DIALOUT_FAILPOINT", "after-publish")
        .spawn_until("failpoint after-publish reached", Duration::from_secs(60));
    let unrecorded = fake.originated().len();
    assert!(unrecorded > 0, "a batch was originated");
    assert!(
        all(&store).iter().all(|m| m.sent_at.is_none()),
        "nothing recorded yet"
    );
    first.kill().unwrap();
    first.wait().unwrap();

    // 2. Restarted, killed again while calls are up.
    let mut second = worker(&env)
        .env("TEST_AMI_SECRET", "s3cret")
        .stderr(std::fs::File::create(env.root.join("second.log")).unwrap())
        .spawn();
    wait_for(
        "a third final and calls up",
        &env,
        "second.log",
        &mut second,
        || {
            all(&store).iter().filter(|m| m.is_final_state).count() >= N / 3
                && fake.live_calls() > 0
        },
    );
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(
        all(&store).iter().any(|m| !m.is_final_state),
        "killed mid-run"
    );

    // 3. Restarted to the end.
    let mut third = worker(&env)
        .env("TEST_AMI_SECRET", "s3cret")
        .stderr(std::fs::File::create(env.root.join("third.log")).unwrap())
        .spawn();
    wait_for("every message final", &env, "third.log", &mut third, || {
        all(&store).iter().all(|m| m.is_final_state)
    });
    third.kill().unwrap();
    third.wait().unwrap();

    let mut wrong = Vec::new();
    for m in all(&store) {
        let i = (m.recipient.as_str()[7..].parse::<usize>().unwrap()) - 300_000;
        let calls = fake.times_called(&m.recipient.as_str()[1..]);
        if m.state != expected(i) || calls != 1 {
            wrong.push(format!(
                "{}: {} (want {}), called {calls} times, {:?}",
                m.recipient,
                m.state,
                expected(i),
                m.error
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(fake.originated().len(), N, "nobody called twice");
    // The batch originated before the first kill was found in AstDB, not dialed again.
    let found = all(&store)
        .iter()
        .filter(|m| {
            store
                .history(m.id)
                .unwrap()
                .iter()
                .any(|h| h.reason.contains("AstDB dialout/"))
        })
        .count();
    assert!(
        found >= unrecorded,
        "{found} found in AstDB, {unrecorded} were originated unrecorded"
    );
    drop(fake);
    drop(rt);
}
