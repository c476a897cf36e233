//! The configured backends by name, and which one is the default: a plain registry.

use std::collections::BTreeMap;
use std::sync::Arc;

use dialout_model::config_error::ConfigError;

use crate::ami::{Ami, Group};
use crate::backend::Backend;
use crate::dummy::Dummy;
use crate::settings::{BackendConfig, BackendSettings, build};

/// The configured backends by name, and which one is the default.
#[derive(Clone)]
pub struct Backends {
    by_name: BTreeMap<String, Arc<dyn Backend>>,
    default: String,
    /// `max_content_chars` of the backends that set their own.
    content_limits: BTreeMap<String, usize>,
}

impl Backends {
    /// Builds every `[backends.NAME]`; with none at all, one Dummy backend named `dummy` is
    /// the default.
    pub fn from_settings(
        backends: &BTreeMap<String, BackendConfig>,
        default_backend: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut by_name = BTreeMap::new();
        let mut content_limits = BTreeMap::new();
        // AMI backends are kept by type too: a group places its calls through them.
        let mut amis = BTreeMap::new();
        for (name, bc) in backends {
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
        for (name, bc) in backends {
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
        let default = match default_backend {
            Some(d) if by_name.contains_key(d) => d.to_string(),
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
        Ok(Backends {
            by_name,
            default,
            content_limits,
        })
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
            content_limits: BTreeMap::new(),
        }
    }

    pub fn single(backend: Arc<dyn Backend>) -> Self {
        let default = backend.name().to_string();
        Backends {
            by_name: BTreeMap::from([(default.clone(), backend)]),
            default,
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

    fn config(toml_text: &str) -> Result<Backends, ConfigError> {
        #[derive(serde::Deserialize)]
        struct Config {
            default_backend: Option<String>,
            #[serde(default, deserialize_with = "crate::settings::named_backends")]
            backends: BTreeMap<String, BackendConfig>,
        }
        let c: Config = toml::from_str(toml_text).map_err(|e| ConfigError::Parse {
            path: "test".into(),
            reason: e.to_string(),
        })?;
        Backends::from_settings(&c.backends, c.default_backend.as_deref())
    }

    #[test]
    fn no_configuration_means_one_dummy_default() {
        let b = config("").unwrap();
        assert_eq!(b.default_name(), "dummy");
        assert!(b.get("dummy").is_some());
    }

    #[test]
    fn unknown_kind_and_default_are_errors() {
        let err = config("[backends.x]\nkind = \"fax\"\n").err().unwrap();
        assert!(err.to_string().contains("backends.x.kind"), "{err}");
        let two = "[backends.a]\nkind = \"dummy\"\n[backends.b]\nkind = \"dummy\"\n";
        assert!(config(two).is_err());
        let named = format!("default_backend = \"b\"\n{two}");
        assert_eq!(config(&named).unwrap().default_name(), "b");
        let wrong = format!("default_backend = \"c\"\n{two}");
        assert!(config(&wrong).is_err());
    }
}
