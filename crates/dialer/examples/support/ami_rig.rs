//! What the AMI benchmarks share: a silent speech engine, and the worker with SQLite and an
//! AMI backend pointed at a fake AMI server, with `calls` messages queued.

use std::sync::Arc;

use dialout_backends::Ami;
use dialout_backends::ami::AmiConfig;
use dialout_backends::tts::{Audio, Tts, TtsError};
use dialout_dialer::delivery::{Channels, Worker, WorkerOptions};
use dialout_dialer::{NewMessage, PhoneNumber};
use dialout_store::{self as store, InsertMode, Store};
use dialout_testkit::fake_ami::FakeAmi;

/// The audio is not what is measured: half a second of silence for any text.
pub struct Silence;

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

/// The `n`th number the benchmarks call.
pub fn number(n: usize) -> String {
    format!("+420776{:06}", 100_000 + n)
}

/// A running worker (default delivery settings) over a fresh SQLite store in `dir`, with
/// `calls` messages queued for one AMI backend on `fake` (50 calls at once at most).
pub struct Rig {
    pub store: Arc<dyn Store>,
    pub stop: tokio::sync::watch::Sender<bool>,
    pub handle: tokio::task::JoinHandle<
        Result<dialout_dialer::WorkerStats, dialout_dialer::delivery::DeliveryError>,
    >,
}

impl Rig {
    pub fn start(fake: &FakeAmi, dir: &std::path::Path, calls: usize) -> Rig {
        Rig::start_with(fake, dir, calls, Default::default())
    }

    /// Every message carries `interactive` (a gather, a machine policy).
    pub fn start_with(
        fake: &FakeAmi,
        dir: &std::path::Path,
        calls: usize,
        interactive: dialout_model::interactive::Interactive,
    ) -> Rig {
        let table: toml::Table = toml::from_str(&format!(
            "host = \"127.0.0.1\"\nport = {}\nusername = \"dialout\"\nsecret = \"bench\"\nchannel = \"Local/{{digits}}@callee\"\n\
             audio_url = \"http://dialout.example:8080/audio\"\naudio_dir = \"{}/audio\"\nmax_in_flight = 50\ncalls_per_second = 200\n",
            fake.port(),
            dir.display()
        ))
        .unwrap();
        let config = AmiConfig::from_table("pbx", &table).unwrap();
        let backend = Arc::new(Ami::start("pbx", config, Arc::new(Silence)).unwrap());
        let store = store::open(&format!("sqlite://{}/dialout.db", dir.display())).unwrap();
        let new: Vec<NewMessage> = (0..calls)
            .map(|i| {
                let n = PhoneNumber::from_e164(&number(i)).unwrap();
                let mut m = NewMessage::new(n, "Your order has shipped.", "pbx");
                m.interactive = interactive.clone();
                m
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
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(async move { worker.run(stop_rx).await });
        Rig {
            store,
            stop,
            handle,
        }
    }

    pub async fn finish(self) {
        self.stop.send(true).unwrap();
        self.handle.await.unwrap().unwrap();
    }
}
