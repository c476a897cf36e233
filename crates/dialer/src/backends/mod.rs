//! The backends, one file each, and the registry built from configuration.

pub mod ami;
pub mod asterisk;
pub mod daktela;
mod dummy;
mod file;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use ami::{Ami, Group};
pub use asterisk::Asterisk;
pub use daktela::Daktela;
pub use dummy::{Dummy, DummySettings};
pub use file::{FileBackend, FileSettings};

use crate::PhoneNumber;
use crate::backend::Backend;
use crate::config::{BackendConfig, BackendSettings, Config, ConfigError};
use crate::delivery::{DeliverySettings, Router, UnknownBackend};

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

/// The configured backends by name, which one is the default, and the delivery settings
/// (`[delivery]`: retries, routing, allowlist) that govern handing messages to them.
#[derive(Clone)]
pub struct Backends {
    by_name: BTreeMap<String, Arc<dyn Backend>>,
    default: String,
    delivery: Arc<DeliverySettings>,
    router: Router,
    /// `max_content_chars` of the backends that set their own.
    content_limits: BTreeMap<String, usize>,
}

impl Backends {
    /// With no `[backends]` at all, one Dummy backend named `dummy` is the default.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let mut by_name = BTreeMap::new();
        let mut content_limits = BTreeMap::new();
        // AMI backends are kept by type too: a group places its calls through them.
        let mut amis = BTreeMap::new();
        for (name, bc) in &config.backends {
            let backend: Arc<dyn Backend> = match &bc.settings {
                BackendSettings::Group(_) => continue,
                BackendSettings::Ami(s) => {
                    let a = Arc::new(Ami::from_settings(name, s)?);
                    amis.insert(name.clone(), a.clone());
                    a
                }
                _ => build(name, bc)?,
            };
            by_name.insert(name.clone(), backend);
            if let Some(n) = bc.max_content_chars {
                content_limits.insert(name.clone(), n);
            }
        }
        for (name, bc) in &config.backends {
            if let BackendSettings::Group(s) = &bc.settings {
                by_name.insert(name.clone(), Arc::new(Group::new(name, s, &amis)?));
                if let Some(n) = bc.max_content_chars {
                    content_limits.insert(name.clone(), n);
                }
            }
        }
        if by_name.is_empty() {
            by_name.insert(
                "dummy".to_string(),
                Arc::new(Dummy::new("dummy")) as Arc<dyn Backend>,
            );
        }
        let default = match &config.default_backend {
            Some(d) if by_name.contains_key(d) => d.clone(),
            Some(d) => {
                return Err(ConfigError::Invalid {
                    key: "default_backend".into(),
                    reason: format!("no backend named {d:?} is configured"),
                });
            }
            None if by_name.len() == 1 => by_name.keys().next().cloned().unwrap_or_default(),
            None => {
                return Err(ConfigError::Invalid {
                    key: "default_backend".into(),
                    reason: "several backends are configured: say which one is the default".into(),
                });
            }
        };
        let b = Backends {
            by_name,
            default,
            delivery: Arc::default(),
            router: Router::default(),
            content_limits,
        };
        let mut delivery =
            DeliverySettings::new(&config.delivery, config.default_region.as_deref())?;
        delivery.queued = config.batch_sending;
        let inherited = delivery.calling_hours.as_ref();
        let inherited = inherited.and_then(|h| h.default_time_zone().map(str::to_string));
        for (name, bc) in &config.backends {
            if let Some(t) = &bc.calling_hours {
                let hours = crate::hours::CallingHours::from_table(t, inherited.as_deref())
                    .map_err(|(key, reason)| ConfigError::Invalid {
                        key: format!("backends.{name}.{}", crate::delivery::hours_key(&key)),
                        reason,
                    })?;
                delivery
                    .backend_calling_hours
                    .insert(name.clone(), Arc::new(hours));
            }
        }
        b.with_delivery(delivery)
    }

    /// Replaces the delivery settings; routes must name configured backends.
    pub fn with_delivery(mut self, settings: DeliverySettings) -> Result<Self, ConfigError> {
        self.router = Router::new(&settings.routes, &self)?;
        self.delivery = Arc::new(settings);
        Ok(self)
    }

    /// The same backends claiming `n` messages at a time (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        let mut settings = DeliverySettings::clone(&self.delivery);
        settings.batch_size = n.max(1);
        self.delivery = Arc::new(settings);
        self
    }

    pub fn delivery(&self) -> &DeliverySettings {
        &self.delivery
    }

    /// The backend for a new message: the one the sender named (it must exist), else the
    /// longest matching route (`[delivery.routes]`), else the default.
    pub fn route(
        &self,
        number: &PhoneNumber,
        named: Option<&str>,
    ) -> Result<String, UnknownBackend> {
        self.router.pick(number, named, self)
    }

    /// Registers a backend built in code (tests, embedding applications).
    pub fn with(mut self, backend: Arc<dyn Backend>) -> Self {
        self.by_name.insert(backend.name().to_string(), backend);
        self
    }

    /// No backend at all: for a `Dialer` that reads and edits stored data and sends nothing.
    pub fn none() -> Self {
        Backends {
            by_name: BTreeMap::new(),
            default: String::new(),
            delivery: Arc::default(),
            router: Router::default(),
            content_limits: BTreeMap::new(),
        }
    }

    pub fn single(backend: Arc<dyn Backend>) -> Self {
        let default = backend.name().to_string();
        Backends {
            by_name: BTreeMap::from([(default.clone(), backend)]),
            default,
            delivery: Arc::default(),
            router: Router::default(),
            content_limits: BTreeMap::new(),
        }
    }

    /// The content limit a backend set for itself (`[backends.NAME] max_content_chars`).
    pub fn content_limit(&self, name: &str) -> Option<usize> {
        self.content_limits.get(name).copied()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        self.by_name.get(name)
    }

    pub fn default_name(&self) -> &str {
        &self.default
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn Backend>)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> Config {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn no_configuration_means_one_dummy_default() {
        let b = Backends::from_config(&Config::default()).unwrap();
        assert_eq!(b.default_name(), "dummy");
        assert!(b.get("dummy").is_some());
    }

    #[test]
    fn unknown_kind_and_default_are_errors() {
        let err = Config::from_toml("[backends.x]\nkind = \"fax\"\n", "x")
            .err()
            .unwrap();
        assert!(err.to_string().contains("backends.x.kind"), "{err}");
        let two = "[backends.a]\nkind = \"dummy\"\n[backends.b]\nkind = \"dummy\"\n";
        assert!(Backends::from_config(&config(two)).is_err());
        let named = format!("default_backend = \"b\"\n{two}");
        assert_eq!(
            Backends::from_config(&config(&named))
                .unwrap()
                .default_name(),
            "b"
        );
        let wrong = format!("default_backend = \"c\"\n{two}");
        assert!(Backends::from_config(&config(&wrong)).is_err());
    }
}
