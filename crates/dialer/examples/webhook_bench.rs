//! Benchmark: N state changes (default 100,000) by the worker, their events delivered to a
//! local HTTP receiver, beside the worker's own rate without webhooks.
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example webhook_bench -- [N] [DB_DIR]
//! ```
//!
//! DB_DIR is created if it does not exist.
//!
//! Three runs, each on a fresh SQLite database of N messages for the Dummy backend (one state
//! change each), stored in bulk beforehand (not timed):
//! 1. the worker alone, no endpoint;
//! 2. the worker with one subscribed endpoint (the triggers write N outbox rows), then the
//!    delivery loop alone until every event is delivered;
//! 3. the worker and the delivery loop together, as `dialout worker` runs them, until the
//!    last event is delivered.
//!
//! The receiver runs in this process, on a thread and tokio runtime of its own (keep-alive
//! HTTP/1.1, answers 200 at once).
//!
//! The goal (issue 16): the worker's time in run 3 at most 1.20 times its time in run 1.
//! Runs 1 and 2 also print the process's CPU time, steadier than wall time on a busy
//! machine.

#[path = "common/cpu.rs"]
mod cpu;
#[path = "../tests/webhooks_support/mod.rs"]
mod receiver;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::webhooks::{WebhookSettings, signing};
use dialout_dialer::{NewMessage, PhoneNumber};
use dialout_store::prelude::*;
use dialout_store::{self as store, InsertMode};
use jiff::Timestamp;
use receiver::{Mode, Receiver};

fn fresh(dir: &std::path::Path, name: &str, n: usize) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    let store = store::open(&url).expect("open store");
    let recipient = PhoneNumber::from_e164("+420777123456").unwrap();
    let mut left = n;
    while left > 0 {
        let k = left.min(10_000);
        let chunk: Vec<NewMessage> = (0..k)
            .map(|i| NewMessage::new(recipient.clone(), format!("Your code is {i:06}"), "dummy"))
            .collect();
        store
            .insert(&chunk, InsertMode::QUEUED, Timestamp::now())
            .expect("insert");
        left -= k;
    }
    store
}

fn subscribe(store: &Arc<dyn Store>, url: &str) {
    let new = dialout_store::webhooks::NewEndpoint {
        url: url.to_string(),
        secret: signing::new_secret(),
        events: vec!["message.state_changed".into()],
        tag: None,
    };
    store
        .webhooks()
        .add_endpoint(&new, Timestamp::now())
        .unwrap();
}

fn worker(store: &Arc<dyn Store>) -> Worker {
    let settings = DeliverySettings {
        batch_size: 1000,
        ..Default::default()
    };
    let backends = Channels::single(Arc::new(Dummy::new("dummy")))
        .with_delivery(settings)
        .unwrap();
    Worker::new(
        Arc::clone(store),
        backends,
        WorkerOptions {
            once: true,
            no_status: true,
            ..Default::default()
        },
    )
}

fn settings() -> WebhookSettings {
    WebhookSettings {
        interval: Duration::from_millis(20),
        ..WebhookSettings::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(100_000, |a| a.parse().expect("N: a number"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = args
        .get(1)
        .map_or(tmp.path().to_path_buf(), std::path::PathBuf::from);
    // A DIR that does not exist yet is made (with its parents).
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The receiver on a thread and runtime of its own, as a receiver in another process
    // would be: it still takes CPU from the same cores, but not the worker's tokio threads.
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let own = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        own.block_on(async {
            sent.send(Receiver::start(Mode::Count).await).unwrap();
            std::future::pending::<()>().await
        })
    });
    let rx = received.recv().unwrap();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);

    // 1. The worker alone.
    let plain = fresh(&dir, "plain", n);
    let (t, c) = (Instant::now(), cpu::seconds());
    let stats = rt.block_on(worker(&plain).run(stop.clone())).unwrap();
    let (plain_s, plain_cpu) = (t.elapsed().as_secs_f64(), cpu::seconds() - c);
    assert_eq!(stats.recorded, n);
    println!(
        "1. worker, no webhook:            {n} changes in {plain_s:.2} s = {:.0}/s (CPU {plain_cpu:.2} s)",
        n as f64 / plain_s
    );

    // 2. The worker with an endpoint, then the deliveries alone.
    let hooked = fresh(&dir, "hooked", n);
    subscribe(&hooked, &rx.url());
    let (t, c) = (Instant::now(), cpu::seconds());
    rt.block_on(worker(&hooked).run(stop.clone())).unwrap();
    let (hooked_s, hooked_cpu) = (t.elapsed().as_secs_f64(), cpu::seconds() - c);
    println!(
        "2. worker, 1 endpoint (outbox):   {n} changes in {hooked_s:.2} s = {:.0}/s ({:+.1} % time, {:+.1} % CPU)",
        n as f64 / hooked_s,
        (hooked_s / plain_s - 1.0) * 100.0,
        (hooked_cpu / plain_cpu - 1.0) * 100.0
    );
    let deliverer = dialout_dialer::webhooks::Deliverer::new(hooked.clone(), settings()).unwrap();
    let t = Instant::now();
    let d = rt.block_on(deliverer.drain()).unwrap();
    let deliver_s = t.elapsed().as_secs_f64();
    assert_eq!(d.delivered as usize, n, "{d:?}");
    assert_eq!(rx.count(), n);
    println!(
        "   deliveries alone:              {n} events in {deliver_s:.2} s = {:.0} events/s",
        n as f64 / deliver_s
    );

    // 3. Both together, as `dialout worker` runs them.
    let both = fresh(&dir, "both", n);
    subscribe(&both, &rx.url());
    let before = rx.count();
    let deliverer = dialout_dialer::webhooks::Deliverer::new(both.clone(), settings()).unwrap();
    let (hooks_stop_tx, hooks_stop) = tokio::sync::watch::channel(false);
    let t = Instant::now();
    let both_s = rt.block_on(async {
        let hooks = tokio::spawn(async move { deliverer.run(hooks_stop).await });
        worker(&both).run(stop.clone()).await.unwrap();
        let worker_s = t.elapsed().as_secs_f64();
        while rx.count() < before + n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let all_s = t.elapsed().as_secs_f64();
        hooks_stop_tx.send(true).unwrap();
        hooks.await.unwrap().unwrap();
        (worker_s, all_s)
    });
    let ratio = both_s.0 / plain_s;
    println!(
        "3. worker + delivery loop:        worker done in {:.2} s; last event delivered at {:.2} s = {:.0} events/s",
        both_s.0,
        both_s.1,
        n as f64 / both_s.1,
    );
    println!(
        "goal: worker time with webhooks <= 1.20 x the worker alone: {:.2} s / {plain_s:.2} s = {ratio:.2} x ({})",
        both_s.0,
        if ratio <= 1.20 { "met" } else { "NOT met" }
    );
}
