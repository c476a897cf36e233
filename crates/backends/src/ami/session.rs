//! One AMI session per backend: connect, log in, read events continuously, Ping, and
//! reconnect with backoff (logging in again) after a `Shutdown` event or a dropped socket.

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

/// What a session tells its backend.
pub(crate) trait Events: Send + Sync {
    /// An event no action is waiting for (OriginateResponse, UserEvent, Hangup, ...).
    fn event(&self, p: &Packet);
    /// Logged in (again): events may have been missed before this.
    fn connected(&self);
    /// The session is gone; `restart`: Asterisk said it was shutting down.
    fn disconnected(&self, restart: bool);
}

#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Not tried yet.
    Starting,
    Up,
    /// Down for now; reconnecting with backoff.
    Down(String),
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
    pending: Mutex<HashMap<String, Pending>>,
    next: AtomicU64,
}

enum Ended {
    Shutdown,
    Lost(String),
    Auth(String),
}

impl Session {
    pub fn new(endpoint: Endpoint) -> Arc<Session> {
        Arc::new(Session {
            endpoint,
            link: watch::channel(Link::Starting).0,
            writer: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        })
    }

    pub fn link(&self) -> Link {
        self.link.borrow().clone()
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
        let mut backoff = Duration::from_millis(100);
        loop {
            let ended = self.serve_once(&events, &mut backoff).await;
            *self.writer.lock().await = None;
            self.fail_pending();
            let Some(sink) = events.upgrade() else { return };
            let wait = match ended {
                Ended::Auth(why) => {
                    tracing::error!(host = %self.endpoint.host, user = %self.endpoint.username, "AMI login refused: {why}; the backend is paused (fix username/secret in the configuration)");
                    self.link.send_replace(Link::AuthFailed(why));
                    sink.disconnected(false);
                    self.endpoint.auth_retry
                }
                Ended::Shutdown => {
                    tracing::warn!(host = %self.endpoint.host, "Asterisk is shutting down; reconnecting");
                    self.link
                        .send_replace(Link::Down("Asterisk shut down".into()));
                    sink.disconnected(true);
                    backoff
                }
                Ended::Lost(why) => {
                    tracing::warn!(host = %self.endpoint.host, "AMI connection lost: {why}; reconnecting in {backoff:?}");
                    self.link.send_replace(Link::Down(why));
                    sink.disconnected(false);
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
        let (mut rd, wr) = sock.into_split();
        *self.writer.lock().await = Some(wr);
        let reader = async {
            let mut framer = Framer::default();
            let mut buf = vec![0u8; 16 * 1024];
            let mut packets = Vec::new();
            loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) => return Ended::Lost("Asterisk closed the connection".into()),
                    Ok(n) => n,
                    Err(e) => return Ended::Lost(format!("reading from Asterisk: {e}")),
                };
                framer.push(&buf[..n], &mut packets);
                if let Some(b) = framer.banner()
                    && !b.starts_with("Asterisk Call Manager/")
                {
                    return Ended::Lost(format!(
                        "{addr} is not an Asterisk manager port (it said {b:?})"
                    ));
                }
                for p in packets.drain(..) {
                    if p.is("Event", "Shutdown") {
                        return Ended::Shutdown;
                    }
                    if let Some(p) = self.route(p)
                        && let Some(sink) = events.upgrade()
                    {
                        sink.event(&p);
                    }
                }
            }
        };
        let control = async {
            let login = self
                .send(&[
                    ("Action", "Login"),
                    ("Username", &self.endpoint.username),
                    ("Secret", self.endpoint.secret.expose()),
                ])
                .await;
            match login {
                Ok(r) if r.success() => {}
                Ok(r) => return Ended::Auth(r.message().to_string()),
                Err(e) => return Ended::Lost(format!("login: {e}")),
            }
            *backoff = Duration::from_millis(100);
            self.link.send_replace(Link::Up);
            tracing::info!(host = %self.endpoint.host, "AMI logged in");
            if let Some(sink) = events.upgrade() {
                sink.connected();
            }
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

    /// A response or list event goes to the action waiting for it; anything else is
    /// returned as an event.
    fn route(&self, p: Packet) -> Option<Packet> {
        let Some(aid) = p.get("ActionID").map(str::to_string) else {
            return Some(p);
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.get("Response").is_some() {
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
        match self.link() {
            Link::Up => self.send(headers).await,
            Link::AuthFailed(m) => Err(AmiError::Auth(m)),
            Link::Down(m) => Err(AmiError::Down(m)),
            Link::Starting => Err(AmiError::Down("connecting".into())),
        }
    }

    /// As `request`, with the caller's ActionID (an Originate's, to match its
    /// OriginateResponse).
    async fn send(&self, headers: &[(&str, &str)]) -> Result<Reply, AmiError> {
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
        {
            let mut w = self.writer.lock().await;
            let Some(w) = w.as_mut() else {
                self.forget(&aid);
                return Err(AmiError::Down("not connected".into()));
            };
            if let Err(e) = w.write_all(wire.as_bytes()).await {
                self.forget(&aid);
                return Err(AmiError::Down(format!("writing to Asterisk: {e}")));
            }
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(r)) => Ok(r),
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
