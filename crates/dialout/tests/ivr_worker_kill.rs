//! A real `dialout worker` killed with SIGKILL while a callee hears the gather prompt, on
//! both Asterisk backends and both stores: after a restart the keys the callee pressed meanwhile
//! are read back (call files: the report lines; AMI: AstDB `dialout-ivr/<id>`), stored with
//! the final state, and nobody is called twice.

mod runner;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_dialer::{Message, NewMessage, PhoneNumber, State};
use dialout_model::interactive::{AnsweredBy, Interactive, MachinePolicy};
use dialout_store::prelude::*;
use dialout_store::{self as store, MessageFilter};
use dialout_testkit::fake_asterisk::Party;
use runner::Dialout;

/// (number, keys in fake seconds after the answer, digits, answer). The prompt waits 60 s,
/// so a key at 30 s comes after any prompt and within the timeout.
type Case = (
    &'static str,
    &'static [(f64, char)],
    Option<&'static str>,
    Option<&'static str>,
);

const CASES: [Case; 3] = [
    (
        "+420777300001",
        &[(30.0, '1')],
        Some("1"),
        Some("confirmed"),
    ),
    (
        "+420777300002",
        &[(30.0, '2')],
        Some("2"),
        Some("cancelled"),
    ),
    ("+420777300003", &[], None, None),
];

fn interactive() -> Interactive {
    Interactive {
        gather: Some(
            serde_json::from_str(
                r#"{"prompt":"Press 1 to confirm, 2 to cancel.","keys":"12","repeat":0,
                    "timeout":60,"answers":{"1":"confirmed","2":"cancelled"}}"#,
            )
            .unwrap(),
        ),
        machine: Some(MachinePolicy::Ignore),
    }
}

fn worker(config: &Path, db: &str, log: PathBuf) -> Child {
    Dialout::new()
        .log("info")
        .arg("--config")
        .arg(config)
        .arg("--database")
        .arg(db)
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
}

fn all(store: &Arc<dyn Store>) -> Vec<Message> {
    store
        .messages(&MessageFilter {
            limit: Some(10),
            ..Default::default()
        })
        .unwrap()
}

fn wait(what: &str, log: &Path, child: &mut Child, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        let tail = || std::fs::read_to_string(log).unwrap_or_default();
        if let Some(s) = child.try_wait().unwrap() {
            panic!("the worker exited ({s}) waiting for {what}:\n{}", tail());
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}:\n{}",
            tail()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn insert(db: &str) -> Arc<dyn Store> {
    let store = store::open(db).unwrap();
    let new: Vec<NewMessage> = CASES
        .iter()
        .map(|(n, ..)| {
            let mut m = NewMessage::new(
                PhoneNumber::from_e164(n).unwrap(),
                "Your order has shipped.",
                "pbx",
            );
            m.interactive = interactive();
            m
        })
        .collect();
    store
        .insert(
            &new,
            dialout_store::InsertMode::QUEUED,
            jiff::Timestamp::now(),
        )
        .unwrap();
    store
}

/// Kills a worker once some call is past its message (in the prompt), then runs another to
/// the end and checks every reply.
fn kill_during_prompt(
    config: &Path,
    db: &str,
    root: &Path,
    in_prompt: &mut dyn FnMut() -> bool,
    times_called: &dyn Fn(&str) -> usize,
) {
    let store = insert(db);
    let mut first = worker(config, db, root.join("first.log"));
    wait(
        "a call in its prompt",
        &root.join("first.log"),
        &mut first,
        in_prompt,
    );
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        all(&store).iter().any(|m| !m.is_final_state),
        "killed mid-call"
    );
    let mut second = worker(config, db, root.join("second.log"));
    wait(
        "every message final",
        &root.join("second.log"),
        &mut second,
        || all(&store).iter().all(|m| m.is_final_state),
    );
    second.kill().unwrap();
    second.wait().unwrap();
    for m in all(&store) {
        let (n, _, digits, answer) = CASES.iter().find(|c| c.0 == m.recipient.as_str()).unwrap();
        assert_eq!(m.state, State::AnsweredComplete, "{n}: {:?}", m.error);
        assert_eq!(m.reply.digits.as_deref(), *digits, "{n}");
        assert_eq!(m.reply.answer.as_deref(), *answer, "{n}");
        assert_eq!(m.reply.answered_by, Some(AnsweredBy::Human), "{n}");
        assert_eq!(times_called(&n[1..]), 1, "{n}: nobody is called twice");
        let last = store.history(m.id).unwrap().pop().unwrap();
        assert_eq!(
            last.reply.digits.as_deref(),
            *digits,
            "{n}: the final history entry"
        );
    }
}

