//! PostgreSQL: several worker processes drain one queue together.
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example pg_workers_bench -- [N] [PROCESSES] [SERVER_URL]
//! ```
//!
//! Stores N messages (default 1,000,000) in a fresh database (bulk, not timed), then starts
//! PROCESSES (default 4) copies of itself, each running one worker (`--once`, Dummy backend,
//! batch 1,000) until nothing is due, and prints the aggregate rate. Each child prints how
//! many messages it recorded: the sum must be N, and every message is published with one
//! attempt (counted in the database).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::{NewMessage, PhoneNumber};
use dialout_store::{self as store, InsertMode};
use postgres::{Client, NoTls};

fn drain(url: &str) {
    let store = store::open(url).expect("open store");
    let backends = Channels::single(Arc::new(Dummy::new("dummy")))
        .with_delivery(DeliverySettings {
            batch_size: 1000,
            ..Default::default()
        })
        .unwrap();
    let worker = Worker::new(
        store,
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
    let stats = rt.block_on(worker.run(rx)).expect("worker");
    println!("{}", stats.recorded);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--drain") {
        return drain(&args[1]);
    }
    let n: usize = args
        .first()
        .map_or(1_000_000, |a| a.parse().expect("N: a number"));
    let procs: usize = args
        .get(1)
        .map_or(4, |a| a.parse().expect("PROCESSES: a number"));
    let server = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("dialout_workers_bench_{}", std::process::id());
    let mut admin = Client::connect(&server, NoTls).expect("connect to SERVER_URL");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let store = store::open(&url).expect("open store");
    let recipient = PhoneNumber::from_e164("+420777123456").unwrap();
    let mut left = n;
    while left > 0 {
        let k = left.min(10_000);
        let chunk: Vec<NewMessage> = (0..k)
            .map(|i| NewMessage::new(recipient.clone(), format!("Your code is {i:06}"), "dummy"))
            .collect();
        store
            .insert(&chunk, InsertMode::QUEUED, jiff::Timestamp::now())
            .expect("insert");
        left -= k;
    }
    drop(store);
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let children: Vec<_> = (0..procs)
        .map(|_| {
            Command::new(&exe)
                .args(["--drain", &url])
                .stdout(Stdio::piped())
                .spawn()
                .expect("start a worker process")
        })
        .collect();
    let recorded: Vec<usize> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "a worker process failed");
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        })
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let mut c = Client::connect(&url, NoTls).unwrap();
    let row = c
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE sent_at IS NOT NULL AND attempts = 1), \
             COUNT(*) FILTER (WHERE sent_at IS NULL OR attempts <> 1) FROM messages",
            &[],
        )
        .unwrap();
    let (once, other): (i64, i64) = (row.get(0), row.get(1));
    drop(c);
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    assert_eq!(recorded.iter().sum::<usize>(), n, "recorded once in all");
    assert_eq!(
        (once as usize, other),
        (n, 0),
        "each published with one attempt"
    );
    println!(
        "{procs} worker processes drained {n} messages in {secs:.1} s = {:.0} messages/s in all (recorded per process: {recorded:?}; published once each: {once})",
        n as f64 / secs
    );
}
