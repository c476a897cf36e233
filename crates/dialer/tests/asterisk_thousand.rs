//! 1,000 messages through the worker, the SQLite store, the Asterisk backend and the fake
//! Asterisk (background mode, fake time 100x) running the shipped dialplan: every message
//! reaches the state its callee deserves, pacing is never exceeded, nobody is dialed twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_backends::Asterisk;
use dialout_backends::asterisk::{AsteriskConfig, file_name};
use dialout_backends::tts::{EspeakNg, Tts};
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::{NewMessage, PhoneNumber, State};
use dialout_store::{self as store, MessageFilter};
use dialout_testkit::fake_asterisk::{Callee, Callees, FakeAsterisk};

const N: usize = 1000;
const MAX_IN_FLIGHT: usize = 40;

/// Callee behaviours by the last digit of the number, with the state and attempt count due.
fn kind(i: usize) -> (Vec<Callee>, State, usize) {
    match i % 9 {
        0 => (vec![Callee::answers()], State::AnsweredComplete, 1),
        1 => (
            vec![Callee::answers_then_hangs_up(2.5)],
            State::AnsweredPartial,
            1,
        ),
        2 => (vec![Callee::busy()], State::Declined, 2),
        3 => (vec![Callee::rejects()], State::Declined, 2),
        4 => (vec![Callee::no_answer()], State::Unanswered, 2),
        5 => (vec![Callee::congestion()], State::Unreachable, 2),
        6 => (vec![Callee::unreachable()], State::Unreachable, 2),
        7 => (
            vec![Callee::busy(), Callee::answers()],
            State::AnsweredComplete,
            2,
        ),
        _ => (
            vec![Callee::no_answer(), Callee::busy()],
            State::Declined,
            2,
        ),
    }
}

fn number(i: usize) -> String {
    format!("+420777{:06}", 100_000 + i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_reach_their_final_states_within_the_pacing() {
    if let Err(e) = EspeakNg::new().check("en") {
        panic!("this test needs espeak-ng: {e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("outgoing")).unwrap();
    let mut callees = Callees::new(Callee::unreachable());
    let mut expected = BTreeMap::new();
    for i in 0..N {
        let (seq, state, attempts) = kind(i);
        callees = callees.exact_sequence(&format!("PJSIP/{}@trunk", number(i)), seq);
        expected.insert(number(i), (state, attempts));
    }
    let dialplan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/dialout.conf");
    let fake = FakeAsterisk::builder(root.join("outgoing"))
        .dialplan_file(&dialplan)
        .unwrap()
        .callees(callees)
        .spawn(100.0)
        .unwrap();

    let table: toml::Table = toml::from_str(&format!(
        "spool_dir = \"{}/outgoing\"\nchannel = \"PJSIP/{{number}}@trunk\"\nwait_time = 20\nretry_time = 30\nmax_retries = 1\n\
         max_in_flight = {MAX_IN_FLIGHT}\ncalls_per_second = 200\n",
        root.display()
    ))
    .unwrap();
    let config = AsteriskConfig::from_table("pbx", &table).unwrap();
    let backend = Arc::new(Asterisk::start("pbx", config, Arc::new(EspeakNg::new())).unwrap());
    let settings = DeliverySettings {
        interval: Duration::from_millis(20),
        batch_size: 100,
        ..Default::default()
    };
    let backends = Channels::single(backend).with_delivery(settings).unwrap();
    let store = store::open(&format!("sqlite://{}/dialout.db", root.display())).unwrap();

    let texts = [
        "Your order has shipped.",
        "Your appointment is tomorrow at ten.",
        "Please call us back about your invoice.",
    ];
    let new: Vec<NewMessage> = (0..N)
        .map(|i| {
            NewMessage::new(
                PhoneNumber::from_e164(&number(i)).unwrap(),
                texts[i % texts.len()],
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

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = Worker::new(
        store.clone(),
        backends,
        WorkerOptions {
            status_interval: Some(Duration::from_secs(5)),
            ..Default::default()
        },
    );
    let handle = tokio::spawn(async move { worker.run(stop_rx).await });

    let started = Instant::now();
    let all = MessageFilter {
        backend: Some("pbx".into()),
        limit: Some(N + 1),
        ..Default::default()
    };
    let messages = loop {
        let s = store.clone();
        let f = all.clone();
        let ms = tokio::task::spawn_blocking(move || s.messages(&f))
            .await
            .unwrap()
            .unwrap();
        if ms.iter().all(|m| m.is_final_state) || started.elapsed() > Duration::from_secs(150) {
            break ms;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    stop_tx.send(true).unwrap();
    handle.await.unwrap().unwrap();
    let obs = fake.shutdown();

    assert_eq!(messages.len(), N);
    let unfinished: Vec<_> = messages
        .iter()
        .filter(|m| !m.is_final_state)
        .map(|m| (m.recipient.to_string(), m.state))
        .collect();
    assert!(
        unfinished.is_empty(),
        "not final after {:?}: {} e.g. {:?}",
        started.elapsed(),
        unfinished.len(),
        &unfinished[..unfinished.len().min(5)]
    );
    assert!(obs.errors().is_empty(), "{:?}", obs.errors());
    let mut wrong = vec![];
    for m in &messages {
        let (state, attempts) = expected[m.recipient.as_str()];
        let dialed = obs.attempts_of(&file_name(m.id)).count();
        if m.state != state || dialed != attempts {
            wrong.push(format!(
                "{}: {} (want {state}), {dialed} attempts (want {attempts}), {:?}",
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
    assert!(
        obs.dials.len() == N,
        "{} call files dialed",
        obs.dials.len()
    );
    assert!(
        obs.max_files_in_spool <= MAX_IN_FLIGHT,
        "{} files in the spool at once, max_in_flight is {MAX_IN_FLIGHT}",
        obs.max_files_in_spool
    );
    assert!(
        obs.max_files_in_spool >= MAX_IN_FLIGHT / 2,
        "the pacing was used ({} at once)",
        obs.max_files_in_spool
    );
    eprintln!(
        "{N} messages final in {:?}; at most {} files in the spool",
        started.elapsed(),
        obs.max_files_in_spool
    );
}
