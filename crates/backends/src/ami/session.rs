//! One AMI session per backend: connect, log in, read events continuously, Ping, and
//! reconnect with backoff (logging in again) after a `Shutdown` event or a dropped socket.
//!
//! The login reply is read before anything else, on the socket itself: real Asterisk answers
//! a wrong secret after about a second and closes the socket right after, so a reader racing
//! the login step would see "connection closed" instead of "login refused". A login refused
//! with `Asterisk is shutting down` is a restart under way, not a wrong secret.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{oneshot, watch};

use super::proto::{Framer, Packet, encode};
use crate::shared::secret::Secret;

/// How long an action may wait for its response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before connecting again; it doubles up to `backoff_max`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// What a session tells its backend.
pub(crate) trait Events: Send + Sync {
    /// An event no action is waiting for (OriginateResponse, UserEvent, Hangup, ...).
    fn event(&self, p: &Packet);
    /// Logged in (again) as connection number `conn` (1, 2, ...): events may have been
    /// missed before this.
    fn connected(&self, conn: u64);
    /// Connection `conn` is gone (0: none was up); `restart`: Asterisk said it was
    /// shutting down, so every call placed on `conn` or before was cut.
    fn disconnected(&self, conn: u64, restart: bool);
}

#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Not tried yet.
    Starting,
    Up,
    /// Down for now; reconnecting with backoff.
    Down(String),
    /// Asterisk is shutting down (a restart): it refuses every action, Login included, for
    /// a moment; reconnecting with backoff.
    ShuttingDown,
    /// Asterisk refused the username/secret: nothing is sent until the configuration changes.
    AuthFailed(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AmiError {
    #[error("not connected to Asterisk: {0}")]
    Down(String),
    #[error("the AMI login was refused: {0}")]
    Auth(String),
    #[error("no answer from Asterisk within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Refused(String),
}

/// A response with the events of its list (`EventList: start` ... `Complete`).
#[derive(Debug, Clone)]
pub struct Reply {
    pub response: Packet,
    pub events: Vec<Packet>,
}

impl Reply {
    pub fn success(&self) -> bool {
        self.response.is("Response", "Success")
    }
    /// Refused because Asterisk is shutting down: the action did nothing.
    pub fn shutting_down(&self) -> bool {
        is_shutting_down(self.message())
    }
    pub fn message(&self) -> &str {
        self.response.get("Message").unwrap_or("")
    }
}

struct Pending {
    tx: oneshot::Sender<Reply>,
    list: Option<Reply>,
}

#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub secret: Secret,
    pub ping_every: Duration,
    pub backoff_max: Duration,
    /// After a refused login: how long before trying again.
    pub auth_retry: Duration,
}

pub struct Session {
    endpoint: Endpoint,
    link: watch::Sender<Link>,
    writer: tokio::sync::Mutex<Option<OwnedWriteHalf>>,
    /// The number of the last connection logged in (0: none yet); changed with `writer`,
    /// under its lock, so an action knows which connection it went out on.
    conn: AtomicU64,
    pending: Mutex<HashMap<String, Pending>>,
    next: AtomicU64,
}

enum Ended {
    /// `Event: Shutdown`: Asterisk is restarting or stopping.
    Shutdown,
    /// The login was refused with `Asterisk is shutting down`.
    ShuttingDown,
    Lost(String),
    Auth(String),
}

fn is_shutting_down(message: &str) -> bool {
    message.to_ascii_lowercase().contains("shutting down")
}

impl Session {
    pub fn new(endpoint: Endpoint) -> Arc<Session> {
        Arc::new(Session {
            endpoint,
            link: watch::channel(Link::Starting).0,
            writer: tokio::sync::Mutex::new(None),
            conn: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        })
    }

    pub fn link(&self) -> Link {
        self.link.borrow().clone()
    }

    /// The number of the last connection logged in (0: none yet).
    pub fn conn(&self) -> u64 {
        self.conn.load(Ordering::SeqCst)
    }

