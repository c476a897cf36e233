//! Benchmark: what shared pacing costs.
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example pace_bench -- [N] [SERVER_URL]
//! ```
//!
//! 1. The claim of one backend (10 due messages, then published, untimed) with no limit,
//!    with `max_in_flight`, and with `max_in_flight` and `calls_per_second` (a rate high
//!    enough never to refuse), on SQLite and PostgreSQL (a fresh database on SERVER_URL,
//!    default the local server), N messages queued (default 20,000; 15,000 are claimed).
//!    The variants take turns
//!    in rounds, so a noisy machine slows them alike; mean µs per claim and the ratio to no
//!    limit.
//! 2. SQLite: draining N messages without limits (claim 1,000, begin, outcome) with and
//!    without the index of claims that migration 12 adds (dropped in one of two otherwise
//!    equal databases), batch by batch in turns: what the index costs a worker with no
//!    limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_dialer::{JsonMap, MessageId, NewMessage, PhoneNumber, State};
use dialout_model::pace::Pace;
use dialout_store::prelude::*;
use dialout_store::{self as store, Change, Claimable, InsertMode};
use jiff::{SignedDuration, Timestamp};

fn fill(store: &dyn Store, n: usize) {
    let to = PhoneNumber::from_e164("+420777123456").unwrap();
    let all: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage::new(to.clone(), format!("code {i:06}"), "b"))
        .collect();
    for chunk in all.chunks(10_000) {
        store
            .insert(chunk, InsertMode::QUEUED, Timestamp::now())
            .unwrap();
    }
}

fn claim(store: &dyn Store, limit: usize, pace: Pace) -> Vec<MessageId> {
    let now = Timestamp::now();
    let due = Claimable::Due {
        limit,
        backend: Some("b"),
        pace,
    };
    store
        .claim("bench", due, now, now + SignedDuration::from_secs(60))
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect()
}

/// Mean time of one claim of each variant, in µs.
fn claim_cost(store: &dyn Store, variants: &[(&str, Pace)]) -> Vec<f64> {
    let (rounds, per_round) = (10, 50);
    let mut total = vec![Duration::ZERO; variants.len()];
    for _ in 0..rounds {
        for (i, (_, pace)) in variants.iter().enumerate() {
            for _ in 0..per_round {
                let t = Instant::now();
                let ids = claim(store, 10, *pace);
                total[i] += t.elapsed();
                assert_eq!(ids.len(), 10);
                done(store, &ids);
            }
        }
    }
    total
        .iter()
        .map(|d| d.as_secs_f64() * 1e6 / (rounds * per_round) as f64)
        .collect()
}

fn print_claim_cost(db: &str, store: &dyn Store, n: usize) {
    let limited = Pace {
        max_in_flight: Some(100_000),
        calls_per_second: None,
    };
    let both = Pace {
        calls_per_second: Some(1e9),
        ..limited
    };
    let variants = [
        ("no limit", Pace::NONE),
        ("max_in_flight", limited),
        ("max_in_flight + calls_per_second", both),
    ];
    let cost = claim_cost(store, &variants);
    println!("{db}, {n} queued: one claim of 10 for backend b (mean of 500 each)");
    for ((name, _), us) in variants.iter().zip(&cost) {
        println!("  {name:<34} {us:>8.0} µs  {:.2} x no limit", us / cost[0]);
    }
}

/// Claims, begins and finishes one batch; returns how long it took and how many.
fn drain_batch(store: &dyn Store) -> (Duration, usize) {
    let t = Instant::now();
    let ids = claim(store, 1000, Pace::NONE);
    done(store, &ids);
    (t.elapsed(), ids.len())
}

/// Begins the attempts of claimed messages and records them published (final).
fn done(store: &dyn Store, ids: &[MessageId]) {
    let now = Timestamp::now();
    store.begin_attempts("bench", ids, now).unwrap();
    let ok = Change::Accepted {
        state: State::Debug,
        is_final: true,
        sender_data: JsonMap::new(),
        reason: "bench".into(),
    };
    let changes: Vec<_> = ids.iter().map(|id| ((*id).into(), ok.clone())).collect();
    store.finish("bench", &changes, now).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(20_000, |a| a.parse().expect("N: a number"));
    let server = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let dir = tempfile::tempdir().unwrap();

    let sqlite = store::open(&format!("sqlite://{}", dir.path().join("a.db").display())).unwrap();
    fill(sqlite.as_ref(), n);
    print_claim_cost("SQLite", sqlite.as_ref(), n);

    let mut admin = postgres::Client::connect(&server, postgres::NoTls).expect("SERVER_URL");
    let name = format!("dialout_pace_bench_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = server
        .rsplit_once('/')
        .expect("SERVER_URL ends in /DATABASE");
    let pg: Arc<dyn Store> = store::open(&format!("{base}/{name}")).unwrap();
    fill(pg.as_ref(), n);
    print_claim_cost("PostgreSQL", pg.as_ref(), n);
    let mut c = postgres::Client::connect(&format!("{base}/{name}"), postgres::NoTls).unwrap();
    let plan = c
        .batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .and_then(|_| c.query(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT (SELECT COUNT(*) FROM messages WHERE backend = 'b' AND NOT is_final_state AND sent_at IS NOT NULL) \
             + (SELECT COUNT(*) FROM messages WHERE claim_owner IS NOT NULL AND claim_until > now() \
                AND backend = 'b' AND sent_at IS NULL AND NOT is_final_state)",
            &[],
        ))
        .unwrap();
    println!(
        "  the in-flight count's plan (as the claim runs it, sequential and bitmap scans priced out):"
    );
    for row in plan {
        println!("    {}", row.get::<_, String>(0));
    }
    drop(c);
    drop(pg);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();

    // 2. The index of claims on the unpaced path (SQLite).
    let path = |f: &str| dir.path().join(f);
    let with = store::open(&format!("sqlite://{}", path("with.db").display())).unwrap();
    let without = store::open(&format!("sqlite://{}", path("without.db").display())).unwrap();
    rusqlite::Connection::open(path("without.db"))
        .unwrap()
        .execute_batch("DROP INDEX messages_claimed")
        .unwrap();
    fill(with.as_ref(), n);
    fill(without.as_ref(), n);
    let (mut t_with, mut t_without, mut done) = (Duration::ZERO, Duration::ZERO, 0);
    loop {
        let (a, k) = drain_batch(without.as_ref());
        let (b, _) = drain_batch(with.as_ref());
        if k == 0 {
            break;
        }
        (t_without, t_with, done) = (t_without + a, t_with + b, done + k);
    }
    let rate = |t: Duration| done as f64 / t.as_secs_f64();
    println!("SQLite, {done} messages drained without limits (claim 1,000, begin, outcome):");
    println!(
        "  without the index of claims  {:>8.0} msg/s",
        rate(t_without)
    );
    println!(
        "  with it (migration 12)       {:>8.0} msg/s  {:.2} x without",
        rate(t_with),
        rate(t_with) / rate(t_without)
    );
}
