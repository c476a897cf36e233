//! Time from the callee's hangup (the fake AMI server sends the channel's last `Hangup`) to
//! the message's final state stored, through the worker, SQLite and the AMI backend.
//! Goal (issue 18): p99 < 100 ms. With `--prompt` (issue 29) every message asks for a key
//! (AMD, the message, a prompt; the callee presses 1 during the prompt) and the final state
//! stored carries the key.
//!
//!     cargo run --release -p dialout-dialer --example ami_bench [-- CALLS [--prompt]]

#[path = "support/ami_rig.rs"]
mod ami_rig;

use std::time::{Duration, Instant};

use dialout_store::MessageFilter;
use dialout_testkit::fake_ami::{Callee, FakeAmi};
use dialout_testkit::fake_asterisk::Party;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let prompt = std::env::args().any(|a| a == "--prompt");
    let fake = FakeAmi::start("dialout", "bench").await.unwrap();
    fake.playback(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let rig = if prompt {
        // 100 times faster than real time: AMD's verdict after 19 ms, the 200 ms message
        // (20 fake s), the 5 s prompt in 50 ms; 1 is pressed 1 fake s into the prompt.
        fake.ivr_scale(0.01);
        fake.default_callee(Callee::talks(Party::person(&[(23.0, '1')])));
        let ask = serde_json::from_str(
            r#"{"gather":{"prompt":"Press 1 to confirm.","keys":"12","answers":{"1":"confirmed"}},
                "machine":"ignore"}"#,
        )
        .unwrap();
        ami_rig::Rig::start_with(&fake, dir.path(), calls, ask)
    } else {
        ami_rig::Rig::start(&fake, dir.path(), calls)
    };
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
    if prompt {
        let confirmed = messages
            .iter()
            .filter(|m| m.reply.answer.as_deref() == Some("confirmed"))
            .count();
        assert_eq!(confirmed, calls, "every callee's key was stored");
    }
    println!(
        "{}{} calls final in {:.1} s; hangup -> final state stored: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal: p99 < 100 ms)",
        if prompt { "with a prompt: " } else { "" },
        lat.len(),
        elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    assert_eq!(lat.len(), calls, "every call ended and was stored");
}
