//! A fake Asterisk Manager Interface, following `shared/reference/asterisk-ami.md`: the
//! banner, `Key: Value` framing, Login, Ping, Async Originate with its OriginateResponse and
//! channel events per callee kind, the `dialout-ami` dialplan's UserEvents and AstDB
//! writes, DBGet/DBPut/DBDel, ShowDialPlan, `Shutdown` on restart and dropped sockets.
//!
//! It runs dialout's AMI dialplan the way Asterisk would (answered, complete, failed with
//! `${REASON}`, h with `${HANGUPCAUSE}`), in real but short time.

mod call;
mod callee;
mod conn;
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
}

pub(crate) struct State {
    pub username: String,
    pub secret: String,
    pub up: bool,
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
                up: true,
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

    /// `core restart now`: `Event: Shutdown` to every client, sockets closed, calls in
    /// progress cut (an answered one runs `h`), connections refused for `down`; AstDB kept.
    pub async fn restart(&self, down: Duration) {
        {
            let mut st = self.shared.lock();
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
            st.generation += 1;
            st.up = false;
            let now = epoch();
            let cut: Vec<LiveCall> = st.live.drain().map(|(_, c)| c).collect();
            for c in cut {
                let key = format!("dialout/{}", c.dialout_id);
                if c.answered && st.db.get(&key).is_some_and(|v| v.starts_with("answered")) {
                    st.db.insert(key, format!("hangup {now} 16"));
                }
            }
        }
        tokio::time::sleep(down).await;
        self.shared.lock().up = true;
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
            st.up = false;
            for (tx, _) in st.conns.values() {
                let _ = tx.send(Frame::Close);
            }
        }
        tokio::time::sleep(d).await;
        self.shared.lock().up = true;
    }
}
