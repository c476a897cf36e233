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
//! Client and server share this process and the machine's cores.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialout_dialer::backends::{Backends, Dummy};
use dialout_dialer::{Dialer, Scope, SendRequest, store};

const CONNECTIONS: usize = 64;

fn recipient(i: usize) -> String {
    format!("+420777{:06}", i % 1_000_000)
}

fn dialer(path: &Path) -> Dialer {
    let url = format!("sqlite://{}", path.display());
    let store = store::open(&url).unwrap();
    Dialer::new(store, Backends::single(Arc::new(Dummy::new("dummy"))))
}

fn body(i: usize) -> Vec<u8> {
    format!(
        "{{\"recipient\":\"{}\",\"content\":\"Your order has shipped\",\"related\":[\"order:{i}\"]}}",
        recipient(i)
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, took: Duration, mut lat: Vec<Duration>) -> f64 {
    lat.sort();
    let rate = lat.len() as f64 / took.as_secs_f64();
    println!(
        "{name:<44} {rate:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} requests)",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        lat.len()
    );
    rate
}

async fn post(http: &reqwest::Client, url: &str, token: &str, i: usize) {
    let r = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body(i))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
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
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let mut r = SendRequest::new(recipient(i), "Your order has shipped");
            r.options.related = vec![format!("order:{i}")];
            d.send(r).await.unwrap();
        }
    });
    let inproc = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{:<44} {inproc:>9.0} msg/s",
        "in-process send, one at a time, published"
    );

    // The server, with group commit.
    let d = Arc::new(dialer(&dir.path().join("http.db")).with_group_commit());
    let (url, token) = rt.block_on(async {
        let token = d.create_token("load", &[Scope::Send]).await.unwrap().secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/messages", listener.local_addr().unwrap());
        let app = dialout_server::router(Arc::clone(&d), Default::default());
        tokio::spawn(dialout_server::serve(listener, app, std::future::pending()));
        (url, token)
    });
    let _ = rustls::crypto::ring::default_provider().install_default();

    // 2. Closed loop.
    let (took, lat) = rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let (next, url, token) = (Arc::clone(&next), url.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return lat;
                    }
                    let t = Instant::now();
                    post(&http, &url, &token, i).await;
                    lat.push(t.elapsed());
                }
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        (start.elapsed(), lat)
    });
    let closed = report("HTTP, 64 connections, as fast as answered", took, lat);

    // 3. Open loop at `rate`.
    let total = (rate * secs) as usize;
    let (took, lat) = rt.block_on(async {
        let start = tokio::time::Instant::now() + Duration::from_millis(100);
        let mut tasks = Vec::new();
        for c in 0..CONNECTIONS {
            let (url, token) = (url.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut lat = Vec::new();
                let mut k = c;
                while k < total {
                    let due = start + Duration::from_secs_f64(k as f64 / rate);
                    tokio::time::sleep_until(due).await;
                    post(&http, &url, &token, n + k).await;
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
    });
    report(
        &format!("HTTP, 64 connections, {rate:.0} req/s offered"),
        took,
        lat,
    );
    println!(
        "HTTP closed loop / in-process one at a time: {:.2} x (goal >= 1.0, floor 0.5)",
        closed / inproc
    );
}
