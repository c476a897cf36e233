//! PostgreSQL: dialout's worker beside a raw SQL queue loop on the same server, in one run,
//! each right after a bulk load with no statistics (autovacuum is off for the bench's
//! tables, so no ANALYZE can happen behind its back).
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example pg_queue_bench -- N [SERVER_URL]
//! ```
//!
//! SERVER_URL (default `postgres://postgres@127.0.0.1:5432/postgres`) names a database to
//! connect to for creating two fresh ones (dropped at the end):
//! - raw: a table `raw_queue(id, priority, created_at, state, payload)` indexed on the
//!   claim order; the loop claims 1,000 due rows `FOR UPDATE SKIP LOCKED` ordered by
//!   priority and age and marks them done with one `UPDATE ... WHERE id = ANY($1)`, one
//!   transaction per batch, with the same `postgres` crate;
//! - dialout: N messages stored through `Dialer::send_many` (1,000 per call, queued: the
//!   send_many rate), the claim's plan printed, then one worker (`--once`, Dummy backend,
//!   batch 1,000) publishes all of them.

#[path = "common/cpu.rs"]
mod cpu;

use std::sync::Arc;
use std::time::Instant;

use dialout_backends::Dummy;
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{DeliverySettings, Worker, WorkerOptions};
use dialout_dialer::{Dialer, SendOptions, SendRequest, State};
use dialout_store::{self as store, MessageFilter};
use postgres::{Client, NoTls};
use uuid::Uuid;

const CLAIM_SQL: &str = "UPDATE messages SET claim_owner = 'w', claim_until = now() WHERE id = ANY(ARRAY(\
    SELECT id FROM messages WHERE state IN (-1, 99) AND NOT is_final_state \
    AND (not_before IS NULL OR not_before <= now()) AND (next_attempt_at IS NULL OR next_attempt_at <= now()) \
    AND (claim_owner IS NULL OR claim_until <= now()) AND backend = 'dummy' \
    ORDER BY priority, created_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED))";

fn with_db(server: &str, name: &str) -> String {
    let (base, _) = server
        .rsplit_once('/')
        .expect("SERVER_URL ends in /DATABASE");
    format!("{base}/{name}")
}

fn fresh_db(admin: &mut Client, name: &str) {
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
}