    /// Waits (at most `d`) until the first connection attempt has an outcome.
    pub async fn settled(&self, d: Duration) -> Link {
        let mut rx = self.link.subscribe();
        let _ = tokio::time::timeout(d, rx.wait_for(|l| *l != Link::Starting)).await;
        self.link()
    }

    /// Waits (at most `d`) for the link to be up.
    pub async fn wait_up(&self, d: Duration) -> bool {
        let mut rx = self.link.subscribe();
        tokio::time::timeout(d, rx.wait_for(|l| *l == Link::Up))
            .await
            .is_ok()
    }

    /// Starts the session task; it ends when `events` (the backend) is dropped.
    pub fn spawn(self: &Arc<Self>, events: Weak<dyn Events>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.run(events).await })
    }

    async fn run(self: Arc<Self>, events: Weak<dyn Events>) {
        let mut backoff = FIRST_BACKOFF.min(self.endpoint.backoff_max);
        loop {
            let ended = self.serve_once(&events, &mut backoff).await;
            *self.writer.lock().await = None;
            self.fail_pending();
            let Some(sink) = events.upgrade() else { return };
            let (host, user) = (&self.endpoint.host, &self.endpoint.username);
            let wait = match ended {
                Ended::Auth(why) => {
                    let retry = self.endpoint.auth_retry;
                    tracing::error!(host = %host, user = %user, "AMI login refused: Asterisk said {why:?}; the backend is paused, trying again in {retry:?} (fix username/secret in the configuration)");
                    self.link.send_replace(Link::AuthFailed(why));
                    sink.disconnected(self.conn(), false);
                    retry
                }
                Ended::Shutdown => {
                    tracing::warn!(host = %host, "Asterisk is shutting down (Event: Shutdown); reconnecting in {backoff:?}");
                    self.link.send_replace(Link::ShuttingDown);
                    sink.disconnected(self.conn(), true);
                    backoff
                }
                Ended::ShuttingDown => {
                    tracing::warn!(host = %host, "Asterisk is shutting down: it refused the login for now (not a credentials problem); trying again in {backoff:?}");
                    self.link.send_replace(Link::ShuttingDown);
                    sink.disconnected(self.conn(), true);
                    backoff
                }
                Ended::Lost(why) => {
                    tracing::warn!(host = %host, "AMI connection lost: {why}; reconnecting in {backoff:?}");
                    let why = if self.link() == Link::ShuttingDown {
                        format!("Asterisk shut down; {why}")
                    } else {
                        why
                    };
                    self.link.send_replace(Link::Down(why));
                    sink.disconnected(self.conn(), false);
                    backoff
                }
            };
            drop(sink);
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.endpoint.backoff_max);
        }
    }

    async fn serve_once(&self, events: &Weak<dyn Events>, backoff: &mut Duration) -> Ended {
        let addr = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        let sock = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Ended::Lost(format!("cannot connect to {addr}: {e}")),
            Err(_) => return Ended::Lost(format!("cannot connect to {addr}: timed out")),
        };
        let _ = sock.set_nodelay(true);
        let (rd, mut wr) = sock.into_split();
        let mut input = Input {
            rd,
            framer: Framer::default(),
            buf: vec![0u8; 16 * 1024],
            addr: addr.clone(),
        };
        let early = match self.login(&mut input, &mut wr).await {
            Ok(early) => early,
            Err(ended) => return ended,
        };
        let conn = {
            let mut w = self.writer.lock().await;
            *w = Some(wr);
            self.conn.fetch_add(1, Ordering::SeqCst) + 1
        };
        *backoff = FIRST_BACKOFF.min(self.endpoint.backoff_max);
        self.link.send_replace(Link::Up);
        tracing::info!(host = %self.endpoint.host, "AMI logged in");
        if let Some(sink) = events.upgrade() {
            sink.connected(conn);
        }
        let deliver = |p: Packet| -> Option<Ended> {
            if p.is("Event", "Shutdown") {
                return Some(Ended::Shutdown);
            }
            if let Some(p) = self.route(p)
                && let Some(sink) = events.upgrade()
            {
                sink.event(&p);
            }
            None
        };
        let reader = async {
            let mut packets = early;
            loop {
                for p in packets.drain(..) {
                    if let Some(ended) = deliver(p) {
                        return ended;
                    }
                }
                if let Err(ended) = input.read(&mut packets).await {
                    return ended;
                }
            }
        };
        let control = async {
            loop {
                tokio::time::sleep(self.endpoint.ping_every).await;
                if events.strong_count() == 0 {
                    return Ended::Lost("backend dropped".into());
                }
                if let Err(e) = self.send(&[("Action", "Ping")]).await {
                    return Ended::Lost(format!("keep-alive Ping failed: {e}"));
                }
            }
        };
        tokio::select! {
            e = reader => e,
            e = control => e,
        }
    }

    /// Sends Login and reads until its answer: the packets that came after the answer in the
    /// same read are returned for the event reader (FullyBooted often does).
    async fn login(
        &self,
        input: &mut Input,
        wr: &mut OwnedWriteHalf,
    ) -> Result<Vec<Packet>, Ended> {
        let aid = format!("dq-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let wire = encode(&[
            ("Action", "Login"),
            ("ActionID", &aid),
            ("Username", &self.endpoint.username),
            ("Secret", self.endpoint.secret.expose()),
        ])
        .map_err(|e| Ended::Auth(format!("the login cannot be sent: {e}")))?;
        wr.write_all(wire.as_bytes())
            .await
            .map_err(|e| Ended::Lost(format!("writing to Asterisk: {e}")))?;
        let mut packets = Vec::new();
        let answer = async {
            loop {
                if let Some(i) = packets
                    .iter()
                    .position(|p: &Packet| p.get("Response").is_some() && p.is("ActionID", &aid))
                {
                    let reply = packets.remove(i);
                    return Ok((reply, std::mem::take(&mut packets)));
                }
                input.read(&mut packets).await.map_err(|e| match e {
                    Ended::Lost(why) => Ended::Lost(format!("{why} before answering the login")),
                    other => other,
                })?;
            }
        };
        let (reply, rest) = tokio::time::timeout(REQUEST_TIMEOUT, answer)
            .await
            .map_err(|_| {
                Ended::Lost(format!("no answer to the login within {REQUEST_TIMEOUT:?}"))
            })??;
        if reply.is("Response", "Success") {
            return Ok(rest);
        }
        let message = reply.get("Message").unwrap_or("").to_string();
        if is_shutting_down(&message) {
            Err(Ended::ShuttingDown)
        } else if message.to_ascii_lowercase().contains("authentication") {
            Err(Ended::Auth(message))
        } else {
            Err(Ended::Lost(format!(
                "Asterisk refused the login: {message:?}"
            )))
        }
    }

    /// A response or list event goes to the action waiting for it; anything else is
    /// returned as an event.
    fn route(&self, p: Packet) -> Option<Packet> {
        let Some(aid) = p.get("ActionID").map(str::to_string) else {
            return Some(p);
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // OriginateResponse carries `Response:` and the Originate's ActionID too, but it is
        // an event: only a packet without `Event:` answers an action.
        if p.get("Response").is_some() && p.get("Event").is_none() {
            let mut w = pending.remove(&aid)?;
            if p.is("EventList", "start") {
                w.list = Some(Reply {
                    response: p,
                    events: Vec::new(),
                });
                pending.insert(aid, w);
            } else {
                let _ = w.tx.send(Reply {
                    response: p,
                    events: Vec::new(),
                });
            }
            return None;
        }
        match pending.get_mut(&aid) {
            Some(w) if w.list.is_some() => {
                let done = p.is("EventList", "Complete");
                if let Some(l) = w.list.as_mut() {
                    l.events.push(p);
                }
                if done && let Some(w) = pending.remove(&aid) {
                    let _ = w.tx.send(w.list.unwrap_or_else(|| Reply {
                        response: Packet::default(),
                        events: Vec::new(),
                    }));
                }
                None
            }
            _ => Some(p),
        }
    }

    fn fail_pending(&self) {
        // Dropping the senders wakes every waiting action with an error.
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Sends an action (the session must be up) and waits for its response.
    pub async fn request(&self, headers: &[(&str, &str)]) -> Result<Reply, AmiError> {
        self.request_on(headers).await.map(|(r, _)| r)
    }

    /// As `request`, with the number of the connection the action went out on.
    pub async fn request_on(&self, headers: &[(&str, &str)]) -> Result<(Reply, u64), AmiError> {
        match self.link() {
            Link::Up => self.send_on(headers).await,
            Link::AuthFailed(m) => Err(AmiError::Auth(m)),
            Link::Down(m) => Err(AmiError::Down(m)),
            Link::ShuttingDown => Err(AmiError::Down("Asterisk is shutting down".into())),
            Link::Starting => Err(AmiError::Down("connecting".into())),
        }
    }

    async fn send(&self, headers: &[(&str, &str)]) -> Result<Reply, AmiError> {
        self.send_on(headers).await.map(|(r, _)| r)
    }

    /// Writes the action (with the caller's ActionID if it has one: an Originate's, to
    /// match its OriginateResponse) and waits for the response.
    async fn send_on(&self, headers: &[(&str, &str)]) -> Result<(Reply, u64), AmiError> {
        let given = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("ActionID"))
            .map(|(_, v)| v.to_string());
        let aid = given
            .clone()
            .unwrap_or_else(|| format!("dq-{}", self.next.fetch_add(1, Ordering::Relaxed)));
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
        all.extend_from_slice(&headers[..1.min(headers.len())]);
        if given.is_none() {
            all.push(("ActionID", &aid));
        }
        all.extend_from_slice(&headers[1.min(headers.len())..]);
        let wire = encode(&all).map_err(AmiError::Refused)?;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(aid.clone(), Pending { tx, list: None });
        let conn = {
            let mut w = self.writer.lock().await;
            let conn = self.conn();
            let Some(w) = w.as_mut() else {
                self.forget(&aid);
                return Err(AmiError::Down("not connected".into()));
            };
            if let Err(e) = w.write_all(wire.as_bytes()).await {
                self.forget(&aid);
                return Err(AmiError::Down(format!("writing to Asterisk: {e}")));
            }
            conn
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(r)) => Ok((r, conn)),
            Ok(Err(_)) => Err(AmiError::Down(
                "the connection closed before the answer".into(),
            )),
            Err(_) => {
                self.forget(&aid);
                Err(AmiError::Timeout(REQUEST_TIMEOUT))
            }
        }
    }

    fn forget(&self, aid: &str) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(aid);
    }
}

/// The read half of a connection and what has been cut from it so far.
struct Input {
    rd: tokio::net::tcp::OwnedReadHalf,
    framer: Framer,
    buf: Vec<u8>,
    addr: String,
}

impl Input {
    /// Reads once and appends the whole packets received; the end of the connection (or a
    /// port that is not a manager) is the session's end.
    async fn read(&mut self, out: &mut Vec<Packet>) -> Result<(), Ended> {
        let n = match self.rd.read(&mut self.buf).await {
            Ok(0) => return Err(Ended::Lost("Asterisk closed the connection".into())),
            Ok(n) => n,
            Err(e) => return Err(Ended::Lost(format!("reading from Asterisk: {e}"))),
        };
        self.framer.push(&self.buf[..n], out);
        if let Some(b) = self.framer.banner()
            && !b.starts_with("Asterisk Call Manager/")
        {
            return Err(Ended::Lost(format!(
                "{} is not an Asterisk manager port (it said {b:?})",
                self.addr
            )));
        }
        Ok(())
    }
}
