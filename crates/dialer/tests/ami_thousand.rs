//! 1,000 messages through the worker, the SQLite store, the AMI backend and the fake AMI
//! server: every message reaches the state its callee deserves, never more calls at once
//! than max_in_flight, nobody called twice.

mod ami_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ami_support::{SECRET, Silence, USER, config};
use dialout_backends::Ami;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::{NewMessage, PhoneNumber, State};
use dialout_store::{self as store, MessageFilter};
use dialout_testkit::fake_ami::{Callee, FakeAmi};

const N: usize = 1000;
const MAX_IN_FLIGHT: usize = 40;

fn number(i: usize) -> String {
    format!("+420778{:06}", 100_000 + i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_within_max_in_flight() {
    let fake = FakeAmi::start(USER, SECRET).await.unwrap();
    fake.playback(Duration::from_millis(60));
    let mut expected = Vec::new();
    for i in 0..N {
        let digits = &number(i)[1..];
        let state = match i % 4 {
            0 | 1 => State::AnsweredComplete,
            2 => {
                fake.callee(digits, Callee::busy());
                State::Declined
            }
            _ => {
                fake.callee(digits, Callee::congestion());
                State::Unreachable
            }
        };
        expected.push(state);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        fake.port(),
        &dir.path().join("audio"),
        &format!("max_in_flight = {MAX_IN_FLIGHT}\n"),
    );
    let backend = Arc::new(Ami::start("pbx", cfg, Arc::new(Silence)).unwrap());
    let settings = DeliverySettings {
        interval: Duration::from_millis(20),
        batch_size: 100,
        ..Default::default()
    };
    let backends = Channels::single(backend).with_delivery(settings).unwrap();
    let store = store::open(&format!("sqlite://{}/dialout.db", dir.path().display())).unwrap();
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

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = Worker::new(store.clone(), backends, WorkerOptions::default());
    let handle = tokio::spawn(async move { worker.run(stop_rx).await });
    let started = Instant::now();
    let all = MessageFilter {
        backend: Some("pbx".into()),
        limit: Some(N + 1),
        ..Default::default()
    };
    let messages = loop {
        let (s, f) = (store.clone(), all.clone());
        let ms = tokio::task::spawn_blocking(move || s.messages(&f))
            .await
            .unwrap()
            .unwrap();
        if ms.iter().all(|m| m.is_final_state) || started.elapsed() > Duration::from_secs(120) {
            break ms;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop_tx.send(true).unwrap();
    handle.await.unwrap().unwrap();

    assert_eq!(messages.len(), N);
    let mut wrong = Vec::new();
    for m in &messages {
        let i: usize = m.recipient.as_str()[7..].parse::<usize>().unwrap() - 100_000;
        let calls = fake.times_called(&m.recipient.as_str()[1..]);
        if m.state != expected[i] || !m.is_final_state || calls != 1 {
            wrong.push(format!(
                "{}: {} final={} (want {}), called {calls} times, {:?}",
                m.recipient, m.state, m.is_final_state, expected[i], m.error
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert_eq!(fake.originated().len(), N);
    let most = fake.max_concurrent();
    assert!(
        most <= MAX_IN_FLIGHT,
        "{most} calls at once, max_in_flight is {MAX_IN_FLIGHT}"
    );
    assert!(
        most >= MAX_IN_FLIGHT / 2,
        "the room was used ({most} at once)"
    );
    eprintln!(
        "{N} calls final in {:?}; at most {most} at once",
        started.elapsed()
    );
}
