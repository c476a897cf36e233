//! A real local HTTP receiver for webhook tests: HTTP/1.1 with keep-alive, answering as its
//! mode says, keeping every request it read.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub enum Mode {
    /// 200 with a short body.
    Ok,
    /// This status, with a body of `body_len` bytes.
    Status(u16, usize),
    /// 200 after a pause.
    Slow(Duration),
    /// 302 to this location.
    Redirect(String),
    /// Reads the request and never answers.
    Hang,
    /// 200, counting the request without keeping it (benchmarks).
    Count,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Request {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

struct Inner {
    mode: Mode,
    requests: Vec<Request>,
    seen: usize,
}

pub struct Receiver {
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port nobody listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        Self::start_on(0, mode).await
    }

    pub async fn start_on(port: u16, mode: Mode) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Mutex::new(Inner {
            mode,
            requests: Vec::new(),
            seen: 0,
        }));
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Receiver { port, inner, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Requests read so far (kept or only counted).
    pub fn count(&self) -> usize {
        self.inner.lock().unwrap().seen
    }

    /// Waits until `n` requests came, or panics after `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.count() < n {
            assert!(
                start.elapsed() < limit,
                "the receiver got {} requests of {n} within {limit:?}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn serve(stream: TcpStream, inner: Arc<Mutex<Inner>>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut headers = HashMap::new();
        let mut line = String::new();
        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let mode = {
            let mut g = inner.lock().unwrap();
            g.seen += 1;
            if !matches!(g.mode, Mode::Count) {
                g.requests.push(Request {
                    headers,
                    body,
                    at: Instant::now(),
                });
            }
            g.mode.clone()
        };
        let (status, extra, text) = match mode {
            Mode::Ok | Mode::Count => (200, String::new(), "ok".to_string()),
            Mode::Status(s, n) => (s, String::new(), "x".repeat(n)),
            Mode::Slow(d) => {
                tokio::time::sleep(d).await;
                (200, String::new(), "ok".to_string())
            }
            Mode::Redirect(to) => (302, format!("Location: {to}\r\n"), String::new()),
            Mode::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
        };
        let answer = format!(
            "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}
