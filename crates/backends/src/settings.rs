//! `[backends.NAME]` typed: each kind's settings, and the backend built from them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

use dialout_model::config_error::{ConfigError, typed};
use dialout_model::hours::{CallingHours, hours_key};

use crate::ami::{Ami, AmiSettings, GroupSettings};
use crate::asterisk::{Asterisk, AsteriskSettings};
use crate::backend::Backend;
use crate::daktela::{Daktela, DaktelaSettings};
use crate::dummy::{Dummy, DummySettings};
use crate::file::{FileBackend, FileSettings};

/// Builds the backend configured as `[backends.NAME]`.
pub fn build(name: &str, config: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    Ok(match &config.settings {
        BackendSettings::Dummy(_) => Arc::new(Dummy::new(name)),
        BackendSettings::File(s) => Arc::new(FileBackend::from_settings(name, s)),
        BackendSettings::Asterisk(s) => Arc::new(Asterisk::from_settings(name, s)?),
        BackendSettings::Daktela(s) => Arc::new(Daktela::from_settings(name, s)?),
        BackendSettings::Ami(s) => Arc::new(Ami::from_settings(name, s)?),
        BackendSettings::Group(_) => {
            return Err(ConfigError::Invalid {
                key: format!("backends.{name}.kind"),
                reason: "a group is built with its members (Backends::from_config)".into(),
            });
        }
    })
}

/// `[backends.NAME]`: its `kind` and that kind's keys, typed ([`BackendSettings`]). Checks
/// beyond types (ranges, paths, the token's environment variable) run when the backend is
/// built, so that `dialout doctor` can report them as checks.
#[derive(Clone)]
pub struct BackendConfig {
    pub settings: BackendSettings,
    /// This backend's own content limit (`max_content_chars` in its table, any kind): a
    /// message for it may not be longer than this nor than the global limit.
    pub max_content_chars: Option<usize>,
    /// `[backends.NAME.calling_hours]` as written (checked when read): this backend's own
    /// calling hours, instead of `[delivery.calling_hours]`.
    pub calling_hours: Option<toml::Table>,
}

/// One variant per kind; each one's struct refuses keys it does not know.
///
/// Deserialized from a table with `kind` by [`BackendSettings::from_table`] rather than by
/// serde's `#[serde(tag = "kind")]`: an internally tagged enum buffers the table, and an
/// error inside it could then name neither the key nor the line.
#[derive(Debug, Clone)]
pub enum BackendSettings {
    Dummy(DummySettings),
    File(FileSettings),
    Asterisk(AsteriskSettings),
    Daktela(DaktelaSettings),
    Ami(AmiSettings),
    Group(GroupSettings),
}

pub const BACKEND_KINDS: [&str; 6] = ["dummy", "file", "asterisk", "daktela", "ami", "group"];

impl BackendSettings {
    /// Types `[backends.NAME]`; an error names the key (`backends.NAME.KEY`).
    pub fn from_table(name: &str, table: &toml::Table) -> Result<Self, ConfigError> {
        let kind = match table.get("kind") {
            Some(toml::Value::String(k)) => k.as_str(),
            Some(other) => {
                let reason = format!("expected a string, got {}", other.type_str());
                return Err(backend_key(name, "kind", reason));
            }
            None => {
                let reason = format!("missing (one of: {})", BACKEND_KINDS.join(", "));
                return Err(backend_key(name, "kind", reason));
            }
        };
        Ok(match kind {
            "dummy" => BackendSettings::Dummy(backend_keys(name, table)?),
            "file" => BackendSettings::File(backend_keys(name, table)?),
            "asterisk" => BackendSettings::Asterisk(backend_keys(name, table)?),
            "daktela" => BackendSettings::Daktela(backend_keys(name, table)?),
            "ami" => BackendSettings::Ami(backend_keys(name, table)?),
            "group" => BackendSettings::Group(backend_keys(name, table)?),
            other => {
                let known = BACKEND_KINDS.join(", ");
                let reason = format!("unknown backend kind {other:?} (known: {known})");
                return Err(backend_key(name, "kind", reason));
            }
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            BackendSettings::Dummy(_) => "dummy",
            BackendSettings::File(_) => "file",
            BackendSettings::Asterisk(_) => "asterisk",
            BackendSettings::Daktela(_) => "daktela",
            BackendSettings::Ami(_) => "ami",
            BackendSettings::Group(_) => "group",
        }
    }
}

impl BackendConfig {
    pub fn from_table(name: &str, table: &toml::Table) -> Result<Self, ConfigError> {
        // A key every kind takes, so it is read before the kind's own struct refuses it.
        let mut rest = table.clone();
        let max_content_chars = match rest.remove("max_content_chars") {
            None => None,
            Some(toml::Value::Integer(n)) if n >= 1 => usize::try_from(n).ok(),
            Some(_) => {
                let reason = "expected a whole number of characters, at least 1".to_string();
                return Err(backend_key(name, "max_content_chars", reason));
            }
        };
        let calling_hours = match rest.remove("calling_hours") {
            None => None,
            Some(toml::Value::Table(t)) => {
                CallingHours::from_table(&t, None)
                    .map_err(|(key, reason)| backend_key(name, &hours_key(&key), reason))?;
                Some(t)
            }
            Some(_) => {
                let reason = "expected a table such as { mon-fri = \"09:00-20:00\" }".into();
                return Err(backend_key(name, "calling_hours", reason));
            }
        };
        Ok(BackendConfig {
            settings: BackendSettings::from_table(name, &rest)?,
            max_content_chars,
            calling_hours,
        })
    }
}

/// The typed settings only: the raw table may hold an access token.
impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.fmt(f)
    }
}

/// One backend's keys typed as `T`, `kind` aside; an error names `backends.NAME.KEY`.
pub fn backend_keys<T: DeserializeOwned>(
    name: &str,
    table: &toml::Table,
) -> Result<T, ConfigError> {
    let mut rest = table.clone();
    rest.remove("kind");
    typed(toml::Value::Table(rest)).map_err(|(key, reason)| backend_key(name, &key, reason))
}

fn backend_key(name: &str, key: &str, reason: String) -> ConfigError {
    let dot = if key.is_empty() { "" } else { "." };
    ConfigError::Invalid {
        key: format!("backends.{name}{dot}{key}"),
        reason,
    }
}

/// `[backends]`, typed one backend at a time so that an error names `backends.NAME.KEY`;
/// TOML then adds the line of that backend's table.
pub fn named_backends<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BackendConfig>, D::Error> {
    struct Named(String);
    impl<'de> de::DeserializeSeed<'de> for Named {
        type Value = BackendConfig;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<BackendConfig, D::Error> {
            let table = toml::Table::deserialize(d)?;
            BackendConfig::from_table(&self.0, &table).map_err(|e| match e {
                ConfigError::Invalid { key, reason } => {
                    de::Error::custom(format!("{key}: {reason}"))
                }
                other => de::Error::custom(other),
            })
        }
    }
    struct ByName;
    impl<'de> Visitor<'de> for ByName {
        type Value = BTreeMap<String, BackendConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table of backends by name")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                let config = map.next_value_seed(Named(name.clone()))?;
                out.insert(name, config);
            }
            Ok(out)
        }
    }
    d.deserialize_map(ByName)
}
