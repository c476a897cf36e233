//! PostgreSQL: how long a message queued with `send --queued` waits for an idle worker
//! (LISTEN/NOTIFY wake-up; the worker polls only every `interval`, 1 s by default).
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example pg_wake_bench -- [N] [SERVER_URL]
//! ```
//!
//! One worker (Dummy backend) runs idle in this process; N messages (default 500) are sent
//! one at a time, queued, 20 ms apart, through `Dialer::send`. A message's wait is its
//! `sent_at` (set when the backend took it) minus its `created_at` (set before the commit
//! that queued it): both from this process's clock.

use std::sync::Arc;
use std::time::Duration;

use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{Worker, WorkerOptions};
use dialout_dialer::{Dialer, SendOptions, SendRequest};
use dialout_store::{self as store, MessageFilter};
use postgres::{Client, NoTls};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(500, |a| a.parse().expect("N: a number"));
    let server = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("dialout_wake_bench_{}", std::process::id());
    let mut admin = Client::connect(&server, NoTls).expect("connect to SERVER_URL");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");

    let store = store::open(&url).expect("open store");
    let backends = Channels::single(Arc::new(Dummy::new("dummy")));
    let dialer = Dialer::new(Arc::clone(&store), backends.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let worker = Worker::new(
        Arc::clone(&store),
        backends,
        WorkerOptions {
            no_status: true,
            ..Default::default()
        },
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let running = rt.spawn(async move { worker.run(rx).await });
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for i in 0..n {
            let mut r = SendRequest::new(format!("+420777{:06}", i), "Your code is 123456");
            r.options = SendOptions {
                queued: true,
                ..Default::default()
            };
            dialer.send(r).await.expect("send");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    });
    stop.send(true).unwrap();
    rt.block_on(running).unwrap().expect("worker");
    let all = store
        .messages(&MessageFilter {
            limit: Some(n),
            ..Default::default()
        })
        .unwrap();
    let mut waits: Vec<f64> = all
        .iter()
        .map(|m| {
            let sent = m.sent_at.expect("every message published");
            (sent - m.created_at)
                .total(jiff::Unit::Millisecond)
                .unwrap()
        })
        .collect();
    waits.sort_by(f64::total_cmp);
    let pct = |p: f64| waits[((waits.len() as f64 * p).ceil() as usize).clamp(1, waits.len()) - 1];
    drop((dialer, store));
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    println!(
        "send --queued -> published, idle worker woken by NOTIFY, {n} messages: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal p99 < 50 ms; polling alone: up to 1000 ms)",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
}
