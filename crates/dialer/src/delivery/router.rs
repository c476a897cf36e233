//! Routing: which backend a message goes to when the sender named none.

use std::collections::BTreeMap;

use dialout_backends::registry::Backends;
use dialout_model::config_error::ConfigError;
use dialout_model::phone::PhoneNumber;

/// Number prefixes (`+420`) to backend names; the longest matching prefix wins, and a
/// number no route matches goes to the default backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Router {
    /// Longest prefix first.
    routes: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {name:?}: configured backends are {known}")]
pub struct UnknownBackend {
    pub name: String,
    pub known: String,
}

impl Router {
    /// Checks that every route names a configured backend.
    pub fn new(
        routes: &BTreeMap<String, String>,
        backends: &Backends,
    ) -> Result<Self, ConfigError> {
        let mut list: Vec<(String, String)> = Vec::with_capacity(routes.len());
        for (prefix, backend) in routes {
            if backends.get(backend).is_none() {
                return Err(ConfigError::Invalid {
                    key: format!("delivery.routes.{prefix:?}"),
                    reason: format!("no backend named {backend:?} is configured"),
                });
            }
            list.push((prefix.clone(), backend.clone()));
        }
        list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(Router { routes: list })
    }

    /// The route for this number, if any.
    pub fn route(&self, number: &PhoneNumber) -> Option<&str> {
        self.routes
            .iter()
            .find(|(p, _)| number.as_str().starts_with(p.as_str()))
            .map(|(_, b)| b.as_str())
    }

    /// The backend for a message: the one the sender named (which must exist), else the
    /// route, else the default.
    pub fn pick(
        &self,
        number: &PhoneNumber,
        named: Option<&str>,
        backends: &Backends,
    ) -> Result<String, UnknownBackend> {
        match named {
            Some(name) if backends.get(name).is_some() => Ok(name.to_string()),
            Some(name) => Err(UnknownBackend {
                name: name.to_string(),
                known: backends.names().collect::<Vec<_>>().join(", "),
            }),
            None => {
                let name = self.route(number).unwrap_or(backends.default_name());
                // A Dialer opened without backends has no default to fall back on.
                if backends.get(name).is_none() {
                    return Err(UnknownBackend {
                        name: name.to_string(),
                        known: "none (this Dialer was opened without backends)".into(),
                    });
                }
                Ok(name.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn backends() -> Backends {
        let c: Config = toml::from_str(
            "default_backend = \"d\"\n[backends.d]\nkind = \"dummy\"\n[backends.cz]\nkind = \"dummy\"\n[backends.prague]\nkind = \"dummy\"\n",
        )
        .unwrap();
        Backends::from_settings(&c.backends, c.default_backend.as_deref()).unwrap()
    }

    fn n(s: &str) -> PhoneNumber {
        PhoneNumber::from_e164(s).unwrap()
    }

    #[test]
    fn longest_prefix_wins_and_default_otherwise() {
        let b = backends();
        let routes = BTreeMap::from([
            ("+420".to_string(), "cz".to_string()),
            ("+4202".to_string(), "prague".to_string()),
        ]);
        let r = Router::new(&routes, &b).unwrap();
        assert_eq!(r.pick(&n("+420777123456"), None, &b).unwrap(), "cz");
        assert_eq!(r.pick(&n("+420212345678"), None, &b).unwrap(), "prague");
        assert_eq!(r.pick(&n("+12025550123"), None, &b).unwrap(), "d");
        assert_eq!(
            r.pick(&n("+420212345678"), Some("d"), &b).unwrap(),
            "d",
            "a named backend beats routes"
        );
        let e = r
            .pick(&n("+420212345678"), Some("fax"), &b)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fax") && e.contains("prague"), "{e}");
    }

    #[test]
    fn a_route_to_an_unknown_backend_is_a_config_error() {
        let routes = BTreeMap::from([("+420".to_string(), "nope".to_string())]);
        let e = Router::new(&routes, &backends()).unwrap_err().to_string();
        assert!(e.contains("delivery.routes") && e.contains("nope"), "{e}");
    }
}
