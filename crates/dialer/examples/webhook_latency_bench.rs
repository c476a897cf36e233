//! Benchmark: how long a state change takes to reach a webhook receiver, at a steady rate.
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example webhook_latency_bench -- \
//!     [CHANGES] [RATE] [DB_DIR] [PG_SERVER_URL]
//! ```
//!
//! For SQLite (a fresh database in DB_DIR, created if missing) and PostgreSQL (a fresh
//! database on PG_SERVER_URL, default `postgres://postgres@127.0.0.1:5432/postgres`; skipped
//! with `-`): CHANGES messages (default 2,000) are stored, one endpoint subscribes to
//! `message.state_changed`, the delivery loop runs with the default settings (as `dialout
//! worker` runs it), and a feeder thread changes one message every 1/RATE s (default 200
//! changes/s, on a fixed schedule). Each change is timed from the start of its transaction
//! (before `apply`, so the commit is counted too) to the moment the receiver (a real local
//! HTTP server on a thread and runtime of its own) has read the request. Prints p50, p90,
//! p99 and max.
//!
//! Issue 26's goal: p99 change → delivered < 100 ms at 200 changes/s.

#[path = "../tests/webhooks_support/mod.rs"]
mod receiver;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_dialer::webhooks::{Deliverer, WebhookSettings, signing};
use dialout_dialer::{NewMessage, PhoneNumber};
use dialout_model::id::MessageId;
use dialout_model::message::JsonMap;
use dialout_model::state::State;
use dialout_store::plan::Change;
use dialout_store::prelude::*;
use dialout_store::{self as store, InsertMode};
use jiff::Timestamp;
use receiver::{Mode, Receiver};

fn stored(store: &Arc<dyn Store>, n: usize) -> Vec<MessageId> {
    let recipient = PhoneNumber::from_e164("+420777123456").unwrap();
    let mut ids = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let k = left.min(10_000);
        let chunk: Vec<NewMessage> = (0..k)
            .map(|i| NewMessage::new(recipient.clone(), format!("Your code is {i:06}"), "dummy"))
            .collect();
        let done = store
            .insert(&chunk, InsertMode::QUEUED, Timestamp::now())
            .expect("insert");
        ids.extend(done.iter().map(|i| i.message.id));
        left -= k;
    }
    ids
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(
    label: &str,
    url: &str,
    n: usize,
    rate: f64,
    rx: &Receiver,
    rt: &tokio::runtime::Runtime,
) {
    let store = store::open(url).expect("open store");
    let ids = stored(&store, n);
    let endpoint = dialout_store::webhooks::NewEndpoint {
        url: rx.url(),
        secret: signing::new_secret(),
        events: vec!["message.state_changed".into()],
        tag: None,
    };
    store
        .webhooks()
        .add_endpoint(&endpoint, Timestamp::now())
        .unwrap();
    let before = rx.count();
    let deliverer = Deliverer::new(store.clone(), WebhookSettings::default()).unwrap();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let running = rt.spawn(async move { deliverer.run(stop).await });
    std::thread::sleep(Duration::from_millis(300));

    // The feeder: one change every 1/rate s, on a fixed schedule.
    let period = Duration::from_secs_f64(1.0 / rate);
    let feeder_store = store.clone();
    let feeder_ids = ids.clone();
    let committed: Vec<(MessageId, Instant)> = std::thread::spawn(move || {
        let start = Instant::now();
        let mut out = Vec::with_capacity(feeder_ids.len());
        for (k, id) in feeder_ids.into_iter().enumerate() {
            let due = start + period * k as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let change = Change::Status {
                state: State::Ready,
                is_final: false,
                error: None,
                sender_data: JsonMap::new(),
                reason: "bench".into(),
                reply: Default::default(),
            };
            let began = Instant::now();
            feeder_store
                .apply(&[(id, change)], None, Timestamp::now())
                .expect("apply");
            out.push((id, began));
        }
        out
    })
    .join()
    .unwrap();
    let limit = Instant::now() + Duration::from_secs(30);
    while rx.count() < before + n {
        assert!(Instant::now() < limit, "{label}: not every event arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    stop_tx.send(true).unwrap();
    rt.block_on(running).unwrap().unwrap();

    let at: HashMap<String, Instant> = committed
        .iter()
        .map(|(id, t)| (id.to_string(), *t))
        .collect();
    let mut waits: Vec<f64> = rx
        .requests()
        .iter()
        .filter_map(|r| {
            let body = r.json();
            let id = body["data"]["message"]["id"].as_str()?.to_string();
            let changed = at.get(&id)?;
            Some(r.at.saturating_duration_since(*changed).as_secs_f64() * 1000.0)
        })
        .collect();
    assert_eq!(waits.len(), n, "{label}: one event per change");
    waits.sort_by(f64::total_cmp);
    println!(
        "{label}: {n} changes at {rate:.0}/s -> delivered: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&waits, 0.50),
        percentile(&waits, 0.90),
        percentile(&waits, 0.99),
        waits.last().copied().unwrap_or(0.0),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(2_000, |a| a.parse().expect("CHANGES: a number"));
    let rate: f64 = args
        .get(1)
        .map_or(200.0, |a| a.parse().expect("RATE: changes per second"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = args
        .get(2)
        .map_or(tmp.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).expect("create DB_DIR");
    let server = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let own = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        own.block_on(async {
            sent.send(Receiver::start(Mode::Ok).await).unwrap();
            std::future::pending::<()>().await
        })
    });
    let rx = received.recv().unwrap();

    let file = dir.join(format!("latency-{}.db", std::process::id()));
    measure(
        "sqlite",
        &format!("sqlite://{}", file.display()),
        n,
        rate,
        &rx,
        &rt,
    );
    if server != "-" {
        let name = format!("dialout_latency_bench_{}", std::process::id());
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).expect("connect");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = server.rsplit_once('/').unwrap();
        measure("postgres", &format!("{base}/{name}"), n, rate, &rx, &rt);
        let _ = admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
    }
}
