//! What is wrong with a configuration: the one error type every layer's settings report.

use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("invalid configuration {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("invalid configuration key {key}: {reason}")]
    Invalid { key: String, reason: String },
}

/// Deserializes `T` from a TOML value. An error is `(key path, reason)`; the reason is
/// serde's message, which for a secret (a secret type) never
/// quotes the value.
pub fn typed<T: DeserializeOwned>(value: toml::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut key = e.path().to_string();
        if key == "." {
            key.clear();
        }
        let reason = e.inner().message().trim().to_string();
        (key, reason)
    })
}
