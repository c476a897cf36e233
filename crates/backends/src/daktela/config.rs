//! `[backends.NAME] kind = "daktela"`: its keys, validated once when the backend is built.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::Deserialize;

use super::mapping::{Mapping, UnknownStatus};
use dialout_model::state::State;

use crate::shared::secret::{Secret, value_or_env};
use dialout_model::config_error::ConfigError;

/// `[backends.NAME] kind = "daktela"` as written: every key typed, none checked yet.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaktelaSettings {
    pub url: Option<String>,
    pub access_token: Option<Secret>,
    pub access_token_env: Option<String>,
    pub autodialer_record_type: Option<String>,
    pub predictive_record_type: Option<String>,
    /// Status name or action digit -> state name or pymess code.
    pub states_mapping: Option<BTreeMap<String, toml::Value>>,
    pub unknown_status: Option<String>,
    pub time_zone: Option<String>,
    pub timeout: Option<dialout_model::duration::Duration>,
    pub max_concurrent_requests: Option<i64>,
    pub requests_per_second: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct DaktelaConfig {
    /// The campaign-records collection, without `.json`: `https://x.daktela.com/api/v6/campaignsRecords`.
    pub url: String,
    pub access_token: Secret,
    pub autodialer_record_type: String,
    pub predictive_record_type: Option<String>,
    pub mapping: Mapping,
    /// The instance's zone, in which Daktela writes `created` and `edited`.
    pub time_zone: TimeZone,
    pub timeout: Duration,
    pub max_concurrent_requests: usize,
    /// None: no pacing.
    pub requests_per_second: Option<f64>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 20.0;

impl DaktelaConfig {
    /// Types `[backends.NAME]`'s table (without or with `kind`) and checks it; `env` looks up
    /// `access_token_env` (std::env in use).
    pub fn from_options(
        name: &str,
        options: &toml::Table,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::new(name, &crate::settings::backend_keys(name, options)?, env)
    }

    /// Checks the keys and fills in the defaults. No error quotes the token.
    pub fn new(
        name: &str,
        k: &DaktelaSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let key = |k: &str| format!("backends.{name}.{k}");
        let invalid = |k: &str, reason: String| ConfigError::Invalid {
            key: key(k),
            reason,
        };
        let string = |k: &str, v: &Option<String>| -> Result<Option<String>, ConfigError> {
            match v {
                None => Ok(None),
                Some(s) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(_) => Err(invalid(k, "must not be empty".into())),
            }
        };
        let url = string("url", &k.url)?.ok_or_else(|| invalid("url", "required: the campaign-records URL, e.g. https://x.daktela.com/api/v6/campaignsRecords".into()))?;
        let url = normalize_url(&url).map_err(|reason| invalid("url", reason))?;

        let access_token = value_or_env(
            name,
            ("access_token", k.access_token.as_ref()),
            ("access_token_env", k.access_token_env.as_deref()),
            env,
        )?
        .expose()
        .trim()
        .to_string();
        if !access_token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "access_token",
                "must be printable ASCII without spaces".into(),
            ));
        }

        let autodialer_record_type = string("autodialer_record_type", &k.autodialer_record_type)?
            .ok_or_else(|| {
            invalid(
                "autodialer_record_type",
                "required: the record type of text-to-speech messages".into(),
            )
        })?;
        let predictive_record_type = string("predictive_record_type", &k.predictive_record_type)?;

        let states = match &k.states_mapping {
            None => BTreeMap::new(),
            Some(t) => {
                let mut m = BTreeMap::new();
                for (k, v) in t {
                    let digits = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit());
                    if digits && !matches!(k.as_str(), "0" | "1" | "2" | "3" | "4" | "5" | "6") {
                        return Err(invalid(
                            &format!("states_mapping.{k}"),
                            "Daktela's actions are the digits 0 to 6".into(),
                        ));
                    }
                    let state = mapping_state(v)
                        .map_err(|reason| invalid(&format!("states_mapping.{k}"), reason))?;
                    m.insert(k.trim().to_string(), state);
                }
                m
            }
        };
        let unknown_status = match string("unknown_status", &k.unknown_status)? {
            None => UnknownStatus::KeepAction,
            Some(s) => UnknownStatus::parse(&s).ok_or_else(|| {
                invalid(
                    "unknown_status",
                    format!("{s:?} is not one of keep_action, skip, fail_check"),
                )
            })?,
        };
        let mapping = Mapping::new(states, unknown_status);

        let time_zone = match string("time_zone", &k.time_zone)? {
            None => TimeZone::UTC,
            Some(z) => TimeZone::get(&z)
                .map_err(|e| invalid("time_zone", format!("unknown IANA zone {z:?}: {e}")))?,
        };
        let timeout = k.timeout.map_or(DEFAULT_TIMEOUT, Duration::from);
        if timeout.is_zero() || timeout > Duration::from_secs(600) {
            return Err(invalid(
                "timeout",
                "expected a duration above 0 and at most 10m (600 seconds)".into(),
            ));
        }
        let max_concurrent_requests = match k.max_concurrent_requests {
            None => DEFAULT_MAX_CONCURRENT,
            Some(i) if (1..=256).contains(&i) => i as usize,
            Some(_) => {
                return Err(invalid(
                    "max_concurrent_requests",
                    "expected an integer from 1 to 256".into(),
                ));
            }
        };
        let requests_per_second = match k.requests_per_second {
            None => Some(DEFAULT_REQUESTS_PER_SECOND),
            Some(0.0) => None,
            Some(r) if r > 0.0 && r.is_finite() => Some(r),
            Some(_) => {
                return Err(invalid(
                    "requests_per_second",
                    "expected a positive number (0: no limit)".into(),
                ));
            }
        };

        Ok(DaktelaConfig {
            url,
            access_token: Secret::new(access_token),
            autodialer_record_type,
            predictive_record_type,
            mapping,
            time_zone,
            timeout,
            max_concurrent_requests,
            requests_per_second,
        })
    }
}

