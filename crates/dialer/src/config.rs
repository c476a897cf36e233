//! Configuration: a TOML file (`dialout.toml`) with environment overrides.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://...`; default `sqlite://dialout.db`.
    pub database_url: Option<String>,
    /// Region for national numbers (`CZ`).
    pub default_region: Option<String>,
    /// The backend used when a message names none; default: the only configured one, or `dummy`.
    pub default_backend: Option<String>,
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    /// Delivery settings (retries, worker, status checks, routing, allowlist).
    #[serde(default)]
    pub delivery: toml::Table,
}

/// `[backends.NAME]`: a kind and that kind's own keys.
#[derive(Debug, Clone, Deserialize)]
pub struct BackendConfig {
    pub kind: String,
    #[serde(flatten)]
    pub options: toml::Table,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("invalid configuration key {key}: {reason}")]
    Invalid { key: String, reason: String },
}
