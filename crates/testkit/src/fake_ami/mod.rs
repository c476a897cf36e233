//! A fake Asterisk Manager Interface, following `shared/reference/asterisk-ami.md`: the
//! banner, `Key: Value` framing, Login, Ping, Async Originate with its OriginateResponse and
//! channel events per callee kind, the `dialout-ami` dialplan's UserEvents and AstDB
//! writes, DBGet/DBPut/DBDel, ShowDialPlan; and its faults as the reference records them:
//! a refused login answered late and the socket closed right after, a restart's shutting-down
//! phase (every action refused), then `Shutdown` and closed sockets, a crash (sockets closed
//! without a word, calls gone, AstDB kept), `FullyBooted` with `Uptime` after each login.
//!
//! It runs dialout's AMI dialplan the way Asterisk would (answered, complete, failed with
//! `${REASON}`, h with `${HANGUPCAUSE}`), in real but short time. Exten `ivr` (interactive
//! calls) runs AMD, WaitForSilence, the message and Read with the fake Asterisk's timings
//! for a [`Callee::Talks`], `ivr_scale` times faster; `module show like app_amd` answers as
//! `amd_loaded` says (without it a machine policy hangs up right after the answer).

mod call;
mod callee;
mod conn;
mod ivr;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use callee::Callee;
pub use wire::Packet;

/// The banner real Asterisk 22 sends on connect.
pub const BANNER: &str = "Asterisk Call Manager/11.0.0\r\n";

/// One Originate the fake received.
#[derive(Debug, Clone)]
pub struct Originated {
    pub action_id: String,
    pub channel: String,
    pub channel_id: String,
    pub context: String,
    pub exten: String,
    pub timeout_ms: u64,
    pub caller_id: Option<String>,
    pub is_async: bool,
    pub variables: Vec<(String, String)>,
    pub at: Instant,
}

impl Originated {
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) enum Frame {
    Packet(Packet),
    Close,
}

pub(crate) struct LiveCall {
    pub dialout_id: String,
    pub answered: bool,
    /// Where the call is: `setup`, `ringing`, `answered`, `playing` or `h`.
    pub phase: &'static str,
}

/// Whether the manager port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Up,
    /// Connections are accepted and every action (Login too) is refused.
    ShuttingDown,
    /// Connections are closed at once.
    Down,
}

/// How long a restart refuses actions before `Shutdown` and the close (seen: 0.4 s).
const SHUTTING_DOWN: Duration = Duration::from_millis(400);
/// How long it still accepts connections (and refuses their Login) after the close.
const STILL_ACCEPTING: Duration = Duration::from_millis(800);
/// How long Asterisk has been up when the fake starts.
const FIRST_UPTIME: Duration = Duration::from_secs(3600);

pub(crate) struct State {
    pub username: String,
    pub secret: String,
    pub phase: Phase,
    /// When this Asterisk started (its `Uptime` counts from here).
    pub booted: Instant,
    /// How long a refused login waits for its answer (real Asterisk: about 1 s).
    pub refusal_delay: Duration,
    /// Between a queued Originate and the first channel event.
    pub setup: Duration,
    /// How long the `h` extension takes before it writes AstDB.
    pub h_time: Duration,
    /// Between the answer (OriginateResponse) and the dialplan's first step.
    pub answer_time: Duration,
    /// Bumped by each restart: calls of an older generation were cut.
    pub generation: u64,
    pub conns: HashMap<u64, (mpsc::UnboundedSender<Frame>, bool)>,
    pub next_conn: u64,
    pub db: BTreeMap<String, String>,
    pub callees: Vec<(String, Callee)>,
    pub default_callee: Callee,
    pub contexts: Vec<String>,
    pub originated: Vec<Originated>,
    pub live: HashMap<String, LiveCall>,
    pub max_live: usize,
    pub seq: u64,
    pub playback: Duration,
    pub logins: usize,
    pub failed_logins: usize,
    pub actions: Vec<String>,
    /// When each call's last Hangup event was sent, by DIALOUT_ID.
    pub hung_up: HashMap<String, std::time::SystemTime>,
    /// Real seconds per fake second of an interactive call's timeline.
    pub ivr_scale: f64,
    /// The gather prompt's length, in fake seconds.
    pub prompt_secs: f64,
    /// Whether `app_amd` is loaded (it is not without an amd.conf).
    pub amd_loaded: bool,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends an event to every logged-in connection of generation `generation`; false when
    /// that generation is over (the call was cut by a restart).
    pub fn emit(&self, generation: u64, p: Packet) -> bool {
        let st = self.lock();
        if st.generation != generation {
            return false;
        }
        for (tx, logged_in) in st.conns.values() {
            if *logged_in {
                let _ = tx.send(Frame::Packet(p.clone()));
            }
        }
        true
    }
}