/// A mapping target given by name or by pymess's integer code. States that would make the
/// delivery machinery publish again or lose track of the message are refused.
fn mapping_state(v: &toml::Value) -> Result<State, String> {
    let state = match v {
        toml::Value::String(s) => State::parse(s).ok_or_else(|| format!("unknown state {s:?}"))?,
        toml::Value::Integer(i) => {
            State::from_code(*i).ok_or_else(|| format!("unknown state code {i}"))?
        }
        _ => return Err("expected a state name or pymess's integer code".into()),
    };
    match state {
        State::Waiting | State::ErrorRetry | State::ErrorUpdate | State::Debug => Err(format!(
            "{state} is not an outcome of a call and cannot be mapped to"
        )),
        s => Ok(s),
    }
}

/// Accepts the collection URL with or without `.json` or a trailing slash; refuses a query
/// string (pymess's `?accessToken=` must not come back this way) and credentials.
fn normalize_url(raw: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(u.scheme(), "https" | "http") {
        return Err("expected an http or https URL".into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("must not have a query string (the token goes in a header)".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials".into());
    }
    let mut s = u.as_str().trim_end_matches('/').to_string();
    if let Some(stripped) = s.strip_suffix(".json") {
        s = stripped.to_string();
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    fn build(text: &str) -> Result<DaktelaConfig, ConfigError> {
        DaktelaConfig::from_options("dk", &opts(text), |v| {
            (v == "DK_TOKEN").then(|| "tok-from-env".to_string())
        })
    }

    const BASE: &str = "url = \"https://x.daktela.com/api/v6/campaignsRecords.json\"\nautodialer_record_type = \"tts\"\n";

    #[test]
    fn minimal_config_has_documented_defaults() {
        let c = build(&format!("{BASE}access_token = \"s3cret\"")).unwrap();
        assert_eq!(c.url, "https://x.daktela.com/api/v6/campaignsRecords");
        assert_eq!(c.access_token.expose(), "s3cret");
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.time_zone, TimeZone::UTC);
        assert_eq!(c.max_concurrent_requests, DEFAULT_MAX_CONCURRENT);
        assert_eq!(c.requests_per_second, Some(DEFAULT_REQUESTS_PER_SECOND));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn token_from_environment_and_never_both() {
        let c = build(&format!("{BASE}access_token_env = \"DK_TOKEN\"")).unwrap();
        assert_eq!(c.access_token.expose(), "tok-from-env");
        let e = build(&format!("{BASE}access_token_env = \"MISSING\"")).unwrap_err();
        assert!(
            e.to_string().contains("backends.dk.access_token_env"),
            "{e}"
        );
        assert!(
            build(&format!(
                "{BASE}access_token = \"a\"\naccess_token_env = \"DK_TOKEN\""
            ))
            .is_err()
        );
        assert!(build(BASE).is_err());
    }

    #[test]
    fn errors_name_the_key_and_never_quote_the_token() {
        let e = build(&format!("{BASE}access_token = 123456789")).unwrap_err();
        assert!(
            e.to_string().contains("backends.dk.access_token")
                && !e.to_string().contains("123456789"),
            "{e}"
        );
        let e = build(&format!("{BASE}access_token = \"t\"\ncolour = 1")).unwrap_err();
        assert!(e.to_string().contains("backends.dk.colour"), "{e}");
        let e = build(&format!(
            "{BASE}access_token = \"t\"\ntime_zone = \"Mars/Olympus\""
        ))
        .unwrap_err();
        assert!(e.to_string().contains("backends.dk.time_zone"), "{e}");
        let e = build("url = \"https://x/api?accessToken=t\"\naccess_token = \"t\"\nautodialer_record_type = \"a\"").unwrap_err();
        assert!(e.to_string().contains("backends.dk.url"), "{e}");
    }

    #[test]
    fn mapping_accepts_names_and_pymess_codes() {
        let c = build(&format!(
            "{BASE}access_token = \"t\"\n[states_mapping]\nstatuses_a = \"ANSWERED_COMPLETE\"\nstatuses_b = 9\n\"6\" = \"unanswered\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.mapping.status("statuses_a"),
            Some(State::AnsweredComplete)
        );
        assert_eq!(c.mapping.status("statuses_b"), Some(State::Unreachable));
        assert_eq!(c.mapping.action("6"), Some(State::Unanswered));
        assert_eq!(c.mapping.action("3"), Some(State::CallInProgress));
        let e = build(&format!(
            "{BASE}access_token = \"t\"\n[states_mapping]\nx = \"ERROR_RETRY\"\n"
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("backends.dk.states_mapping.x"),
            "{e}"
        );
        let e = build(&format!(
            "{BASE}access_token = \"t\"\n[states_mapping]\nx = 12\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown state code 12"), "{e}");
    }
}
