//! Time from the callee's hangup (the fake AMI server sends the channel's last `Hangup`) to
//! the message's final state stored, through the worker, SQLite and the AMI backend.
//! Goal (issue 18): p99 < 100 ms.
//!
//!     cargo run --release -p dialout-dialer --example ami_bench [-- CALLS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_backends::Ami;
use dialout_backends::ami::AmiConfig;
use dialout_backends::tts::{Audio, Tts, TtsError};
use dialout_dialer::delivery::Channels;
use dialout_dialer::delivery::{Worker, WorkerOptions};
use dialout_dialer::{NewMessage, PhoneNumber};
use dialout_store::{self as store, InsertMode, MessageFilter};
use dialout_testkit::fake_ami::FakeAmi;

/// The audio is not what is measured: half a second of silence for any text.
struct Silence;

impl Tts for Silence {
    fn name(&self) -> &str {
        "silence"
    }
    fn check(&self, _voice: &str) -> Result<String, TtsError> {
        Ok("silence".into())
    }
    fn speak(&self, _text: &str, _voice: &str) -> Result<Audio, TtsError> {
        Ok(Audio {
            sample_rate: 8000,
            samples: vec![0; 4000],
        })
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let fake = FakeAmi::start("dialout", "bench").await.unwrap();
    fake.playback(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let table: toml::Table = toml::from_str(&format!(
        "host = \"127.0.0.1\"\nport = {}\nusername = \"dialout\"\nsecret = \"bench\"\nchannel = \"Local/{{digits}}@callee\"\n\
         audio_url = \"http://dialout.example:8080/audio\"\naudio_dir = \"{}/audio\"\nmax_in_flight = 50\ncalls_per_second = 200\n",
        fake.port(),
        dir.path().display()
    ))
    .unwrap();
    let config = AmiConfig::from_table("pbx", &table).unwrap();
    let backend = Arc::new(Ami::start("pbx", config, Arc::new(Silence)).unwrap());
    let store = store::open(&format!("sqlite://{}/dialout.db", dir.path().display())).unwrap();
    let new: Vec<NewMessage> = (0..calls)
        .map(|i| {
            let n = PhoneNumber::from_e164(&format!("+420776{:06}", 100_000 + i)).unwrap();
            NewMessage::new(n, "Your order has shipped.", "pbx")
        })
        .collect();
    store
        .insert(&new, InsertMode::QUEUED, jiff::Timestamp::now())
        .unwrap();
    // The default delivery settings: a 1 s tick; results are taken in when the backend
    // says they wait, not at the tick.
    let worker = Worker::new(
        store.clone(),
        Channels::single(backend),
        WorkerOptions::default(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(async move { worker.run(stop_rx).await });
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
    stop_tx.send(true).unwrap();
    handle.await.unwrap().unwrap();
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
