//! Benchmark: N messages (default 1,000,000) through the Dummy backend by the worker.
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example worker_bench -- [N] [BATCH] [DB_URL] [prepare]
//! ```
//!
//! With `prepare` it only stores the messages (to measure `dialout worker --once` itself).
//!
//! Stores N messages (bulk inserts of 10,000, not timed), then runs one worker with
//! `--once` semantics until nothing is due, and prints messages per second and the
//! process's peak resident memory (VmHWM from /proc/self/status). Default database: an
//! SQLite file in a fresh temporary directory.

use std::sync::Arc;
use std::time::Instant;

use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::{NewMessage, PhoneNumber, State};
use dialout_store::{self as store, MessageFilter};
use jiff::Timestamp;

fn vm(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(1_000_000, |a| a.parse().expect("N: a number"));
    let batch: usize = args
        .get(1)
        .map_or(1000, |a| a.parse().expect("BATCH: a number"));
    let dir = tempfile::tempdir().expect("temp dir");
    let url = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = store::open(&url).expect("open store");

    let recipient = PhoneNumber::from_e164("+420777123456").unwrap();
    let t0 = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(10_000);
        let chunk: Vec<NewMessage> = (0..k)
            .map(|i| NewMessage::new(recipient.clone(), format!("Your code is {i:06}"), "dummy"))
            .collect();
        store
            .insert(&chunk, dialout_store::InsertMode::QUEUED, Timestamp::now())
            .expect("insert");
        left -= k;
    }
    let stored_s = t0.elapsed().as_secs_f64();
    println!(
        "stored {n} messages in {stored_s:.1} s (not part of the figure); VmHWM so far {}",
        vm("VmHWM:")
    );
    if args.get(3).map(String::as_str) == Some("prepare") {
        return;
    }

    let settings = DeliverySettings {
        batch_size: batch,
        ..Default::default()
    };
    let backends = Channels::single(Arc::new(Dummy::new("dummy")))
        .with_delivery(settings)
        .unwrap();
    let worker = Worker::new(
        Arc::clone(&store),
        backends,
        WorkerOptions {
            once: true,
            no_status: true,
            ..Default::default()
        },
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let t1 = Instant::now();
    let stats = rt.block_on(worker.run(rx)).expect("worker");
    let secs = t1.elapsed().as_secs_f64();

    let left = store
        .messages(&MessageFilter {
            state: Some(State::Waiting),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap()
        .len();
    assert_eq!(stats.recorded, n, "every message recorded");
    assert_eq!(left, 0, "nothing left waiting");
    println!(
        "worker: {n} messages published in {secs:.1} s = {:.0} messages/s (batch {batch}); peak RSS (VmHWM) {}; limit 100 MiB = 102400 kB",
        n as f64 / secs,
        vm("VmHWM:")
    );
}