pub struct FakeAmi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAmi {
    fn drop(&mut self) {
        self.task.abort();
        let mut st = self.shared.lock();
        st.generation += 1;
        for (tx, _) in st.conns.values() {
            let _ = tx.send(Frame::Close);
        }
    }
}

impl FakeAmi {
    /// Listens on 127.0.0.1 (a free port), accepting `username`/`secret`, with the
    /// `dialout-ami` context loaded. Every callee answers unless told otherwise.
    pub async fn start(username: &str, secret: &str) -> std::io::Result<FakeAmi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                username: username.to_string(),
                secret: secret.to_string(),
                phase: Phase::Up,
                booted: Instant::now()
                    .checked_sub(FIRST_UPTIME)
                    .unwrap_or_else(Instant::now),
                refusal_delay: Duration::from_secs(1),
                setup: Duration::ZERO,
                h_time: Duration::ZERO,
                answer_time: Duration::ZERO,
                generation: 0,
                conns: HashMap::new(),
                next_conn: 0,
                db: BTreeMap::new(),
                callees: Vec::new(),
                default_callee: Callee::answers(),
                contexts: vec!["dialout-ami".to_string()],
                originated: Vec::new(),
                live: HashMap::new(),
                max_live: 0,
                seq: 0x7e,
                playback: Duration::from_millis(50),
                logins: 0,
                failed_logins: 0,
                actions: Vec::new(),
                hung_up: HashMap::new(),
                ivr_scale: 0.01,
                prompt_secs: 5.04,
                amd_loaded: true,
            }),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let _ = sock.set_nodelay(true);
                tokio::spawn(conn::serve(s.clone(), sock));
            }
        });
        Ok(FakeAmi { shared, addr, task })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Numbers whose dial string contains `digits` behave as `callee`.
    pub fn callee(&self, digits: &str, callee: Callee) {
        self.shared
            .lock()
            .callees
            .push((digits.to_string(), callee));
    }

    pub fn default_callee(&self, callee: Callee) {
        self.shared.lock().default_callee = callee;
    }

    /// Real seconds per fake second of an interactive call (default 0.01: AMD's 2 s verdict
    /// comes after 20 ms, a 5 s Read timeout lasts 50 ms). The message lasts `playback`.
    pub fn ivr_scale(&self, scale: f64) {
        self.shared.lock().ivr_scale = scale;
    }

    /// The gather prompt's length in fake seconds (default 5.04, the reference's prompt).
    pub fn prompt_length(&self, secs: f64) {
        self.shared.lock().prompt_secs = secs;
    }

    /// Whether `app_amd` is loaded (`module show like app_amd` tells; default yes). Without
    /// it `AMD()` is "No application" and the call hangs up at that priority.
    pub fn amd_loaded(&self, loaded: bool) {
        self.shared.lock().amd_loaded = loaded;
    }

    /// How long Playback of the message lasts.
    pub fn playback(&self, d: Duration) {
        self.shared.lock().playback = d;
    }

    /// The dialplan contexts ShowDialPlan knows (default: `dialout-ami`).
    pub fn contexts(&self, names: &[&str]) {
        self.shared.lock().contexts = names.iter().map(|s| s.to_string()).collect();
    }

    pub fn originated(&self) -> Vec<Originated> {
        self.shared.lock().originated.clone()
    }

    /// How many Originates dialed a channel containing `digits`.
    pub fn times_called(&self, digits: &str) -> usize {
        self.shared
            .lock()
            .originated
            .iter()
            .filter(|o| o.channel.contains(digits))
            .count()
    }

    /// The most calls up at the same time so far.
    pub fn max_concurrent(&self) -> usize {
        self.shared.lock().max_live
    }

    pub fn live_calls(&self) -> usize {
        self.shared.lock().live.len()
    }

    pub fn db(&self, family: &str, key: &str) -> Option<String> {
        self.shared
            .lock()
            .db
            .get(&format!("{family}/{key}"))
            .cloned()
    }

    pub fn db_put(&self, family: &str, key: &str, value: &str) {
        self.shared
            .lock()
            .db
            .insert(format!("{family}/{key}"), value.to_string());
    }

    pub fn logins(&self) -> (usize, usize) {
        let st = self.shared.lock();
        (st.logins, st.failed_logins)
    }

    /// The `Action:` of every action received, in order.
    pub fn actions(&self) -> Vec<String> {
        self.shared.lock().actions.clone()
    }

    /// When the callee's call ended (its last Hangup event went out), by DIALOUT_ID.
    pub fn hung_up(&self) -> HashMap<String, std::time::SystemTime> {
        self.shared.lock().hung_up.clone()
    }

    /// Connections open now (logged in or not).
    pub fn connections(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// `core restart now`: at once every call is cut (an answered one runs `h`) and every
    /// action is refused with `Asterisk is shutting down`, on open connections and new ones
    /// alike; 0.4 s later `Event: Shutdown` goes to every client and the sockets close; new
    /// connections are still accepted (and refused) for 0.8 s; then the port is closed for
    /// `down`, and Asterisk is back with a new `Uptime`. AstDB is kept.
    pub async fn restart(&self, down: Duration) {
        {
            let mut st = self.shared.lock();
            st.generation += 1;
            st.phase = Phase::ShuttingDown;
            let cut: Vec<LiveCall> = st.live.drain().map(|(_, c)| c).collect();
            for c in cut {
                let key = format!("dialout/{}", c.dialout_id);
                if c.answered {
                    call::h_extension(&mut st.db, &key);
                }
            }
        }
        tokio::time::sleep(SHUTTING_DOWN).await;
        {
            let st = self.shared.lock();
            let shutdown = Packet::new()
                .with("Event", "Shutdown")
                .with("Privilege", "system,all")
                .with("Shutdown", "Cleanly")
                .with("Restart", "True");
            for (tx, logged_in) in st.conns.values() {
                if *logged_in {
                    let _ = tx.send(Frame::Packet(shutdown.clone()));
                }
                let _ = tx.send(Frame::Close);
            }
        }
        tokio::time::sleep(STILL_ACCEPTING).await;
        {
            let mut st = self.shared.lock();
            st.phase = Phase::Down;
            for (tx, _) in st.conns.values() {
                let _ = tx.send(Frame::Close);
            }
        }
        self.back_after(down).await;
    }

    /// `kill -9` of Asterisk, started again after `down`: the sockets close without a
    /// `Shutdown`, every call is gone mid-step (neither `h` nor `failed` runs, no event
    /// comes), AstDB keeps what was written.
    pub async fn crash(&self, down: Duration) {
        {
            let mut st = self.shared.lock();
            st.generation += 1;
            st.phase = Phase::Down;
            st.live.clear();
            for (tx, _) in st.conns.values() {
                let _ = tx.send(Frame::Close);
            }
        }
        self.back_after(down).await;
    }

    async fn back_after(&self, down: Duration) {
        tokio::time::sleep(down).await;
        let mut st = self.shared.lock();
        st.phase = Phase::Up;
        st.booted = Instant::now();
    }

    /// How long a refused login waits before its answer (default 1 s, as real Asterisk).
    pub fn refusal_delay(&self, d: Duration) {
        self.shared.lock().refusal_delay = d;
    }

    /// Time between a queued Originate and its first channel event (default none).
    pub fn setup_time(&self, d: Duration) {
        self.shared.lock().setup = d;
    }

    /// Time between the answer and the dialplan's first step (default none).
    pub fn answer_time(&self, d: Duration) {
        self.shared.lock().answer_time = d;
    }

    /// Time the `h` extension takes before writing AstDB (default none).
    pub fn h_time(&self, d: Duration) {
        self.shared.lock().h_time = d;
    }

    /// Where the call of message `dialout_id` is now: `setup` (queued, no channel yet),
    /// `ringing`, `answered` (OriginateResponse sent, the dialplan not started), `playing`
    /// or `h` (hung up, the `h` extension running).
    pub fn call_phase(&self, dialout_id: &str) -> Option<&'static str> {
        self.shared
            .lock()
            .live
            .values()
            .find(|c| c.dialout_id == dialout_id)
            .map(|c| c.phase)
    }

    /// Seconds since this Asterisk started, as `FullyBooted` reports it.
    pub fn uptime(&self) -> u64 {
        self.shared.lock().booted.elapsed().as_secs()
    }

    /// Closes every socket without a word (a network cut); calls go on, their events lost.
    pub fn drop_connections(&self) {
        let st = self.shared.lock();
        for (tx, _) in st.conns.values() {
            let _ = tx.send(Frame::Close);
        }
    }
}

pub(crate) fn epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl FakeAmi {
    /// A network cut of `d`: sockets closed and new ones refused, but Asterisk keeps
    /// running (calls go on; their events are lost, AstDB gets their outcome).
    pub async fn cut_network(&self, d: Duration) {
        {
            let mut st = self.shared.lock();
            st.phase = Phase::Down;
            for (tx, _) in st.conns.values() {
                let _ = tx.send(Frame::Close);
            }
        }
        tokio::time::sleep(d).await;
        self.shared.lock().phase = Phase::Up;
    }
}
