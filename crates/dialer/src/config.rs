//! Configuration: a TOML file (`dialout.toml`) with environment overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use std::sync::Arc;

use dialout_backends::registry::Backends;
use dialout_backends::settings::{BackendConfig, named_backends};
use dialout_model::hours::{CallingHours, hours_key};

use crate::delivery::channels::Channels;
use crate::delivery::settings::DeliverySettings;
use dialout_model::config_error::ConfigError;

use crate::http_config::HttpConfig;

/// With no configuration at all: an SQLite file in the current directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://dialout.db";
/// Content longer than this is refused unless `max_content_chars` says otherwise: about
/// three minutes read aloud.
pub const DEFAULT_MAX_CONTENT_CHARS: usize = 2_000;
/// Read when present and no other file is named.
pub const DEFAULT_CONFIG_FILE: &str = "dialout.toml";
/// Names the configuration file when none is given.
pub const CONFIG_ENV: &str = "DIALOUT_CONFIG";

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
    /// Longer content is refused at send (default 2,000 characters).
    pub max_content_chars: Option<usize>,
    #[serde(default, deserialize_with = "named_backends")]
    pub backends: BTreeMap<String, BackendConfig>,
    /// Delivery settings (retries, worker, status checks, routing, allowlist).
    #[serde(default)]
    pub delivery: crate::delivery::DeliveryConfig,
    /// `[http]`: the HTTP API (`dialout serve`).
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub webhooks: crate::webhooks::WebhookConfig,
    /// `[retention]`: how long personal data is kept (off by default).
    #[serde(default)]
    pub retention: crate::retention::RetentionConfig,
}

impl Config {
    /// The backends as delivery uses them: `[backends]` with `[delivery]`; with no `[backends]` at all, one Dummy backend named
    /// `dummy` is the default.
    pub fn channels(&self) -> Result<Channels, ConfigError> {
        let config = self;
        let backends =
            Backends::from_settings(&config.backends, config.default_backend.as_deref())?;
        let mut delivery =
            DeliverySettings::new(&config.delivery, config.default_region.as_deref())?;
        delivery.queued = config.batch_sending;
        backend_hours(&mut delivery, &config.backends)?;
        Channels::from(backends).with_delivery(delivery)
    }

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

    /// What every front end (the CLI, the Python package) opens: the file named by `path`,
    /// else `DIALOUT_CONFIG`, else `./dialout.toml` when present; then the environment; then
    /// `database_url` when given, over everything else.
    pub fn resolve(path: Option<&Path>, database_url: Option<&str>) -> Result<Config, ConfigError> {
        let from_env = std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let mut config = Config::load(path.or(from_env.as_deref()))?;
        if let Some(url) = database_url {
            config.database_url = Some(url.to_string());
        }
        Ok(config)
    }

    /// Parses TOML text; an error names the key and its line. `origin` names the file.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        // The message and the line only: the offending line itself may hold a secret.
        let at = |e: &toml::de::Error| {
            e.span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default()
        };
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            reason: format!("{}{}", e.message().trim(), at(&e)),
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let (path, e) = (e.path().to_string(), e.into_inner());
            let (message, at) = (e.message().trim(), at(&e));
            // A backend's error already names its key (`backends.NAME.KEY: ...`).
            let reason = if path == "." || message.starts_with(&format!("{path}.")) {
                format!("{message}{at}")
            } else {
                format!("{path}: {message}{at}")
            };
            ConfigError::Parse {
                path: origin.to_string(),
                reason,
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
        if let Some(v) = get("DIALOUT_HTTP_LISTEN") {
            self.http.listen = Some(v);
        }
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        crate::retention::RetentionSettings::new(&self.retention)?;
        if let Some(region) = &self.default_region {
            // A valid number checked with the region proves the region is known.
            if let Err(dialout_model::phone::PhoneError::UnknownRegion(_)) =
                dialout_model::phone::PhoneNumber::parse("+420777123456", Some(region))
            {
                return Err(ConfigError::Invalid {
                    key: "default_region".into(),
                    reason: format!(
                        "unknown region {region:?}: expected an ISO 3166 code such as CZ or US"
                    ),
                });
            }
        }
        if self.max_content_chars == Some(0) {
            return Err(ConfigError::Invalid {
                key: "max_content_chars".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    pub fn max_content_chars(&self) -> usize {
        self.max_content_chars.unwrap_or(DEFAULT_MAX_CONTENT_CHARS)
    }

    pub fn database_url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)
    }

    /// The SQLite file the database URL names (relative to the current directory when the
    /// URL is); None for PostgreSQL.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        dialout_store::open::sqlite_path(self.database_url())
    }
}

/// `[backends.NAME.calling_hours]`: a backend's own calling hours, whose default time zone is
/// inherited from `[delivery.calling_hours]`.
fn backend_hours(
    delivery: &mut DeliverySettings,
    backends: &BTreeMap<String, BackendConfig>,
) -> Result<(), ConfigError> {
    let inherited = delivery.calling_hours.as_ref();
    let inherited = inherited.and_then(|h| h.default_time_zone().map(str::to_string));
    for (name, bc) in backends {
        if let Some(t) = &bc.calling_hours {
            let hours =
                CallingHours::from_table(t, inherited.as_deref()).map_err(|(key, reason)| {
                    ConfigError::Invalid {
                        key: format!("backends.{name}.{}", hours_key(&key)),
                        reason,
                    }
                })?;
            delivery
                .backend_calling_hours
                .insert(name.clone(), Arc::new(hours));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_backends::settings::BackendSettings;

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
    fn backends_are_typed_and_errors_name_key_and_line() {
        let c = Config::from_toml(
            "[backends.a]\nkind = \"dummy\"\n[backends.f]\nkind = \"file\"\ndir = \"/tmp/x\"\n",
            "x",
        )
        .unwrap();
        assert!(matches!(
            c.backends["a"].settings,
            BackendSettings::Dummy(_)
        ));
        assert!(matches!(c.backends["f"].settings, BackendSettings::File(_)));
        for (text, key, line) in [
            (
                "[backends.a]\nkind = \"dummy\"\ncolour = 1\n",
                "backends.a.colour",
                1,
            ),
            ("x = 1\n", "x", 1),
            ("a = 1\nx = \n", "string values must be quoted", 2),
            ("[delivery]\nlease = \"soon\"\n", "delivery.lease", 2),
            (
                "\n[delivery]\nretry_jitter = \"x\"\n",
                "delivery.retry_jitter",
                3,
            ),
            ("[delivery]\nleese = \"1s\"\n", "delivery.leese", 2),
            ("\n[backends.b]\nkind = \"fax\"\n", "backends.b.kind", 2),
            ("[backends.b]\ndir = \"/x\"\n", "backends.b.kind", 1),
            (
                "[backends.p]\nkind = \"asterisk\"\nwait_time = \"soon\"\n",
                "backends.p.wait_time",
                1,
            ),
            (
                "[backends.d]\nkind = \"daktela\"\nurl = \"https://x\"\naccess_token = 123456789\n",
                "backends.d.access_token",
                1,
            ),
        ] {
            let err = Config::from_toml(text, "x.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
            assert!(err.contains(&format!("line {line}")), "{text}: {err}");
            assert!(!err.contains("123456789"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_raw_table() {
        let c = Config::from_toml(
            "[backends.d]\nkind = \"daktela\"\nurl = \"https://x\"\naccess_token = \"s3cret\"\n",
            "x",
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
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
