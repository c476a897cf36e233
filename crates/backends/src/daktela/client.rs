//! HTTP to Daktela's campaign records: the token only ever in the `X-AUTH-TOKEN` header,
//! requests within the configured concurrency and rate, every failure classified.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::config::DaktelaConfig;
use crate::shared::secret::Secret;

pub const TOKEN_HEADER: &str = "X-AUTH-TOKEN";
/// What stands in for the token wherever it might have slipped into a text.
pub const REDACTED: &str = "[redacted]";
const MAX_ERROR_CHARS: usize = 400;

/// A failed request, already in the words a message or an operator should see.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Daktela answered with its own error: permanent for this record.
    #[error("{0}")]
    Refused(String),
    /// 401/403: the token is wrong or lacks rights; nothing will work until it is fixed.
    #[error("{0}")]
    Unauthorized(String),
    /// May work later. `ambiguous`: the request may have been acted on.
    #[error("{reason}")]
    Transient { reason: String, ambiguous: bool },
}

/// One page of a list query.
#[derive(Debug, Clone)]
pub struct Page {
    pub data: Vec<Value>,
}

pub struct Client {
    http: reqwest::Client,
    /// The collection URL without `.json`.
    base: String,
    token: HeaderValue,
    secret: Secret,
    permits: Semaphore,
    pacing: Option<(Mutex<Instant>, Duration)>,
}

impl Client {
    pub fn new(config: &DaktelaConfig) -> Result<Self, String> {
        // reqwest is built on rustls without a default crypto provider (the default one is a
        // long C build): ring is installed as the process default, unless one already is.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // No redirects: the token header would follow them to wherever they point.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let mut token = HeaderValue::from_str(config.access_token.expose())
            .map_err(|_| "access_token is not a valid header value".to_string())?;
        // Keeps it out of reqwest's and hyper's debug output.
        token.set_sensitive(true);
        let pacing = config.requests_per_second.map(|rps| {
            (
                Mutex::new(Instant::now()),
                Duration::from_secs_f64(1.0 / rps),
            )
        });
        Ok(Client {
            http,
            base: config.url.clone(),
            token,
            secret: config.access_token.clone(),
            permits: Semaphore::new(config.max_concurrent_requests),
            pacing,
        })
    }

    /// `POST {base}.json`: creates a record, returns it. `refused` is shared by a batch:
    /// once the token was refused, requests still waiting for a slot are not sent.
    pub async fn create(
        &self,
        body: &Value,
        refused: Option<&OnceLock<String>>,
    ) -> Result<Value, ApiError> {
        let url = self.url(".json", &[])?;
        let out = self
            .request(Method::POST, url, Some(body), true, refused)
            .await;
        if let (Err(ApiError::Unauthorized(reason)), Some(r)) = (&out, refused) {
            let _ = r.set(reason.clone());
        }
        out
    }

