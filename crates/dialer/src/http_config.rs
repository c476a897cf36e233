//! `[http]`: where `dialout serve` listens and what it exposes.

use serde::Deserialize;

/// Where `dialout serve` listens when neither `--listen` nor `DIALOUT_HTTP_LISTEN` says.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `HOST:PORT`; default 127.0.0.1:8080 (env `DIALOUT_HTTP_LISTEN`).
    pub listen: Option<String>,
    /// Serve `/metrics` (no token needed); default true.
    pub metrics: Option<bool>,
    /// Mark the dashboard's cookies `Secure`; default false. Set it when browsers reach
    /// dialout over HTTPS (a TLS proxy in front): they then never send the session over
    /// plain HTTP.
    pub secure_cookies: Option<bool>,
}

impl HttpConfig {
    pub fn listen(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_HTTP_LISTEN)
    }

    pub fn metrics(&self) -> bool {
        self.metrics.unwrap_or(true)
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or(false)
    }
}
