//! Messages per second through `Dialer` on SQLite, beside a raw rusqlite baseline measured in
//! the same process with the same journal mode (WAL) and synchronous setting (NORMAL).
//!
//!     cargo run --release -p dialout-dialer --example send_bench [-- SCALE [ROUNDS]]
//!
//! SCALE (default 1.0) multiplies the message counts; a third argument (`raw`, `single`, `queued`,
//! `bulk`, `bulk-publish`, `template`) runs that series alone, ROUNDS times, for a profiler.
//! The series run in ROUNDS (default 3) interleaved rounds; the best round of each is
//! reported, and beside it the median of the per-round ratios, so that a burst of load from
//! other processes on a shared machine does not decide a ratio. Every run writes to its own
//! new database file; nothing is deleted until the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::{Dialer, SendOptions, SendRequest, TemplateRequest};
use dialout_model::template::NewTemplate;
use dialout_store as store;
use rusqlite::Connection;
use serde_json::json;
use tokio::runtime::Runtime;

/// A different valid Czech mobile number per message, as real traffic has.
fn recipient(i: usize) -> String {
    format!("+420777{:06}", i % 1_000_000)
}

fn raw(path: &Path, n: usize, per_tx: usize) -> f64 {
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE raw (id INTEGER PRIMARY KEY, uid TEXT NOT NULL, recipient TEXT NOT NULL, content TEXT NOT NULL, created_at INTEGER NOT NULL)",
    )
    .unwrap();
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO raw (uid, recipient, content, created_at) VALUES (?1, ?2, ?3, ?4)",
                )
                .unwrap();
            for i in done..(done + per_tx).min(n) {
                stmt.execute((
                    format!("{i:032x}"),
                    recipient(i),
                    "Your order has shipped",
                    i as i64,
                ))
                .unwrap();
            }
        }
        tx.commit().unwrap();
        done += per_tx;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn dialer(path: &Path) -> Dialer {
    let store = store::open(&format!("sqlite://{}", path.display())).unwrap();
    // SEND_BENCH_WEBHOOK=1: with a subscribed endpoint, so every change queues an event.
    if std::env::var_os("SEND_BENCH_WEBHOOK").is_some() {
        let new = dialout_store::webhooks::NewEndpoint {
            url: "http://127.0.0.1:9/hook".into(),
            secret: dialout_dialer::webhooks::signing::new_secret(),
            events: vec!["message.state_changed".into(), "message.final".into()],
            tag: None,
        };
        store
            .webhooks()
            .add_endpoint(&new, jiff::Timestamp::now())
            .unwrap();
    }
    Dialer::new(store, Channels::single(Arc::new(Dummy::new("dummy"))))
}

fn request(i: usize, queued: bool) -> SendRequest {
    let mut r = SendRequest::new(recipient(i), "Your order has shipped");
    r.options = SendOptions {
        related: vec![format!("order:{i}")],
        queued,
        ..Default::default()
    };
    r
}

fn single(rt: &Runtime, path: &Path, n: usize, queued: bool) -> f64 {
    let d = dialer(path);
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let sent = d.send(request(i, queued)).await.unwrap();
            assert_eq!(sent.message.is_final_state, !queued);
        }
    });
    n as f64 / start.elapsed().as_secs_f64()
}

fn bulk(rt: &Runtime, path: &Path, n: usize, queued: bool) -> f64 {
    let d = dialer(path);
    let start = Instant::now();
    rt.block_on(async {
        let mut i = 0;
        while i < n {
            let batch: Vec<_> = (i..(i + 1000).min(n)).map(|j| request(j, queued)).collect();
            i += batch.len();
            d.send_many(batch).await.unwrap();
        }
    });
    n as f64 / start.elapsed().as_secs_f64()
}

fn template(rt: &Runtime, path: &Path, n: usize) -> f64 {
    let d = dialer(path);
    let t = NewTemplate {
        slug: "shipped".into(),
        body: "Hello {{ name }}, order {{ order }} has shipped".into(),
        active: true,
        allow_duplicates: true,
        interactive: Default::default(),
    };
    rt.block_on(d.add_template(t)).unwrap();
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let r = TemplateRequest {
                recipient: recipient(i),
                slug: "shipped".into(),
                context: json!({"name": "Jo", "order": i}),
                options: SendOptions {
                    related: vec![format!("order:{i}")],
                    ..Default::default()
                },
            };
            d.send_template(r).await.unwrap();
        }
    });
    n as f64 / start.elapsed().as_secs_f64()
}

