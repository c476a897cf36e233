//! `[backends.NAME] kind = "asterisk"`: the keys, their defaults and their validation.

use std::path::{Path, PathBuf};

use dialout_callfile::{Action, Call, DEFAULT_SPOOL_DIR, STAGING_SUBDIR};

use serde::Deserialize;

use dialout_model::config_error::ConfigError;
use dialout_model::duration::Duration;
use dialout_model::phone::PhoneNumber;

/// The context of the dialplan dialout ships (`dialplan/dialout.conf`).
pub const DEFAULT_CONTEXT: &str = "dialout-message";
pub const DEFAULT_WAIT_TIME: u32 = 45;
pub const DEFAULT_RETRY_TIME: u32 = 300;
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_VOICE: &str = "en";
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10;
pub const DEFAULT_CALLS_PER_SECOND: f64 = 1.0;
/// Five minutes read aloud: far past any reminder or code, short of a runaway text.
pub const DEFAULT_MAX_AUDIO: std::time::Duration = std::time::Duration::from_secs(300);

/// `[backends.NAME] kind = "asterisk"` as written: every key typed, none checked yet.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsteriskSettings {
    pub spool_dir: Option<PathBuf>,
    pub done_dir: Option<PathBuf>,
    pub staging_dir: Option<PathBuf>,
    pub channel: Option<String>,
    pub callerid: Option<String>,
    pub wait_time: Option<Duration>,
    pub retry_time: Option<Duration>,
    pub max_retries: Option<i64>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub audio_dir: Option<PathBuf>,
    pub report_dir: Option<PathBuf>,
    pub context: Option<String>,
    pub voice: Option<String>,
    pub max_in_flight: Option<i64>,
    pub calls_per_second: Option<f64>,
    /// The longest a spoken message may last (a number of seconds or a duration).
    pub max_audio_seconds: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AsteriskConfig {
    pub spool_dir: PathBuf,
    pub done_dir: PathBuf,
    pub staging_dir: PathBuf,
    pub channel: ChannelTemplate,
    pub callerid: Option<String>,
    pub wait_time: u32,
    pub retry_time: u32,
    pub max_retries: u32,
    pub user: Option<String>,
    pub group: Option<String>,
    pub audio_dir: PathBuf,
    pub report_dir: PathBuf,
    pub context: String,
    pub voice: String,
    pub max_in_flight: usize,
    pub calls_per_second: f64,
    /// A message whose audio lasts longer is refused (ERROR) before it is spooled.
    pub max_audio: std::time::Duration,
}

/// A dial string with `{number}` (E.164 with `+`) and/or `{digits}` (without it).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelTemplate(String);

impl ChannelTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text;
        let mut placeholders = 0;
        while let Some(open) = rest.find('{') {
            let after = &rest[open..];
            let name = if after.starts_with("{number}") {
                "{number}"
            } else if after.starts_with("{digits}") {
                "{digits}"
            } else {
                return Err(format!(
                    "unknown placeholder at {after:?}: only {{number}} and {{digits}} exist"
                ));
            };
            placeholders += 1;
            rest = &after[name.len()..];
        }
        if text.matches('}').count() != placeholders {
            return Err("a stray `}`: only {number} and {digits} are placeholders".into());
        }
        if placeholders == 0 {
            return Err(
                "it needs {number} or {digits}, or every call would dial the same place".into(),
            );
        }
        Ok(ChannelTemplate(text.to_string()))
    }

    pub fn render(&self, number: &PhoneNumber) -> String {
        self.0
            .replace("{number}", number.as_str())
            .replace("{digits}", number.digits())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(backend: &str, key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: format!("backends.{backend}.{key}"),
        reason: reason.into(),
    }
}

/// Asterisk and dialout do not share a working directory: paths are absolute.
fn absolute(backend: &str, key: &str, p: &Option<PathBuf>) -> Result<Option<PathBuf>, ConfigError> {
    match p {
        Some(p) if !p.is_absolute() => Err(invalid(
            backend,
            key,
            format!("{:?} must be an absolute path", p.display().to_string()),
        )),
        other => Ok(other.clone()),
    }
}

