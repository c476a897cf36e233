//! Load on `POST /v1/messages` (SQLite + Dummy, group commit on), beside the in-process
//! one-at-a-time `Dialer::send` rate measured in the same run on the same settings.
//!
//!     cargo run --release -p dialout-server --example http_load [-- N [RATE [SECS]]]
//!
//! 1. in-process: N sends one at a time (as `send_bench`'s "send, one at a time, published");
//! 2. HTTP, closed loop: 64 connections send N requests as fast as answered: requests/s and
//!    latency percentiles;
//! 3. HTTP, open loop: RATE requests/s (default 2,000) for SECS seconds (default 5) over 64
//!    connections; latency counted from each request's scheduled time, so that a stall shows.
//!
//! The server runs on a multi-threaded runtime as `dialout serve` does. The client is a lean
//! HTTP/1.1 keep-alive client on a thread and runtime of its own (as an external load
//! generator such as `wrk -t1` would be): prepared requests written whole, answers read by
//! their Content-Length. It still shares the machine's cores with the server. Each phase
//! also prints the process's CPU time per request (user + system, client included), which
//! other load on the machine changes less than the rates.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dialout_backends::{Backends, Dummy};
use dialout_dialer::{Dialer, Scope, SendRequest};
use dialout_store as store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 64;

fn recipient(i: usize) -> String {
    format!("+420777{:06}", i % 1_000_000)
}

fn dialer(path: &Path) -> Dialer {
    let url = format!("sqlite://{}", path.display());
    let store = store::open(&url).unwrap();
    Dialer::new(store, Backends::single(Arc::new(Dummy::new("dummy"))))
}

/// The whole request, head and body.
fn request(addr: SocketAddr, token: &str, i: usize) -> Vec<u8> {
    let body = format!(
        "{{\"recipient\":\"{}\",\"content\":\"Your order has shipped\",\"related\":[\"order:{i}\"]}}",
        recipient(i)
    );
    format!(
        "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// User + system CPU time of the whole process so far.
fn cpu() -> Duration {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF always exists.
    let u = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()), 0);
        u.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` and reads the whole answer; its status.
    async fn send(&mut self, request: &[u8]) -> u16 {
        self.stream.write_all(request).await.unwrap();
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end]).unwrap();
                let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length").then(|| v.trim())
                    })
                    .expect("answers carry a content-length")
                    .parse()
                    .unwrap();
                let total = end + 4 + length;
                while self.buf.len() < total {
                    self.read().await;
                }
                self.buf.drain(..total);
                return status;
            }
            self.read().await;
        }
    }

    async fn read(&mut self) {
        let n = self.stream.read_buf(&mut self.buf).await.unwrap();
        assert!(n > 0, "the server closed the connection");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, took: Duration, cpu: Duration, mut lat: Vec<Duration>) -> f64 {
    lat.sort();
    let rate = lat.len() as f64 / took.as_secs_f64();
    println!(
        "{name:<44} {rate:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  CPU {:.0} µs/req  ({} requests)",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        cpu.as_secs_f64() * 1e6 / lat.len() as f64,
        lat.len()
    );
    rate
}

/// Runs `load` on the client's own thread and current-thread runtime.
fn client<T: Send + 'static>(load: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(load)
    })
    .join()
    .unwrap()
}

/// N requests over 64 connections, each sent as soon as its connection's last one was answered.
async fn closed_loop(addr: SocketAddr, token: String, n: usize) -> Vec<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (next, token) = (Arc::clone(&next), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                let req = request(addr, &token, i);
                let t = Instant::now();
                assert_eq!(conn.send(&req).await, 201);
                lat.push(t.elapsed());
            }
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat
}

/// `total` requests at `rate` per second, spread over 64 connections; latency from each
/// request's scheduled time.
async fn open_loop(
    addr: SocketAddr,
    token: String,
    first: usize,
    total: usize,
    rate: f64,
) -> (Duration, Vec<Duration>) {
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut lat = Vec::new();
            let mut k = c;
            while k < total {
                let req = request(addr, &token, first + k);
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                tokio::time::sleep_until(due).await;
                assert_eq!(conn.send(&req).await, 201);
                lat.push(due.elapsed());
                k += CONNECTIONS;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    (start.elapsed(), lat)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(20_000, |a| a.parse().unwrap());
    let rate: f64 = args.get(1).map_or(2_000.0, |a| a.parse().unwrap());
    let secs: f64 = args.get(2).map_or(5.0, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // 1. In process, one at a time.
    let d = dialer(&dir.path().join("inproc.db"));
    let (start, cpu0) = (Instant::now(), cpu());
    rt.block_on(async {
        for i in 0..n {
            let mut r = SendRequest::new(recipient(i), "Your order has shipped");
            r.options.related = vec![format!("order:{i}")];
            d.send(r).await.unwrap();
        }
    });
    let inproc = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{:<44} {inproc:>9.0} msg/s  CPU {:.0} µs/msg",
        "in-process send, one at a time, published",
        (cpu() - cpu0).as_secs_f64() * 1e6 / n as f64
    );

    // The server, with group commit.
    let d = Arc::new(dialer(&dir.path().join("http.db")).with_group_commit());
    let (addr, token) = rt.block_on(async {
        let token = d.create_token("load", &[Scope::Send]).await.unwrap().secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = dialout_server::router(Arc::clone(&d), Default::default());
        tokio::spawn(dialout_server::serve(listener, app, std::future::pending()));
        (addr, token)
    });

    // 2. Closed loop.
    let (start, cpu0) = (Instant::now(), cpu());
    let lat = client(closed_loop(addr, token.clone(), n));
    let closed = report(
        "HTTP, 64 connections, as fast as answered",
        start.elapsed(),
        cpu() - cpu0,
        lat,
    );

    // 3. Open loop at `rate`.
    let total = (rate * secs) as usize;
    let cpu0 = cpu();
    let (took, lat) = client(open_loop(addr, token, n, total, rate));
    report(
        &format!("HTTP, 64 connections, {rate:.0} req/s offered"),
        took,
        cpu() - cpu0,
        lat,
    );
    println!(
        "HTTP closed loop / in-process one at a time: {:.2} x (goal >= 1.0, floor 0.5)",
        closed / inproc
    );
}
