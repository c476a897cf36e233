//! Prometheus text metrics, kept in memory: a few counters and one histogram need no
//! metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the send latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (route, method, status) → count.
    http: BTreeMap<(String, String, u16), u64>,
    /// (backend, state) → messages sent through the API.
    sent: BTreeMap<(String, String), u64>,
    /// backend → messages the backend failed.
    backend_errors: BTreeMap<String, u64>,
    latency_buckets: [u64; BUCKETS.len()],
    latency_sum: f64,
    latency_count: u64,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn request(&self, route: &str, method: &str, status: u16) {
        self.with(|m| {
            *m.http
                .entry((route.to_string(), method.to_string(), status))
                .or_default() += 1
        });
    }

    /// A message stored and published (or queued) by the API, and how long that took.
    pub fn sent(&self, backend: &str, state: &str, failed: bool, took: Duration) {
        self.with(|m| {
            *m.sent
                .entry((backend.to_string(), state.to_string()))
                .or_default() += 1;
            if failed {
                *m.backend_errors.entry(backend.to_string()).or_default() += 1;
            }
            let secs = took.as_secs_f64();
            for (i, le) in BUCKETS.iter().enumerate() {
                if secs <= *le {
                    m.latency_buckets[i] += 1;
                }
            }
            m.latency_sum += secs;
            m.latency_count += 1;
        });
    }

    /// The text exposition format; `queue_depth` is read by the caller from the store.
    pub fn render(&self, queue_depth: Option<usize>) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str("# HELP dialout_http_requests_total HTTP requests by route, method and status.\n");
            out.push_str("# TYPE dialout_http_requests_total counter\n");
            for ((route, method, status), n) in &m.http {
                let _ = writeln!(
                    out,
                    "dialout_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    esc(route),
                    esc(method)
                );
            }
            out.push_str("# HELP dialout_messages_sent_total Messages sent through the API by backend and state after publishing.\n");
            out.push_str("# TYPE dialout_messages_sent_total counter\n");
            for ((backend, state), n) in &m.sent {
                let _ = writeln!(
                    out,
                    "dialout_messages_sent_total{{backend=\"{}\",state=\"{}\"}} {n}",
                    esc(backend),
                    esc(state)
                );
            }
            out.push_str("# HELP dialout_backend_errors_total Messages a backend failed when the API published them.\n");
            out.push_str("# TYPE dialout_backend_errors_total counter\n");
            for (backend, n) in &m.backend_errors {
                let _ = writeln!(
                    out,
                    "dialout_backend_errors_total{{backend=\"{}\"}} {n}",
                    esc(backend)
                );
            }
            out.push_str("# HELP dialout_publish_seconds Time to store and publish a message sent through the API.\n");
            out.push_str("# TYPE dialout_publish_seconds histogram\n");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "dialout_publish_seconds_bucket{{le=\"{le}\"}} {}",
                    m.latency_buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "dialout_publish_seconds_bucket{{le=\"+Inf\"}} {}",
                m.latency_count
            );
            let _ = writeln!(out, "dialout_publish_seconds_sum {}", m.latency_sum);
            let _ = writeln!(out, "dialout_publish_seconds_count {}", m.latency_count);
        });
        if let Some(depth) = queue_depth {
            out.push_str("# HELP dialout_queue_depth Messages waiting to be published.\n");
            out.push_str("# TYPE dialout_queue_depth gauge\n");
            let _ = writeln!(out, "dialout_queue_depth {depth}");
        }
        out
    }
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
