//! Benchmark (issue 27): retention of a backlog of final messages (default 1,000,000) while
//! the worker publishes: its rate with and without `[retention]`, and how long a claim can
//! wait for retention.
//!
//! ```sh
//! cargo build --release -p dialout-dialer --example retention_bench
//! DIALOUT_LOG=warn target/release/examples/retention_bench [FINAL] [SECONDS] [ROUNDS] [DB_URL|-] [DRAIN]
//! ```
//!
//! Stores FINAL messages, each to its own number, and makes them final with a worker run
//! (not timed). Then, ROUNDS times each, alternately (without, with; with, without; …): a
//! worker runs for SECONDS without retention, or for SECONDS with `[retention] messages =
//! "1s"` (every final message is past it), publishing through the Dummy backend (batch
//! 1000) while queued messages last (topped up before each window, not timed). Prints the
//! worker's rate in each window (messages recorded over the window's length; the time it
//! then took to stop is shown apart), the
//! longest claim, and the longest retention step (the worker runs retention between its
//! publishing rounds, so a claim waits for retention at most that long), beside the limits:
//! rate drop ≤ 10 %, no claim waiting more than 100 ms for retention. Then the queue is
//! emptied (not timed) and the worker runs idle with retention for DRAIN seconds (default
//! 30): the rate at which it erases a backlog with nothing to publish. Default database
//! (or `-`): an SQLite file in a fresh temporary directory; DB_URL may also name an empty
//! PostgreSQL database (`postgres://postgres@127.0.0.1:5432/retention_bench`), or come from
//! `DIALOUT_BENCH_DB`.
//!
//! The queue is topped up from the fastest rate seen so far, starting from the rate of the
//! (untimed) run that made the backlog final: a slower store is not given far more
//! messages than it can publish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_backends::Dummy;
use dialout_dialer::delivery::{Channels, DeliverySettings, Worker, WorkerOptions, WorkerStats};
use dialout_dialer::retention::RetentionSettings;
use dialout_dialer::{NewMessage, PhoneNumber};
use dialout_store::{self as store, InsertMode, Store};
use jiff::Timestamp;

const BATCH: usize = 1000;

fn store_queued(store: &Arc<dyn Store>, from: usize, n: usize) {
    let mut i = from;
    while i < from + n {
        let k = (from + n - i).min(10_000);
        let chunk: Vec<NewMessage> = (i..i + k)
            .map(|j| {
                let to = PhoneNumber::from_e164(&format!("+420{}", 600_000_000 + j)).unwrap();
                NewMessage::new(
                    to,
                    format!("Dear customer {j}, your code is {j:06}"),
                    "dummy",
                )
            })
            .collect();
        store
            .insert(&chunk, InsertMode::QUEUED, Timestamp::now())
            .expect("insert");
        i += k;
    }
}

fn worker(store: &Arc<dyn Store>, once: bool, retention: RetentionSettings) -> Worker {
    let settings = DeliverySettings {
        batch_size: BATCH,
        ..Default::default()
    };
    let backends = Channels::single(Arc::new(Dummy::new("dummy")))
        .with_delivery(settings)
        .unwrap();
    Worker::new(
        Arc::clone(store),
        backends,
        WorkerOptions {
            once,
            no_status: true,
            retention,
            ..Default::default()
        },
    )
}