/// Runs a series once everything written before it is on disk.
fn settled(series: impl FnOnce() -> f64) -> f64 {
    std::process::Command::new("sync")
        .status()
        .expect("the sync command");
    series()
}

fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let n = |base: usize| ((base as f64 * scale) as usize).max(100);
    let dir = tempfile::tempdir().unwrap();
    let mut files = 0;
    let mut file = |name: &str| -> PathBuf {
        files += 1;
        dir.path().join(format!("{name}-{files}.db"))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // `send_bench SCALE ROUNDS single` runs that one series alone, ROUNDS times, for a
    // profiler (the first run includes loading libphonenumber's metadata).
    if let Some(only) = std::env::args().nth(3) {
        for _ in 0..rounds {
            let rate = match only.as_str() {
                "raw" => raw(&file("raw1"), n(20_000), 1),
                "single" => single(&rt, &file("single"), n(5_000), false),
                "queued" => single(&rt, &file("queued"), n(10_000), true),
                "bulk" => bulk(&rt, &file("bulk"), n(300_000), true),
                "bulk-publish" => bulk(&rt, &file("bulk-publish"), n(20_000), false),
                "template" => template(&rt, &file("template"), n(5_000)),
                other => panic!(
                    "unknown series {other:?}: raw, single, queued, bulk, bulk-publish or template"
                ),
            };
            println!("{only}: {rate:.0} messages/s");
        }
        return;
    }

    // libphonenumber's metadata loads on first use: not inside the first round's series.
    dialout_dialer::PhoneNumber::parse("+420777123456", None).unwrap();
    const SERIES: usize = 8;
    let mut best = [0f64; SERIES];
    // Ratios to the raw one-row series of the same round: a burst of load from elsewhere
    // then weighs on both sides of a ratio, not on one only.
    let mut paired: [Vec<f64>; 3] = Default::default();
    for _ in 0..rounds {
        // Each series starts with the data of the earlier ones on disk (`sync`): the
        // kernel's writeback of 300,000 messages must not stall a later series' fsync.
        let r = [
            settled(|| raw(&file("raw1"), n(20_000), 1)),
            settled(|| raw(&file("raw1000"), n(300_000), 1000)),
            settled(|| single(&rt, &file("single"), n(5_000), false)),
            settled(|| single(&rt, &file("queued"), n(10_000), true)),
            settled(|| bulk(&rt, &file("bulk"), n(300_000), true)),
            settled(|| bulk(&rt, &file("bulk-publish"), n(20_000), false)),
            settled(|| template(&rt, &file("template"), n(5_000))),
            0.0,
        ];
        for (b, x) in best.iter_mut().zip(r) {
            *b = b.max(x);
        }
        for (p, x) in paired.iter_mut().zip([r[2], r[3], r[6]]) {
            p.push(x / r[0]);
        }
        eprintln!(
            "round: raw 1/tx {:.0}, send published {:.0}, queued {:.0}, template {:.0}",
            r[0], r[2], r[3], r[6]
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [single_ratio, queued_ratio, template_ratio] = paired.each_mut().map(median);
    let [
        raw1,
        raw1000,
        single,
        queued,
        bulk,
        bulk_publish,
        template,
        _,
    ] = best;

    println!(
        "SQLite, WAL, synchronous=NORMAL, Dummy backend; best of {rounds} rounds (messages/s)"
    );
    println!("  raw INSERT, 1 row per transaction          {raw1:>9.0}");
    println!("  raw INSERT, 1000 rows per transaction      {raw1000:>9.0}");
    println!(
        "  send, one at a time, published at once     {single:>9.0}  {:.2} x raw 1/tx (goal >= 0.27)",
        single / raw1
    );
    println!(
        "  send, one at a time, queued (stored only)  {queued:>9.0}  {:.2} x raw 1/tx",
        queued / raw1
    );
    println!(
        "  send_many, 1000 per call, queued           {bulk:>9.0}  {:.2} x raw 1000/tx (goal >= 100000/s)",
        bulk / raw1000
    );
    println!("  send_many, 1000 per call, published        {bulk_publish:>9.0}");
    println!(
        "  send_template, one at a time, published    {template:>9.0}  {:.2} x raw 1/tx",
        template / raw1
    );
    println!(
        "median over the rounds of each round's ratio to its own raw 1/tx run: send published \
         {single_ratio:.2}, send queued {queued_ratio:.2}, send_template {template_ratio:.2}"
    );
}