mod call_files {
    use super::*;
    use dialout_testkit::fake_asterisk::{Callee, Callees, FakeAsterisk};

    fn run(db: &str) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("outgoing")).unwrap();
        std::fs::create_dir_all(root.join("reports")).unwrap();
        let config = root.join("dialout.toml");
        std::fs::write(
            &config,
            format!(
                "[backends.pbx]\nkind = \"asterisk\"\nspool_dir = \"{0}/outgoing\"\nreport_dir = \"{0}/reports\"\n\
                 channel = \"PJSIP/{{number}}@trunk\"\nwait_time = 20\nretry_time = 30\nmax_retries = 0\n\n\
                 [delivery]\ninterval = \"50ms\"\nlease = \"3s\"\n",
                root.display()
            ),
        )
        .unwrap();
        let mut callees = Callees::new(Callee::unreachable());
        for (n, keys, ..) in CASES {
            callees = callees.exact(
                &format!("PJSIP/{n}@trunk"),
                Callee::talks(Party::person(keys)),
            );
        }
        let dialplan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/dialout.conf");
        let fake = FakeAsterisk::builder(root.join("outgoing"))
            .dialplan_file(&dialplan)
            .unwrap()
            .callees(callees)
            .spawn(50.0)
            .unwrap();
        // In the prompt: some report has its `complete` line and no `read` line yet.
        let reports = root.join("reports");
        let mut in_prompt = || {
            std::fs::read_dir(&reports)
                .unwrap()
                .filter_map(Result::ok)
                .any(|e| {
                    let t = std::fs::read_to_string(e.path()).unwrap_or_default();
                    t.contains("\ncomplete ") && !t.contains("\nread ")
                })
        };
        let obs = || fake.observations();
        let called = |digits: &str| {
            obs()
                .attempts
                .iter()
                .filter(|a| a.channel.contains(digits))
                .count()
        };
        kill_during_prompt(&config, db, root, &mut in_prompt, &called);
        assert!(obs().errors().is_empty(), "{:?}", obs().errors());
    }

    #[test]
    fn sqlite() {
        run(&dialout_testkit::db::sqlite().url);
    }

    #[test]
    fn postgres() {
        let db = dialout_testkit::db::postgres();
        run(&db.url);
    }
}

mod ami {
    use super::*;
    use dialout_testkit::fake_ami::{Callee, FakeAmi};

    fn run(db: &str) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = rt.block_on(FakeAmi::start("dialout", "s3cret")).unwrap();
        // 50 times faster than real time: a 2 s message, a 3 s prompt.
        fake.ivr_scale(0.02);
        fake.playback(Duration::from_millis(40));
        fake.prompt_length(3.0);
        for (n, keys, ..) in CASES {
            fake.callee(&n[1..], Callee::talks(Party::person(keys)));
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let config = root.join("dialout.toml");
        std::fs::write(
            &config,
            format!(
                "[backends.pbx]\nkind = \"ami\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"dialout\"\nsecret = \"s3cret\"\n\
                 channel = \"Local/{{digits}}@callee\"\naudio_url = \"http://dialout.example:8080/audio\"\naudio_dir = \"{}/audio\"\n\
                 wait_time = 5\n\n[delivery]\ninterval = \"50ms\"\nlease = \"3s\"\n",
                fake.port(),
                root.display()
            ),
        )
        .unwrap();
        let mut in_prompt = || {
            fake.originated().iter().any(|o| {
                let id = o.variable("DIALOUT_ID").unwrap_or("");
                fake.db("dialout", id)
                    .is_some_and(|v| v.starts_with("gathering"))
                    && fake
                        .db("dialout-ivr", id)
                        .is_some_and(|v| v.starts_with("amd"))
            })
        };
        let called = |digits: &str| fake.times_called(digits);
        kill_during_prompt(&config, db, root, &mut in_prompt, &called);
        drop(fake);
        drop(rt);
    }

    #[test]
    fn sqlite() {
        run(&dialout_testkit::db::sqlite().url);
    }

    #[test]
    fn postgres() {
        let db = dialout_testkit::db::postgres();
        run(&db.url);
    }
}
