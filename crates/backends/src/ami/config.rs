//! `[backends.NAME] kind = "ami"`: the keys, their defaults and their validation.

use std::path::PathBuf;

use serde::Deserialize;

use crate::shared::secret::{Secret, value_or_env};
use dialout_model::config_error::ConfigError;
use dialout_model::duration::Duration;
use dialout_model::phone::PhoneNumber;

/// The context of the AMI dialplan dialout ships (`dialplan/dialout-ami.conf`).
pub const DEFAULT_CONTEXT: &str = "dialout-ami";
pub const DEFAULT_PORT: u16 = 5038;
pub const DEFAULT_WAIT_TIME: u64 = 45;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10;
pub const DEFAULT_CALLS_PER_SECOND: f64 = 1.0;
pub const DEFAULT_VOICE: &str = "en";
/// Where audio is rendered when only `audio_url` says where Asterisk fetches it.
pub const DEFAULT_AUDIO_DIR: &str = "/var/lib/dialout/audio";

/// `retry_busy = { attempts = 2, delay = "10m" }`: after that outcome, up to `attempts`
/// more calls, `delay` apart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    pub attempts: Option<i64>,
    pub delay: Option<Duration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmiSettings {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub username: Option<String>,
    pub secret: Option<Secret>,
    pub secret_env: Option<String>,
    pub channel: Option<String>,
    pub context: Option<String>,
    pub caller_id: Option<String>,
    pub wait_time: Option<Duration>,
    pub max_in_flight: Option<i64>,
    pub calls_per_second: Option<f64>,
    pub retry_busy: Option<RetrySettings>,
    pub retry_no_answer: Option<RetrySettings>,
    pub retry_unreachable: Option<RetrySettings>,
    pub voice: Option<String>,
    pub audio_url: Option<String>,
    pub audio_dir: Option<PathBuf>,
    pub pbx_audio_dir: Option<PathBuf>,
}

/// Retries after one kind of failed call (dialout's, not Asterisk's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    pub attempts: u32,
    pub delay: std::time::Duration,
}

/// Where Asterisk finds the audio dialout rendered into `audio_dir`.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioPlace {
    /// `Playback({url}/<64 hex>.wav)`: dialout serves the file over HTTP.
    Url(String),
    /// `Playback({pbx_audio_dir}/<key>)`: a directory both hosts see.
    Shared(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AmiConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub secret: Secret,
    pub channel: ChannelTemplate,
    pub context: String,
    pub caller_id: Option<String>,
    pub wait_time: std::time::Duration,
    pub max_in_flight: usize,
    pub calls_per_second: f64,
    pub retry_busy: Retry,
    pub retry_no_answer: Retry,
    pub retry_unreachable: Retry,
    pub voice: String,
    pub audio: AudioPlace,
    pub audio_dir: PathBuf,
}

/// A dial string with `{digits}` (the number without `+`) and/or `{e164}` (with it).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelTemplate(String);

impl ChannelTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.replace("{digits}", "").replace("{e164}", "");
        if rest.contains('{') || rest.contains('}') {
            return Err("only {digits} and {e164} are placeholders".into());
        }
        if rest.len() == text.len() {
            return Err(
                "it needs {digits} or {e164}, or every call would dial the same place".into(),
            );
        }
        if !rest.contains('/') {
            return Err("a dial string is TECH/resource, e.g. PJSIP/{e164}@trunk".into());
        }
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() || *c == ',' || *c == '&')
        {
            return Err(format!("{c:?} is not allowed in a dial string here"));
        }
        Ok(ChannelTemplate(text.to_string()))
    }

    pub fn render(&self, number: &PhoneNumber) -> String {
        self.0
            .replace("{e164}", number.as_str())
            .replace("{digits}", number.digits())
    }
}

fn invalid(backend: &str, key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: format!("backends.{backend}.{key}"),
        reason: reason.into(),
    }
}

/// Only characters that can go in an AMI header and a dialplan argument unharmed.
fn plain(backend: &str, key: &str, v: &str, extra: &[char]) -> Result<(), ConfigError> {
    match v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || extra.contains(c)))
    {
        Some(c) => Err(invalid(backend, key, format!("{v:?} contains {c:?}"))),
        None if v.is_empty() => Err(invalid(backend, key, "must not be empty")),
        None => Ok(()),
    }
}

fn retry(backend: &str, key: &str, r: &Option<RetrySettings>) -> Result<Retry, ConfigError> {
    let Some(r) = r else {
        return Ok(Retry {
            attempts: 0,
            delay: std::time::Duration::from_secs(300),
        });
    };
    let attempts = match r.attempts.unwrap_or(1) {
        n @ 0..=20 => n as u32,
        n => {
            return Err(invalid(
                backend,
                key,
                format!("attempts = {n} is out of range 0..=20"),
            ));
        }
    };
    let delay = match r.delay {
        None => std::time::Duration::from_secs(300),
        Some(d) => d
            .positive()
            .map_err(|e| invalid(backend, key, format!("delay: {e}")))?
            .as_std(),
    };
    Ok(Retry { attempts, delay })
}