fn raw(url: &str, n: usize) -> f64 {
    let mut c = Client::connect(url, NoTls).unwrap();
    c.batch_execute(
        "CREATE TABLE raw_queue (id UUID PRIMARY KEY, priority SMALLINT NOT NULL, \
         created_at TIMESTAMPTZ NOT NULL, state SMALLINT NOT NULL, payload TEXT NOT NULL) \
         WITH (autovacuum_enabled = false); \
         CREATE INDEX raw_queue_due ON raw_queue(priority, created_at, id) WHERE state = 0",
    )
    .unwrap();
    let mut left = n;
    while left > 0 {
        let k = left.min(10_000);
        let ids: Vec<Uuid> = (0..k).map(|_| Uuid::now_v7()).collect();
        c.execute(
            "INSERT INTO raw_queue SELECT id, 5, clock_timestamp(), 0, 'Your code is 123456' FROM unnest($1::uuid[]) AS id",
            &[&ids],
        )
        .unwrap();
        left -= k;
    }
    let claim = c
        .prepare("SELECT id FROM raw_queue WHERE state = 0 ORDER BY priority, created_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED")
        .unwrap();
    let done = c
        .prepare("UPDATE raw_queue SET state = 1 WHERE id = ANY($1)")
        .unwrap();
    explain(
        &mut c,
        "raw claim",
        "SELECT id FROM raw_queue WHERE state = 0 ORDER BY priority, created_at, id LIMIT 1000 FOR UPDATE SKIP LOCKED",
    );
    let start = Instant::now();
    let mut total = 0;
    loop {
        let mut tx = c.transaction().unwrap();
        let ids: Vec<Uuid> = tx
            .query(&claim, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        if ids.is_empty() {
            break;
        }
        total += ids.len();
        tx.execute(&done, &[&ids]).unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(total, n);
    n as f64 / start.elapsed().as_secs_f64()
}

fn explain(c: &mut Client, what: &str, sql: &str) {
    let plan: Vec<String> = c
        .query(&format!("EXPLAIN {sql}"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    println!("{what} plan, no statistics:\n  {}", plan.join("\n  "));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(100_000, |a| a.parse().expect("N: a number"));
    let server = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = Client::connect(&server, NoTls).expect("connect to SERVER_URL");
    let (raw_db, dialout_db) = (
        format!("dialout_bench_raw_{}", std::process::id()),
        format!("dialout_bench_{}", std::process::id()),
    );
    fresh_db(&mut admin, &raw_db);
    fresh_db(&mut admin, &dialout_db);
    // Every statement's time in the server's log, to see where a batch's time goes.
    if std::env::var_os("PG_QUEUE_BENCH_LOG").is_some() {
        for db in [&raw_db, &dialout_db] {
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE {db} SET log_min_duration_statement = 0"
                ))
                .unwrap();
        }
    }

    let raw_rate = raw(&with_db(&server, &raw_db), n);

    let url = with_db(&server, &dialout_db);
    let store = store::open(&url).expect("open store");
    let mut c = Client::connect(&url, NoTls).unwrap();
    c.batch_execute("ALTER TABLE messages SET (autovacuum_enabled = false); ALTER TABLE message_related SET (autovacuum_enabled = false)")
        .unwrap();
    // For trying a schema change before the bulk load (say, another fillfactor).
    if let Ok(sql) = std::env::var("PG_QUEUE_BENCH_SQL") {
        c.batch_execute(&sql).unwrap();
    }
    let settings = DeliverySettings {
        batch_size: 1000,
        ..Default::default()
    };
    let backends = Channels::single(Arc::new(Dummy::new("dummy")))
        .with_delivery(settings)
        .unwrap();
    let dialer = Dialer::new(Arc::clone(&store), backends.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t0 = Instant::now();
    rt.block_on(async {
        let mut i = 0;
        while i < n {
            let batch: Vec<SendRequest> = (i..(i + 1000).min(n))
                .map(|j| {
                    let mut r = SendRequest::new(
                        format!("+420777{:06}", j % 1_000_000),
                        "Your code is 123456",
                    );
                    r.options = SendOptions {
                        queued: true,
                        ..Default::default()
                    };
                    r
                })
                .collect();
            i += batch.len();
            dialer.send_many(batch).await.expect("send_many");
        }
    });
    let send_many_rate = n as f64 / t0.elapsed().as_secs_f64();
    let analyzed: Option<jiff::Timestamp> = c
        .query_one(
            "SELECT GREATEST(last_analyze, last_autoanalyze) FROM pg_stat_user_tables WHERE relname = 'messages'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(analyzed.is_none(), "the bench wants no statistics");
    // The claim as the store runs it: sorts and bitmap scans priced out in its transaction.
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")
        .unwrap();
    let plan: Vec<String> = tx
        .query(&format!("EXPLAIN {CLAIM_SQL}"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    println!(
        "dialout claim plan, no statistics:\n  {}",
        plan.join("\n  ")
    );
    tx.rollback().unwrap();

    let worker = Worker::new(
        Arc::clone(&store),
        backends,
        WorkerOptions {
            once: true,
            no_status: true,
            ..Default::default()
        },
    );
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let (t1, cpu1) = (Instant::now(), cpu::seconds());
    let stats = rt.block_on(worker.run(rx)).expect("worker");
    let worker_rate = n as f64 / t1.elapsed().as_secs_f64();
    let worker_cpu_ms = (cpu::seconds() - cpu1) * 1000.0 / (n as f64 / 1000.0);
    assert_eq!(stats.recorded, n, "every message recorded");
    let left = store
        .messages(&MessageFilter {
            state: Some(State::Waiting),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert!(left.is_empty(), "nothing left waiting");

    drop((c, dialer, store));
    // Kept for EXPLAIN by hand: the drained databases with their schema.
    let keep = std::env::var_os("PG_QUEUE_BENCH_KEEP").is_some();
    for db in [raw_db, dialout_db].iter().filter(|_| !keep) {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    }
    println!("PostgreSQL, {n} messages, batch 1000, no ANALYZE (messages/s):");
    println!("  raw SQL queue loop (claim 1000 + UPDATE ANY)  {raw_rate:>9.0}");
    println!(
        "  dialout worker, one, Dummy backend            {worker_rate:>9.0}  {:.2} x raw (goal >= 1.0)",
        worker_rate / raw_rate
    );
    println!("  dialout worker's own CPU per 1,000 messages   {worker_cpu_ms:>9.1} ms");
    println!(
        "  send_many, 1000 per call, queued              {send_many_rate:>9.0}  (goal >= 50000)"
    );
}
