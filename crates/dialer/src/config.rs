//! Configuration: a TOML file (`dialout.toml`) with environment overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// With no configuration at all: an SQLite file in the current directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://dialout.db";
/// Read when present and no other file is named.
pub const DEFAULT_CONFIG_FILE: &str = "dialout.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://...`; default `sqlite://dialout.db`.
    pub database_url: Option<String>,
    /// Region for national numbers (`CZ`).
    pub default_region: Option<String>,
    /// The backend used when a message names none; default: the only configured one, or `dummy`.
    pub default_backend: Option<String>,
    /// pymess's batch sending: `send` only stores messages (WAITING); the worker publishes them.
    #[serde(default)]
    pub batch_sending: bool,
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
    #[error("invalid configuration {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("invalid configuration key {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl Config {
    /// Reads `path`, or `./dialout.toml` when it exists and no path is given, then applies
    /// the environment overrides (`DIALOUT_DATABASE_URL`, `DIALOUT_DEFAULT_REGION`,
    /// `DIALOUT_DEFAULT_BACKEND`) and checks the values.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let file: Option<PathBuf> = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut config = match &file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                Config::from_toml(&text, &p.display().to_string())?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        config.check()?;
        Ok(config)
    }

    /// Parses TOML text; an unknown key is an error naming it. `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            // The message and the line only: the offending line itself may hold a secret.
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            ConfigError::Parse {
                path: origin.to_string(),
                reason: format!("{}{at}", e.message().trim()),
            }
        })
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(v) = get("DIALOUT_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("DIALOUT_DEFAULT_REGION") {
            self.default_region = Some(v);
        }
        if let Some(v) = get("DIALOUT_DEFAULT_BACKEND") {
            self.default_backend = Some(v);
        }
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if let Some(region) = &self.default_region {
            // A valid number checked with the region proves the region is known.
            if let Err(crate::PhoneError::UnknownRegion(_)) =
                crate::PhoneNumber::parse("+420777123456", Some(region))
            {
                return Err(ConfigError::Invalid {
                    key: "default_region".into(),
                    reason: format!(
                        "unknown region {region:?}: expected an ISO 3166 code such as CZ or US"
                    ),
                });
            }
        }
        Ok(())
    }

    pub fn database_url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_and_values_not_echoed() {
        let err = Config::from_toml("databse_url = \"postgres://u:s3cret@h/db\"\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("databse_url"), "{err}");
        assert!(err.contains("line 1"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = Config::from_toml(
            "database_url = \"sqlite://a.db\"\ndefault_region = \"CZ\"\n",
            "x",
        )
        .unwrap();
        c.apply_env(|k| (k == "DIALOUT_DATABASE_URL").then(|| "sqlite://b.db".to_string()));
        assert_eq!(c.database_url(), "sqlite://b.db");
        assert_eq!(c.default_region.as_deref(), Some("CZ"));
        assert_eq!(Config::default().database_url(), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn bad_region_is_refused() {
        let c = Config::from_toml("default_region = \"XX\"\n", "x").unwrap();
        assert!(
            c.check()
                .unwrap_err()
                .to_string()
                .contains("default_region")
        );
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/dialout.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }
}