impl AmiConfig {
    pub fn from_table(backend: &str, table: &toml::Table) -> Result<Self, ConfigError> {
        Self::new(backend, &crate::settings::backend_keys(backend, table)?)
    }

    /// Checks the keys and fills in the defaults; `env` reads `secret_env`.
    pub fn new(backend: &str, k: &AmiSettings) -> Result<Self, ConfigError> {
        Self::with_env(backend, k, |v| std::env::var(v).ok())
    }

    pub fn with_env(
        backend: &str,
        k: &AmiSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let host = k.host.clone().ok_or_else(|| {
            invalid(
                backend,
                "host",
                "missing: the Asterisk server's name or address",
            )
        })?;
        plain(backend, "host", &host, &[':'])?;
        let port = match k.port {
            None => DEFAULT_PORT,
            Some(p @ 1..=65535) => p as u16,
            Some(p) => return Err(invalid(backend, "port", format!("{p} is not a TCP port"))),
        };
        let username = k.username.clone().ok_or_else(|| {
            invalid(
                backend,
                "username",
                "missing: the manager.conf user dialout logs in as",
            )
        })?;
        plain(backend, "username", &username, &['@'])?;
        let secret = value_or_env(
            backend,
            ("secret", k.secret.as_ref()),
            ("secret_env", k.secret_env.as_deref()),
            env,
        )?;
        if secret.expose().chars().any(|c| c == '\r' || c == '\n') {
            return Err(invalid(backend, "secret", "contains a line break"));
        }
        let channel = match &k.channel {
            None => {
                return Err(invalid(
                    backend,
                    "channel",
                    "missing: the dial string of your trunk, e.g. \"PJSIP/{e164}@trunk\"",
                ));
            }
            Some(c) => ChannelTemplate::parse(c).map_err(|r| invalid(backend, "channel", r))?,
        };
        let context = k.context.clone().unwrap_or_else(|| DEFAULT_CONTEXT.into());
        plain(backend, "context", &context, &[])?;
        if let Some(c) = &k.caller_id
            && c.chars().any(char::is_control)
        {
            return Err(invalid(
                backend,
                "caller_id",
                "contains a control character",
            ));
        }
        let wait_time = match k.wait_time {
            None => std::time::Duration::from_secs(DEFAULT_WAIT_TIME),
            Some(d) => match d.whole_secs() {
                Some(n @ 1..=3600) => std::time::Duration::from_secs(n),
                _ => {
                    return Err(invalid(
                        backend,
                        "wait_time",
                        format!("{d}: whole seconds, 1 s to 1 h"),
                    ));
                }
            },
        };
        let max_in_flight = match k.max_in_flight {
            None => DEFAULT_MAX_IN_FLIGHT,
            Some(n @ 1..=100_000) => n as usize,
            Some(n) => {
                return Err(invalid(
                    backend,
                    "max_in_flight",
                    format!("{n} is out of range 1..=100000"),
                ));
            }
        };
        let calls_per_second = k.calls_per_second.unwrap_or(DEFAULT_CALLS_PER_SECOND);
        if !(calls_per_second.is_finite() && calls_per_second > 0.0 && calls_per_second <= 10_000.0)
        {
            return Err(invalid(
                backend,
                "calls_per_second",
                format!("{calls_per_second} must be above 0 and at most 10000"),
            ));
        }
        let voice = k.voice.clone().unwrap_or_else(|| DEFAULT_VOICE.into());
        plain(backend, "voice", &voice, &['+', '/'])?;
        let audio = match (&k.audio_url, &k.pbx_audio_dir) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    backend,
                    "audio_url",
                    "give audio_url or pbx_audio_dir, not both",
                ));
            }
            (Some(u), None) => {
                let u = u.trim_end_matches('/');
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(invalid(
                        backend,
                        "audio_url",
                        format!("{u:?} must start with http:// or https://"),
                    ));
                }
                plain(backend, "audio_url", u, &[':', '/'])?;
                AudioPlace::Url(u.to_string())
            }
            (None, Some(d)) => {
                if !d.is_absolute() {
                    return Err(invalid(
                        backend,
                        "pbx_audio_dir",
                        "must be an absolute path",
                    ));
                }
                plain(backend, "pbx_audio_dir", &d.to_string_lossy(), &['/', '+'])?;
                AudioPlace::Shared(d.clone())
            }
            (None, None) => {
                return Err(invalid(
                    backend,
                    "audio_url",
                    "say where Asterisk gets the audio: audio_url (dialout serve's /audio/) or audio_dir + pbx_audio_dir",
                ));
            }
        };
        let audio_dir = match (&k.audio_dir, &audio) {
            (Some(d), _) if !d.is_absolute() => {
                return Err(invalid(backend, "audio_dir", "must be an absolute path"));
            }
            (Some(d), _) => d.clone(),
            (None, AudioPlace::Url(_)) => PathBuf::from(DEFAULT_AUDIO_DIR),
            (None, AudioPlace::Shared(_)) => {
                return Err(invalid(
                    backend,
                    "audio_dir",
                    "missing: where dialout writes the audio that Asterisk reads as pbx_audio_dir",
                ));
            }
        };
        Ok(AmiConfig {
            host,
            port,
            username,
            secret,
            channel,
            context,
            caller_id: k.caller_id.clone(),
            wait_time,
            max_in_flight,
            calls_per_second,
            retry_busy: retry(backend, "retry_busy", &k.retry_busy)?,
            retry_no_answer: retry(backend, "retry_no_answer", &k.retry_no_answer)?,
            retry_unreachable: retry(backend, "retry_unreachable", &k.retry_unreachable)?,
            voice,
            audio,
            audio_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "host = \"pbx\"\nusername = \"dialout\"\nsecret = \"s3cret\"\nchannel = \"PJSIP/{e164}@trunk\"\naudio_url = \"http://dialout:8080/audio\"\n";

    fn parse(text: &str) -> Result<AmiConfig, ConfigError> {
        AmiConfig::from_table("pbx", &toml::from_str(text).unwrap())
    }

    #[test]
    fn defaults() {
        let c = parse(BASE).unwrap();
        assert_eq!((c.port, c.context.as_str()), (5038, "dialout-ami"));
        assert_eq!(c.wait_time.as_secs(), 45);
        assert_eq!(c.retry_busy.attempts, 0);
        assert_eq!(c.audio, AudioPlace::Url("http://dialout:8080/audio".into()));
        let n = PhoneNumber::from_e164("+420777123456").unwrap();
        assert_eq!(c.channel.render(&n), "PJSIP/+420777123456@trunk");
        let c = parse(&format!(
            "{BASE}retry_busy = {{ attempts = 2, delay = \"10m\" }}\nwait_time = \"30s\"\n"
        ))
        .unwrap();
        assert_eq!(c.retry_busy.attempts, 2);
        assert_eq!(c.retry_busy.delay.as_secs(), 600);
        assert_eq!(c.wait_time.as_secs(), 30);
    }

    #[test]
    fn errors_name_the_key_and_never_the_secret() {
        for (extra, key) in [
            ("port = 70000\n", "port"),
            ("colour = 1\n", "colour"),
            ("secret_env = \"X\"\n", "secret"),
            ("pbx_audio_dir = \"/a\"\n", "audio_url"),
            ("max_in_flight = 0\n", "max_in_flight"),
            ("retry_busy = { attempts = 99 }\n", "retry_busy"),
            ("retry_busy = { tries = 1 }\n", "retry_busy.tries"),
            ("context = \"a b\"\n", "context"),
        ] {
            let err = parse(&format!("{BASE}{extra}")).unwrap_err().to_string();
            assert!(
                err.contains(&format!("backends.pbx.{key}")),
                "{extra}: {err}"
            );
            assert!(!err.contains("s3cret"), "{err}");
        }
        let no_channel = BASE.replace(
            "channel = \"PJSIP/{e164}@trunk\"\n",
            "channel = \"PJSIP/trunk\"\n",
        );
        assert!(
            parse(&no_channel)
                .unwrap_err()
                .to_string()
                .contains("channel")
        );
        let env = AmiSettings {
            secret_env: Some("AMI_SECRET".into()),
            ..toml::from_str::<AmiSettings>(&BASE.replace("secret = \"s3cret\"\n", "")).unwrap()
        };
        let c =
            AmiConfig::with_env("pbx", &env, |v| (v == "AMI_SECRET").then(|| "x".into())).unwrap();
        assert_eq!(c.secret.expose(), "x");
        assert!(AmiConfig::with_env("pbx", &env, |_| None).is_err());
        // Taken as given: a line break is refused, not trimmed away; a blank one is refused.
        let broken = AmiConfig::with_env("pbx", &env, |_| Some("x\n".into())).unwrap_err();
        assert!(broken.to_string().contains("line break"), "{broken}");
        let blank = parse(&BASE.replace("\"s3cret\"", "\"  \"")).unwrap_err();
        assert!(blank.to_string().contains("backends.pbx.secret"), "{blank}");
    }
}
