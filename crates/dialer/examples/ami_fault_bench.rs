//! After an Asterisk restart or crash with calls up: the time from Asterisk taking logins
//! again to every message's final state stored, through the worker (default settings),
//! SQLite, the AMI backend with its shipped timing (backoff from 250 ms up to 2 s) and the
//! fake AMI server. Ten calls up at the fault: five answered and playing, five ringing.
//! Goal (issue 25): every message final within 5 s; nobody dialed twice; no AstDB key left.
//! Each round also checks the outcomes: five ANSWERED_PARTIAL, five UNREACHABLE.
//!
//!     cargo run --release -p dialout-dialer --example ami_fault_bench [-- ROUNDS [crash|restart]]

#[path = "support/ami_rig.rs"]
mod ami_rig;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_dialer::{Message, State};
use dialout_store::{MessageFilter, Store};
use dialout_testkit::fake_ami::{Callee, FakeAmi};

const GOAL: Duration = Duration::from_secs(5);

async fn all(store: &Arc<dyn Store>) -> Vec<Message> {
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        s.messages(&MessageFilter {
            limit: Some(100),
            ..Default::default()
        })
    })
    .await
    .unwrap()
    .unwrap()
}

struct Outcome {
    to_final: Duration,
    to_clean: Duration,
    most_dials: usize,
}

/// One fault: `crash` (kill -9) or a clean restart, Asterisk down for `down`.
async fn round(crash: bool, down: Duration) -> Outcome {
    let fake = FakeAmi::start("dialout", "bench").await.unwrap();
    fake.playback(Duration::from_secs(60));
    fake.default_callee(Callee::Answers {
        ring: Duration::from_secs(60),
        hangs_up_after: None,
    });
    let answering: Vec<String> = (0..5)
        .map(|i| format!("420776{:06}", 100_000 + i))
        .collect();
    for n in &answering {
        fake.callee(n, Callee::answers());
    }
    let dir = tempfile::tempdir().unwrap();
    let rig = ami_rig::Rig::start(&fake, dir.path(), 10);
    let store = rig.store.clone();
    // Five playing, five ringing.
    let up = Instant::now();
    loop {
        let ms = all(&store).await;
        let phases: Vec<_> = ms
            .iter()
            .filter_map(|m| fake.call_phase(&m.id.to_string()))
            .collect();
        if phases.iter().filter(|p| **p == "playing").count() == 5
            && phases.iter().filter(|p| **p == "ringing").count() == 5
        {
            break;
        }
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "calls never came up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if crash {
        fake.crash(down).await;
    } else {
        fake.restart(down).await;
    }
    let back = Instant::now();
    let ms = loop {
        let ms = all(&store).await;
        if ms.iter().all(|m| m.is_final_state) {
            break ms;
        }
        assert!(back.elapsed() < Duration::from_secs(120), "never final");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let to_final = back.elapsed();
    while ms
        .iter()
        .any(|m| fake.db("dialout", &m.id.to_string()).is_some())
    {
        assert!(back.elapsed() < Duration::from_secs(120), "AstDB keys left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let to_clean = back.elapsed();
    rig.finish().await;
    let partial = ms
        .iter()
        .filter(|m| m.state == State::AnsweredPartial)
        .count();
    let unreachable = ms.iter().filter(|m| m.state == State::Unreachable).count();
    assert_eq!(
        (partial, unreachable),
        (5, 5),
        "the playing ones heard part of it, the ringing ones were not reached"
    );
    let most_dials = ms
        .iter()
        .map(|m| fake.times_called(&m.recipient.as_str()[1..]))
        .max()
        .unwrap_or(0);
    Outcome {
        to_final,
        to_clean,
        most_dials,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Logs on stderr with DIALOUT_LOG (e.g. `info`), none by default.
    if let Ok(filter) = std::env::var("DIALOUT_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2);
    let faults: Vec<bool> = match std::env::args().nth(2).as_deref() {
        Some("crash") => vec![true],
        Some("restart") => vec![false],
        _ => vec![false, true],
    };
    println!(
        "| fault | Asterisk down | round | all final after logins again | no AstDB key left | most dials of one number | goal |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut worst = Duration::ZERO;
    for crash in faults {
        for down in [0.5, 2.0, 6.0] {
            for r in 1..=rounds {
                let o = round(crash, Duration::from_secs_f64(down)).await;
                worst = worst.max(o.to_final);
                println!(
                    "| {} | {down} s | {r} | {:.2} s | {:.2} s | {} | final < {} s, 1 dial |",
                    if crash { "crash (kill -9)" } else { "restart" },
                    o.to_final.as_secs_f64(),
                    o.to_clean.as_secs_f64(),
                    o.most_dials,
                    GOAL.as_secs()
                );
                assert_eq!(o.most_dials, 1, "nobody dialed twice");
            }
        }
    }
    println!(
        "worst: {:.2} s (goal {} s)",
        worst.as_secs_f64(),
        GOAL.as_secs()
    );
}
