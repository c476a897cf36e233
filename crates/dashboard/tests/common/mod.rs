//! A dashboard on a random port over a fresh SQLite store with the Dummy backend, and a
//! token check that knows a few fixed tokens.

#![allow(dead_code)]

pub mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use dialout_backends::{Backends, Dummy};
use dialout_dashboard::{DashboardOptions, Scopes, TokenCheck};
use dialout_dialer::{Dialer, Message, SendOptions, SendRequest};

pub const ALL: &str = "token-all-scopes-0123456789abcdef0123456789abcdef";
pub const READ: &str = "token-read-only-0123456789abcdef0123456789abcdef";

#[derive(Default)]
pub struct Tokens(pub Mutex<HashMap<String, Scopes>>);

#[async_trait::async_trait]
impl TokenCheck for Tokens {
    async fn scopes(&self, token: &str) -> Option<Scopes> {
        self.0.lock().unwrap().get(token).copied()
    }
}

impl Tokens {
    pub fn revoke(&self, token: &str) {
        self.0.lock().unwrap().remove(token);
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub dialer: Arc<Dialer>,
    pub tokens: Arc<Tokens>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// For tests that call the router directly: no listener.
    pub fn for_router(dialer: Arc<Dialer>, tokens: Arc<Tokens>, dir: tempfile::TempDir) -> Self {
        Server {
            addr: "127.0.0.1:9".parse().unwrap(),
            dialer,
            tokens,
            _dir: dir,
        }
    }

    /// The dashboard's database, opened on its own (for what no page or `Dialer` method
    /// does, such as an endpoint disabled by its receiver).
    pub fn store(&self) -> Arc<dyn dialout_store::Store> {
        let url = format!("sqlite://{}", self._dir.path().join("d.db").display());
        dialout_store::open(&url).expect("open the dashboard's store")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A message stored as WAITING (the worker would publish it), with a tag.
    pub async fn queue(&self, recipient: &str, content: &str, tag: &str) -> Message {
        let mut r = SendRequest::new(recipient, content);
        r.options = SendOptions {
            tag: Some(tag.into()),
            related: vec!["order:42".into()],
            queued: true,
            ..Default::default()
        };
        self.dialer.send(r).await.expect("queue a message").message
    }

    /// A message handed to the Dummy backend at once (it ends DEBUG).
    pub async fn send(&self, recipient: &str, content: &str) -> Message {
        let r = SendRequest::new(recipient, content);
        self.dialer.send(r).await.expect("send a message").message
    }
}

pub fn router_parts(
    opts: DashboardOptions,
) -> (axum::Router, Arc<Dialer>, Arc<Tokens>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let backends = Backends::single(Arc::new(Dummy::new("dummy")));
    let (router, dialer, tokens) = router_with(&dir, backends, opts);
    (router, dialer, tokens, dir)
}

/// A dashboard over a new store in `dir` with these backends.
pub fn router_with(
    dir: &tempfile::TempDir,
    backends: Backends,
    opts: DashboardOptions,
) -> (axum::Router, Arc<Dialer>, Arc<Tokens>) {
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let store = dialout_store::open(&url).expect("open the store");
    let dialer = Arc::new(Dialer::new(store, backends).with_default_region(Some("CZ".into())));
    let tokens = Arc::new(Tokens::default());
    {
        let mut t = tokens.0.lock().unwrap();
        t.insert(ALL.into(), Scopes::parse("read,send,admin"));
        t.insert(READ.into(), Scopes::parse("read"));
        t.insert("token-send-only".into(), Scopes::parse("send"));
    }
    let router = dialout_dashboard::router(dialer.clone(), tokens.clone(), opts);
    (router, dialer, tokens)
}

pub async fn start() -> Server {
    let (router, dialer, tokens, dir) = router_parts(DashboardOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server {
        addr,
        dialer,
        tokens,
        _dir: dir,
    }
}