    /// `GET {base}.json?params`: one page of records.
    pub async fn list(&self, params: &[(String, String)]) -> Result<Page, ApiError> {
        let url = self.url(".json", params)?;
        let result = self.request(Method::GET, url, None, false, None).await?;
        let data = result
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| ApiError::Transient {
                reason: "Daktela's list response has no `data` array".into(),
                ambiguous: false,
            })?;
        Ok(Page { data })
    }

    fn url(&self, suffix: &str, params: &[(String, String)]) -> Result<Url, ApiError> {
        let mut url =
            Url::parse(&format!("{}{suffix}", self.base)).map_err(|e| ApiError::Transient {
                reason: format!("bad Daktela URL: {e}"),
                ambiguous: false,
            })?;
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        Ok(url)
    }

    /// Waits for a free slot (concurrency) and the next tick (rate), then sends.
    async fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        acts: bool,
        refused: Option<&OnceLock<String>>,
    ) -> Result<Value, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Transient {
                reason: "the Daktela client is shutting down".into(),
                ambiguous: false,
            })?;
        if let Some((next, interval)) = &self.pacing {
            let slot = {
                let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                let slot = (*next).max(Instant::now());
                *next = slot + *interval;
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
        if let Some(reason) = refused.and_then(OnceLock::get) {
            return Err(ApiError::Unauthorized(format!(
                "{reason} (not sent: the token was refused in this batch)"
            )));
        }
        let started = std::time::Instant::now();
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header(TOKEN_HEADER, self.token.clone());
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let outcome = self.exchange(req, acts).await;
        let ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Ok(_) => tracing::debug!(%method, path = url.path(), ms, "daktela request done"),
            Err(e) => {
                tracing::debug!(%method, path = url.path(), ms, error = %e, "daktela request failed")
            }
        }
        outcome
    }

    async fn exchange(&self, req: reqwest::RequestBuilder, acts: bool) -> Result<Value, ApiError> {
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(&e, acts))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| self.transport_error(&e, acts))?;
        self.interpret(status, &text, acts)
    }

    fn transport_error(&self, e: &reqwest::Error, acts: bool) -> ApiError {
        let (what, ambiguous) = if e.is_timeout() {
            ("timed out", acts)
        } else if e.is_connect() {
            ("could not connect", false)
        } else {
            ("failed", acts)
        };
        // reqwest's text holds the URL, which never carries the token; scrubbed anyway.
        let detail = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        ApiError::Transient {
            reason: self.scrub(&format!("Daktela request {what}: {detail}")),
            ambiguous,
        }
    }

    /// Reads Daktela's `{"error": ..., "result": ...}` and the HTTP status together.
    fn interpret(&self, status: StatusCode, text: &str, acts: bool) -> Result<Value, ApiError> {
        let code = status.as_u16();
        let json: Option<Value> = serde_json::from_str(text).ok().filter(Value::is_object);
        let words = json.as_ref().and_then(|j| error_words(j.get("error")?));
        let said = |prefix: String| match &words {
            Some(w) => self.scrub(&format!("{prefix}: {w}")),
            None => self.scrub(&prefix),
        };
        if code == 401 || code == 403 {
            return Err(ApiError::Unauthorized(said(format!(
                "Daktela refused the access token (HTTP {code})"
            ))));
        }
        if status.is_redirection() {
            return Err(ApiError::Transient {
                reason: format!(
                    "Daktela answered with a redirect (HTTP {code}), which is not followed: check the configured url"
                ),
                ambiguous: false,
            });
        }
        if code == 404 || code == 405 {
            // The collection itself is missing: a configuration problem, not this record's.
            return Err(ApiError::Transient {
                reason: said(format!(
                    "Daktela has no such endpoint (HTTP {code}): check the configured url"
                )),
                ambiguous: false,
            });
        }
        if code == 429 || code == 408 {
            return Err(ApiError::Transient {
                reason: said(format!("Daktela is throttling (HTTP {code})")),
                ambiguous: false,
            });
        }
        if status.is_server_error() {
            let mut reason = said(format!("Daktela server error (HTTP {code})"));
            if json.is_none() {
                reason = format!("{reason}: {}", self.scrub(&snippet(text)));
            }
            return Err(ApiError::Transient {
                reason,
                ambiguous: acts,
            });
        }
        let Some(json) = json else {
            return Err(ApiError::Transient {
                reason: self.scrub(&format!(
                    "Daktela answered HTTP {code} with a body that is not a JSON object: {}",
                    snippet(text)
                )),
                ambiguous: acts && status.is_success(),
            });
        };
        if words.is_some() || !status.is_success() {
            return Err(ApiError::Refused(said(format!(
                "Daktela refused the request (HTTP {code})"
            ))));
        }
        match json.get("result") {
            Some(r) if !r.is_null() => Ok(r.clone()),
            _ => Err(ApiError::Transient {
                reason: format!("Daktela answered HTTP {code} with neither a result nor an error"),
                ambiguous: acts,
            }),
        }
    }

    /// Removes the token from a text that came from elsewhere (an error, a body).
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secret)
    }
}

pub fn scrub(text: &str, secret: &Secret) -> String {
    let t = secret.expose();
    if t.is_empty() {
        text.to_string()
    } else {
        text.replace(t, REDACTED)
    }
}

/// Daktela's error as one line: a list of texts, or an object of field → texts.
pub fn error_words(error: &Value) -> Option<String> {
    let out = match error {
        Value::Null => return None,
        Value::String(s) => s.trim().to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(error_words)
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(fields) => fields
            .iter()
            .filter_map(|(k, v)| error_words(v).map(|w| format!("{k}: {w}")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    (!out.is_empty()).then_some(out)
}

fn snippet(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > MAX_ERROR_CHARS {
        format!(
            "{}…",
            flat.chars().take(MAX_ERROR_CHARS).collect::<String>()
        )
    } else if flat.is_empty() {
        "(empty)".into()
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_words_keep_daktelas_text() {
        assert_eq!(
            error_words(&json!(["Invalid number"])).unwrap(),
            "Invalid number"
        );
        assert_eq!(
            error_words(&json!({"number": ["Invalid number"], "record_type": ["Not found", "x"]}))
                .unwrap(),
            "number: Invalid number; record_type: Not found; x"
        );
        assert_eq!(error_words(&json!([])), None);
        assert_eq!(error_words(&json!({})), None);
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let s = Secret::new("abc123");
        assert_eq!(
            scrub("x abc123 y ?accessToken=abc123", &s),
            "x [redacted] y ?accessToken=[redacted]"
        );
    }
}
