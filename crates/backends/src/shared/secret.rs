//! Secrets in backend settings: kept out of every log line and error, read from the
//! configuration or from the environment.

use std::fmt;

use serde::Deserialize;

use dialout_model::config_error::ConfigError;

/// A password or access token. Its Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(token: impl Into<String>) -> Self {
        Secret(token.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A string; anything else is refused without quoting it (serde's message would).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Other(serde::de::IgnoredAny),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => Ok(Secret(t)),
            Raw::Other(_) => Err(serde::de::Error::custom("expected a string")),
        }
    }
}

/// A secret given in the configuration (`value`, under `key`) or in the environment variable
/// named under `env_key`: exactly one of the two, and not blank. It is returned as given
/// (a backend that ignores surrounding spaces trims it itself). No error quotes the secret.
pub fn value_or_env(
    backend: &str,
    (key, value): (&str, Option<&Secret>),
    (env_key, var): (&str, Option<&str>),
    env: impl Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    let invalid = |k: &str, reason: String| ConfigError::Invalid {
        key: format!("backends.{backend}.{k}"),
        reason,
    };
    let value = match value {
        Some(v) if v.expose().trim().is_empty() => {
            return Err(invalid(key, "must not be empty".into()));
        }
        v => v.cloned(),
    };
    let var = match var {
        Some(v) if v.trim().is_empty() => return Err(invalid(env_key, "must not be empty".into())),
        v => v.map(str::trim),
    };
    match (value, var) {
        (Some(v), None) => Ok(v),
        (None, Some(var)) => env(var)
            .filter(|v| !v.trim().is_empty())
            .map(Secret)
            .ok_or_else(|| {
                invalid(
                    env_key,
                    format!("the environment variable {var} is not set or empty"),
                )
            }),
        (Some(_), Some(_)) => Err(invalid(key, format!("give {key} or {env_key}, not both"))),
        (None, None) => Err(invalid(
            key,
            format!("required (or {env_key} naming an environment variable)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: Option<&str>, var: Option<&str>) -> Result<Secret, String> {
        let value = value.map(Secret::new);
        let env = |v: &str| (v == "SET").then(|| " s3cret ".to_string());
        value_or_env("b", ("secret", value.as_ref()), ("secret_env", var), env)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn one_of_value_or_environment_as_given_and_never_quoted() {
        assert_eq!(read(Some("s3cret"), None).unwrap().expose(), "s3cret");
        assert_eq!(read(None, Some("SET")).unwrap().expose(), " s3cret ");
        for (value, var, key, says) in [
            (Some("x"), Some("SET"), "backends.b.secret", "not both"),
            (None, None, "backends.b.secret", "required"),
            (Some("  "), None, "backends.b.secret", "must not be empty"),
            (
                None,
                Some(" "),
                "backends.b.secret_env",
                "must not be empty",
            ),
            (
                None,
                Some("UNSET"),
                "backends.b.secret_env",
                "UNSET is not set",
            ),
        ] {
            let e = read(value, var).unwrap_err();
            assert!(
                e.contains(key) && e.contains(says),
                "{value:?} {var:?}: {e}"
            );
            assert!(!e.contains("s3cret"), "{e}");
        }
    }
}
