//! Time from the callee's hangup (the fake AMI server sends the channel's last `Hangup`) to
//! the message's final state stored, through the worker, SQLite and the AMI backend.
//! Goal (issue 18): p99 < 100 ms.
//!
//!     cargo run --release -p dialout-dialer --example ami_bench [-- CALLS]

#[path = "support/ami_rig.rs"]
mod ami_rig;

use std::time::{Duration, Instant};

use dialout_store::MessageFilter;
use dialout_testkit::fake_ami::FakeAmi;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let fake = FakeAmi::start("dialout", "bench").await.unwrap();
    fake.playback(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let rig = ami_rig::Rig::start(&fake, dir.path(), calls);
    let store = rig.store.clone();
    let start = Instant::now();
    let all = MessageFilter {
        limit: Some(calls + 1),
        ..Default::default()
    };
    let messages = loop {
        let (s, f) = (store.clone(), all.clone());
        let ms = tokio::task::spawn_blocking(move || s.messages(&f))
            .await
            .unwrap()
            .unwrap();
        if ms.iter().all(|m| m.is_final_state) || start.elapsed() > Duration::from_secs(300) {
            break ms;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let elapsed = start.elapsed();
    rig.finish().await;
    let hung_up = fake.hung_up();
    let mut lat: Vec<f64> = messages
        .iter()
        .filter_map(|m| {
            let t = hung_up.get(&m.id.to_string())?;
            let at = jiff::Timestamp::try_from(*t).ok()?;
            Some((m.changed_at.as_microsecond() - at.as_microsecond()) as f64 / 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "{} calls final in {:.1} s; hangup -> final state stored: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal: p99 < 100 ms)",
        lat.len(),
        elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    assert_eq!(lat.len(), calls, "every call ended and was stored");
}
