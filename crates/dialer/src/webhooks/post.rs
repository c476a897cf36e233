//! One signed POST to a receiver, and what its answer means.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};

use super::signing::sign;
use dialout_store::webhooks::{RESPONSE_LIMIT, truncate_response};

/// The HTTP client every delivery uses: no redirects (a signed event goes where its endpoint
/// says, nowhere else), a whole-request timeout.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    // As for the Daktela client: ring as the process's rustls provider unless one is set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// What a receiver answered.
#[derive(Debug)]
pub(crate) enum Answer {
    /// An HTTP status and the start of the body.
    Status(u16, String),
    /// No answer: refused, reset, timed out. Words without the URL.
    NoAnswer(String),
}

pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    key: &[u8],
    event_id: &str,
    body: Vec<u8>,
) -> Answer {
    let timestamp = Timestamp::now().as_second();
    let signature = sign(key, event_id, timestamp, &body);
    let mut sig = match HeaderValue::from_str(&signature) {
        Ok(v) => v,
        Err(e) => return Answer::NoAnswer(format!("cannot sign: {e}")),
    };
    sig.set_sensitive(true);
    let request = http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("dialout/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sig)
        .body(body);
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Answer::NoAnswer(describe(&e)),
    };
    let status = response.status().as_u16();
    // Only the start of the body is kept: a receiver cannot make us hold a large answer.
    let mut kept = Vec::new();
    while kept.len() < RESPONSE_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(RESPONSE_LIMIT + 4);
    Answer::Status(status, truncate_response(&String::from_utf8_lossy(&kept)))
}

fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}