fn integer(
    backend: &str,
    key: &str,
    v: Option<i64>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ConfigError> {
    match v {
        Some(n) if !(min..=max).contains(&n) => Err(invalid(
            backend,
            key,
            format!("{n} is out of range {min}..={max}"),
        )),
        other => Ok(other),
    }
}

/// Whole seconds (call files count in seconds) within `min..=max`.
fn seconds(
    backend: &str,
    key: &str,
    v: Option<Duration>,
    min: u64,
    max: u64,
) -> Result<Option<u32>, ConfigError> {
    let Some(d) = v else { return Ok(None) };
    match d.whole_secs() {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(invalid(
            backend,
            key,
            format!(
                "{d} is out of range {}..={}",
                Duration::from_secs(min),
                Duration::from_secs(max)
            ),
        )),
        None => Err(invalid(
            backend,
            key,
            format!("{d}: call files count whole seconds"),
        )),
    }
}

/// Paths that reach dialplan arguments: a `,` would split `Playback()`'s argument, `&` would
/// make it play two files, and `$`, `(`, `)`, `;`, `[` have dialplan meanings.
fn dialplan_safe_path(backend: &str, key: &str, p: &Path) -> Result<(), ConfigError> {
    let s = p
        .to_str()
        .ok_or_else(|| invalid(backend, key, "the path is not UTF-8"))?;
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.' | '+')))
    {
        return Err(invalid(
            backend,
            key,
            format!(
                "{s:?} contains {c:?}: the dialplan receives this path, so only letters, digits and / _ - . + are allowed"
            ),
        ));
    }
    Ok(())
}

impl AsteriskConfig {
    /// Types `[backends.NAME]`'s table (without or with `kind`) and checks it.
    pub fn from_table(backend: &str, table: &toml::Table) -> Result<Self, ConfigError> {
        Self::new(backend, &crate::settings::backend_keys(backend, table)?)
    }

    /// Checks the keys and fills in the defaults. Every error names the key and the reason.
    pub fn new(backend: &str, k: &AsteriskSettings) -> Result<Self, ConfigError> {
        let spool_dir = absolute(backend, "spool_dir", &k.spool_dir)?
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SPOOL_DIR));
        let base = spool_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let done_dir = absolute(backend, "done_dir", &k.done_dir)?
            .unwrap_or_else(|| base.join("outgoing_done"));
        let staging_dir = absolute(backend, "staging_dir", &k.staging_dir)?
            .unwrap_or_else(|| spool_dir.join(STAGING_SUBDIR));
        if staging_dir == spool_dir {
            return Err(invalid(
                backend,
                "staging_dir",
                "must differ from spool_dir: Asterisk dials every file in spool_dir, half-written ones too",
            ));
        }
        let channel = match &k.channel {
            None => {
                return Err(invalid(
                    backend,
                    "channel",
                    "missing: the dial string of your trunk, e.g. \"PJSIP/{number}@trunk\" or \"Local/{digits}@outbound\"",
                ));
            }
            Some(c) => ChannelTemplate::parse(c).map_err(|r| invalid(backend, "channel", r))?,
        };
        let callerid = k.callerid.clone();
        let wait_time =
            seconds(backend, "wait_time", k.wait_time, 1, 3600)?.unwrap_or(DEFAULT_WAIT_TIME);
        let retry_time = seconds(backend, "retry_time", k.retry_time, 1, 7 * 86400)?
            .unwrap_or(DEFAULT_RETRY_TIME);
        if retry_time <= wait_time {
            return Err(invalid(
                backend,
                "retry_time",
                format!(
                    "{retry_time} s must be longer than wait_time ({wait_time} s) plus the message: Asterisk would retry while the call still rings"
                ),
            ));
        }
        let max_retries = integer(backend, "max_retries", k.max_retries, 0, 100)?
            .map_or(DEFAULT_MAX_RETRIES, |n| n as u32);
        let user = k.user.clone();
        let group = k.group.clone();
        let audio_dir = absolute(backend, "audio_dir", &k.audio_dir)?
            .unwrap_or_else(|| base.join("dialout").join("audio"));
        let report_dir = absolute(backend, "report_dir", &k.report_dir)?
            .unwrap_or_else(|| base.join("dialout").join("reports"));
        dialplan_safe_path(backend, "audio_dir", &audio_dir)?;
        dialplan_safe_path(backend, "report_dir", &report_dir)?;
        let context = k
            .context
            .clone()
            .unwrap_or_else(|| DEFAULT_CONTEXT.to_string());
        if context.is_empty()
            || !context
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                backend,
                "context",
                format!(
                    "{context:?}: use letters, digits, - _ . (the context's name in extensions.conf)"
                ),
            ));
        }
        let voice = k.voice.clone().unwrap_or_else(|| DEFAULT_VOICE.to_string());
        if voice.is_empty()
            || !voice
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/'))
        {
            return Err(invalid(
                backend,
                "voice",
                format!("{voice:?} is not an espeak-ng voice name (e.g. en, cs, en-us, cs+f2)"),
            ));
        }
        let max_in_flight = integer(backend, "max_in_flight", k.max_in_flight, 1, 100_000)?
            .map_or(DEFAULT_MAX_IN_FLIGHT, |n| n as usize);
        let calls_per_second = k.calls_per_second.unwrap_or(DEFAULT_CALLS_PER_SECOND);
        if !(calls_per_second.is_finite() && calls_per_second > 0.0 && calls_per_second <= 10_000.0)
        {
            return Err(invalid(
                backend,
                "calls_per_second",
                format!(
                    "{calls_per_second} must be above 0 (e.g. 0.5 for one call every two seconds) and at most 10000"
                ),
            ));
        }
        let max_audio = match k.max_audio_seconds {
            None => DEFAULT_MAX_AUDIO,
            Some(d) => d
                .positive()
                .map_err(|e| invalid(backend, "max_audio_seconds", e.to_string()))?
                .as_std(),
        };
        let config = AsteriskConfig {
            spool_dir,
            done_dir,
            staging_dir,
            channel,
            callerid,
            wait_time,
            retry_time,
            max_retries,
            user,
            group,
            audio_dir,
            report_dir,
            context,
            voice,
            max_in_flight,
            calls_per_second,
            max_audio,
        };
        config.check_call_file(backend)?;
        Ok(config)
    }

    /// Builds a sample call file so that a bad channel, caller id or context is refused at
    /// start-up, by the same rules that would refuse it at publish time.
    fn check_call_file(&self, backend: &str) -> Result<(), ConfigError> {
        let sample = PhoneNumber::from_e164("+420777123456")
            .map_err(|e| invalid(backend, "channel", e.to_string()))?;
        let mut call = Call::builder().channel(self.channel.render(&sample));
        if let Some(c) = &self.callerid {
            call = call.callerid(c.clone());
        }
        let call = call.build().map_err(|e| {
            let key = if e.field().name() == "callerid" {
                "callerid"
            } else {
                "channel"
            };
            invalid(backend, key, e.to_string())
        })?;
        Action::context(self.context.clone(), "s", 1)
            .validate()
            .map_err(|e| invalid(backend, "context", e.to_string()))?;
        drop(call);
        Ok(())
    }

    /// The report file the dialplan appends to for one call file.
    pub fn report_path(&self, file_name: &str) -> PathBuf {
        self.report_dir.join(format!("{file_name}.report"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AsteriskConfig, ConfigError> {
        AsteriskConfig::from_table("pbx", &toml::from_str(text).unwrap())
    }

    fn key_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn defaults_follow_the_spool_dir() {
        let c = parse("kind = \"asterisk\"\nchannel = \"PJSIP/{number}@trunk\"\n").unwrap();
        assert_eq!(c.spool_dir, Path::new("/var/spool/asterisk/outgoing"));
        assert_eq!(c.done_dir, Path::new("/var/spool/asterisk/outgoing_done"));
        assert_eq!(
            c.staging_dir,
            Path::new("/var/spool/asterisk/outgoing").join(STAGING_SUBDIR)
        );
        assert_eq!(c.audio_dir, Path::new("/var/spool/asterisk/dialout/audio"));
        assert_eq!(
            c.report_dir,
            Path::new("/var/spool/asterisk/dialout/reports")
        );
        assert_eq!((c.wait_time, c.retry_time, c.max_retries), (45, 300, 2));
        assert_eq!(
            (c.context.as_str(), c.voice.as_str()),
            ("dialout-message", "en")
        );
        assert_eq!((c.max_in_flight, c.calls_per_second), (10, 1.0));
        let c = parse("channel = \"Local/{digits}@out\"\nspool_dir = \"/srv/ast/out\"\ncalls_per_second = 0.5\n").unwrap();
        assert_eq!(c.done_dir, Path::new("/srv/ast/outgoing_done"));
        assert_eq!(c.calls_per_second, 0.5);
        let c =
            parse("channel = \"Local/{digits}@out\"\nwait_time = \"1m\"\nretry_time = \"PT10M\"\n")
                .unwrap();
        assert_eq!((c.wait_time, c.retry_time), (60, 600));
    }

    #[test]
    fn channel_template_fills_number_and_digits() {
        let n = PhoneNumber::from_e164("+420777123456").unwrap();
        assert_eq!(
            ChannelTemplate::parse("PJSIP/{number}@trunk")
                .unwrap()
                .render(&n),
            "PJSIP/+420777123456@trunk"
        );
        assert_eq!(
            ChannelTemplate::parse("Local/{digits}@outbound")
                .unwrap()
                .render(&n),
            "Local/420777123456@outbound"
        );
        assert!(ChannelTemplate::parse("PJSIP/trunk").is_err());
        assert!(ChannelTemplate::parse("PJSIP/{num}").is_err());
        assert!(ChannelTemplate::parse("PJSIP/{number}}").is_err());
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "channel = \"PJSIP/{number}\"\nspool_dri = \"/x\"\n",
                "backends.pbx.spool_dri",
            ),
            ("kind = \"asterisk\"\n", "backends.pbx.channel"),
            (
                "channel = \"PJSIP/{number}&SIP/x\"\n",
                "backends.pbx.channel",
            ),
            ("channel = \"nochannel{number}\"\n", "backends.pbx.channel"),
            (
                "channel = \"PJSIP/{number}\"\ncallerid = \"a\\nApplication: System\"\n",
                "backends.pbx.callerid",
            ),
            (
                "channel = \"PJSIP/{number}\"\nspool_dir = \"relative/out\"\n",
                "backends.pbx.spool_dir",
            ),
            (
                "channel = \"PJSIP/{number}\"\nwait_time = 0\n",
                "backends.pbx.wait_time",
            ),
            (
                "channel = \"PJSIP/{number}\"\nwait_time = 60\nretry_time = 30\n",
                "backends.pbx.retry_time",
            ),
            (
                "channel = \"PJSIP/{number}\"\nmax_retries = -1\n",
                "backends.pbx.max_retries",
            ),
            (
                "channel = \"PJSIP/{number}\"\nmax_in_flight = 0\n",
                "backends.pbx.max_in_flight",
            ),
            (
                "channel = \"PJSIP/{number}\"\ncalls_per_second = 0\n",
                "backends.pbx.calls_per_second",
            ),
            (
                "channel = \"PJSIP/{number}\"\ncalls_per_second = \"fast\"\n",
                "backends.pbx.calls_per_second",
            ),
            (
                "channel = \"PJSIP/{number}\"\naudio_dir = \"/var/a,b\"\n",
                "backends.pbx.audio_dir",
            ),
            (
                "channel = \"PJSIP/{number}\"\nreport_dir = \"/var/r&s\"\n",
                "backends.pbx.report_dir",
            ),
            (
                "channel = \"PJSIP/{number}\"\nvoice = \"en;x\"\n",
                "backends.pbx.voice",
            ),
            (
                "channel = \"PJSIP/{number}\"\ncontext = \"bad context\"\n",
                "backends.pbx.context",
            ),
            (
                "channel = \"PJSIP/{number}\"\nstaging_dir = \"/var/spool/asterisk/outgoing\"\n",
                "backends.pbx.staging_dir",
            ),
            ("channel = 5\n", "backends.pbx.channel"),
            (
                "channel = \"PJSIP/{number}\"\nwait_time = \"1500ms\"\n",
                "backends.pbx.wait_time",
            ),
            (
                "channel = \"PJSIP/{number}\"\nretry_time = \"8 days\"\n",
                "backends.pbx.retry_time",
            ),
        ];
        for (text, key) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(key_of(err), key, "{text}");
        }
    }
}