/// Runs a worker for `secs` (or, `once`, until nothing is due); its stats and wall time.
fn run(rt: &tokio::runtime::Runtime, w: Worker, secs: Option<f64>) -> (WorkerStats, f64) {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let t = Instant::now();
    let stats = rt.block_on(async move {
        let task = tokio::spawn(async move { w.run(rx).await });
        if let Some(s) = secs {
            tokio::time::sleep(Duration::from_secs_f64(s)).await;
            let _ = stop.send(true);
        }
        task.await.expect("worker task").expect("worker")
    });
    (stats, t.elapsed().as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> usize {
        args.get(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let finals = arg(0, 1_000_000);
    let secs = arg(1, 10) as f64;
    let rounds = arg(2, 2);
    let drain = arg(4, 30) as f64;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = args
        .get(3)
        .filter(|a| a.as_str() != "-")
        .cloned()
        .or_else(|| std::env::var("DIALOUT_BENCH_DB").ok())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    println!("database: {}", store::redact_url(&url));
    let store = store::open(&url).expect("open store");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let t0 = Instant::now();
    store_queued(&store, 0, finals);
    let (made, made_wall) = run(
        &rt,
        worker(&store, true, RetentionSettings::default()),
        None,
    );
    assert_eq!(made.recorded, finals, "every message made final");
    println!(
        "prepared {finals} final messages in {:.1} s (not timed; the worker made them final at {:.0}/s)",
        t0.elapsed().as_secs_f64(),
        finals as f64 / made_wall
    );
    std::thread::sleep(Duration::from_millis(1100));

    let on = RetentionSettings {
        messages: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let mut next = finals;
    let mut queued = 0usize;
    let mut best = finals as f64 / made_wall;
    // A first window, not counted: the database's pages come into the cache.
    let warm_queue = (best * secs * 1.5) as usize;
    store_queued(&store, next, warm_queue);
    next += warm_queue;
    let (warm, wall) = run(
        &rt,
        worker(&store, false, RetentionSettings::default()),
        Some(secs),
    );
    queued += warm_queue - warm.recorded;
    best = best.max(warm.recorded as f64 / wall);
    println!(
        "warm-up: {} messages in {wall:.1} s (not counted)",
        warm.recorded
    );
    let mut off_runs: Vec<(WorkerStats, f64)> = Vec::new();
    let mut on_runs: Vec<(WorkerStats, f64)> = Vec::new();
    for round in 0..rounds {
        // Without, with; then with, without: a drift of the machine or of the growing
        // database weighs on both alike.
        let order = match round % 2 {
            0 => [false, true],
            _ => [true, false],
        };
        for with in order {
            // Enough queued that the worker never runs dry within the window.
            let want = (best * secs * 1.5) as usize;
            if queued < want {
                store_queued(&store, next, want - queued);
                next += want - queued;
                queued = want;
            }
            let settings = if with {
                on
            } else {
                RetentionSettings::default()
            };
            let (stats, wall) = run(&rt, worker(&store, false, settings), Some(secs));
            queued -= stats.recorded;
            // Over the window: what the worker did after it (a round it finished, and with
            // retention the settle of what it erased — a VACUUM on PostgreSQL, seconds long)
            // is shown apart, as the time it took to stop.
            let rate = stats.recorded as f64 / secs;
            best = best.max(rate);
            println!(
                "round {} {:<17} {:>7} messages in {secs:.0} s = {rate:>6.0}/s (stopped {:.1} s later); longest claim {}; retention: {} erased, {} steps ({} over 10 ms, {} over 100 ms), longest step {}",
                round + 1,
                if with {
                    "with retention"
                } else {
                    "without retention"
                },
                stats.recorded,
                wall - secs,
                ms(stats.longest_claim),
                stats.retention.messages,
                stats.retention.steps,
                stats.retention.steps_over_10ms,
                stats.retention.steps_over_100ms,
                ms(stats.retention.longest_step),
            );
            if with {
                on_runs.push((stats, wall));
            } else {
                off_runs.push((stats, wall));
            }
        }
    }

    let rate = |runs: &[(WorkerStats, f64)]| -> Vec<f64> {
        runs.iter().map(|(s, _)| s.recorded as f64 / secs).collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (off, onr) = (rate(&off_runs), rate(&on_runs));
    let list = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let drop = 100.0 * (1.0 - mean(&onr) / mean(&off));
    let longest = |runs: &[(WorkerStats, f64)], f: fn(&WorkerStats) -> Duration| {
        runs.iter().map(|(s, _)| f(s)).max().unwrap_or_default()
    };
    let step = longest(&on_runs, |s| s.retention.longest_step);
    let erased: usize = on_runs.iter().map(|(s, _)| s.retention.messages).sum();
    let steps: usize = on_runs.iter().map(|(s, _)| s.retention.steps).sum();
    let slow: usize = on_runs
        .iter()
        .map(|(s, _)| s.retention.steps_over_100ms)
        .sum();
    let on_secs: f64 = on_runs.iter().map(|(_, w)| w).sum();
    println!();
    println!(
        "{:<40} {:>22} {:>22}   limit",
        "", "without retention", "with retention"
    );
    println!(
        "{:<40} {:>22} {:>22}",
        "worker, messages/s",
        list(&off),
        list(&onr)
    );
    println!(
        "{:<40} {:>22} {:>22}   <= 10 % {}",
        "rate drop (means)",
        "",
        format!("{drop:.1} %"),
        if drop <= 10.0 { "ok" } else { "OVER" }
    );
    println!(
        "{:<40} {:>22} {:>22}",
        "longest claim (store call)",
        ms(longest(&off_runs, |s| s.longest_claim)),
        ms(longest(&on_runs, |s| s.longest_claim)),
    );
    println!(
        "{:<40} {:>22} {:>22}   <= 100 ms {}",
        "longest wait for retention (step)",
        "",
        ms(step),
        if step <= Duration::from_millis(100) {
            "ok"
        } else {
            "OVER"
        }
    );
    println!(
        "{:<40} {:>22} {:>22}   0",
        "retention steps over 100 ms",
        "",
        format!("{slow} of {steps}")
    );
    println!(
        "{:<40} {:>22} {:>22}",
        "messages erased meanwhile",
        "",
        format!("{erased} ({:.0}/s)", erased as f64 / on_secs)
    );
    // The queue emptied (not timed), then the worker idle with retention for DRAIN seconds.
    let (rest, _) = run(
        &rt,
        worker(&store, true, RetentionSettings::default()),
        None,
    );
    let backlog = store.count_expired(Timestamp::now()).expect("count");
    println!(
        "\nqueue emptied ({} more published); backlog of final messages to erase: {backlog}",
        rest.recorded
    );
    if drain > 0.0 {
        let (idle, wall) = run(&rt, worker(&store, false, on), Some(drain));
        let r = idle.retention;
        println!(
            "worker idle with retention for {wall:.1} s: {} erased = {:.0}/s ({} steps, {} over 100 ms, longest {}); at that rate 1,000,000 take {:.0} s",
            r.messages,
            r.messages as f64 / wall,
            r.steps,
            r.steps_over_100ms,
            ms(r.longest_step),
            1e6 * wall / r.messages.max(1) as f64,
        );
    }
}
