//! The Asterisk backend: each message becomes a call file in Asterisk's spool, its content
//! spoken by text-to-speech, and the shipped dialplan reports how far each call got.
//!
//! Life of a message: publish renders the audio, spools `dialout-<id>.call` atomically
//! (READY); Asterisk dials, the dialplan appends report lines, Asterisk archives the file in
//! `outgoing_done` and appends `Status:`; intake reads both and records the final state.
//! Crash safety: the call file's name is the message id and spooling never replaces a file,
//! so `find` (and publish itself) recognises a message spooled before a crash.

pub mod checks;
pub mod config;
mod details;
mod forget;
mod publish;
mod report;
mod results;
mod status;
mod watch;

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

pub use config::{AsteriskConfig, AsteriskSettings, ChannelTemplate, DEFAULT_CONTEXT};
pub use publish::{file_name, id_from_name};
pub use report::Report;
pub use results::{Seen, Verdict, judge};

use crate::backend::{
    Accepted, Backend, BackendError, Cancel, Found, Intake, Lookup, Pacing, Publish, StatusReport,
};
use crate::shared::pacer::Pacer;
use crate::tts::{AudioCache, EspeakNg, Tts, TtsError};
use dialout_callfile::AttemptKind;
use dialout_model::config_error::ConfigError;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;

use publish::Spooled;

/// The dialplan dialout ships; `dialout asterisk dialplan` prints it.
pub const DIALPLAN: &str = include_str!("../../../../dialplan/dialout.conf");

/// A full rescan even when the watcher reports nothing (events can be lost).
const RESCAN_EVERY: Duration = Duration::from_secs(30);
/// How often unused audio is removed, and how long unused audio is kept at least.
const CLEANUP_EVERY: Duration = Duration::from_secs(600);
const AUDIO_GRACE: Duration = Duration::from_secs(600);

pub struct Asterisk {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: AsteriskConfig,
    audio: AudioCache,
    pacer: Mutex<Pacer>,
    watcher: Mutex<Option<watch::Watcher>>,
    wake: Arc<tokio::sync::Notify>,
    last_rescan: Mutex<Option<Instant>>,
    /// The pending messages of the last intake: a message new since then is looked at in
    /// full, as its files may have changed before it became pending (a restart, `find`).
    known: Mutex<HashSet<dialout_model::id::MessageId>>,
    last_cleanup: Mutex<Instant>,
    audio_grace: Duration,
}

fn start_error(backend: &str, key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: format!("backends.{backend}.{key}"),
        reason: reason.into(),
    }
}

impl Asterisk {
    /// From `[backends.NAME]`, with espeak-ng.
    pub fn from_settings(name: &str, settings: &AsteriskSettings) -> Result<Self, ConfigError> {
        let config = AsteriskConfig::new(name, settings)?;
        Self::start(name, config, Arc::new(EspeakNg::new()))
    }

    /// From `[backends.NAME]` as a table, with espeak-ng.
    pub fn from_table(name: &str, table: &toml::Table) -> Result<Self, ConfigError> {
        let config = AsteriskConfig::from_table(name, table)?;
        Self::start(name, config, Arc::new(EspeakNg::new()))
    }

    /// Checks the machine before any message is taken: the speech engine and voice, the
    /// directories (created when missing), and that staging and spool share a filesystem.
    pub fn start(
        name: &str,
        config: AsteriskConfig,
        tts: Arc<dyn Tts>,
    ) -> Result<Self, ConfigError> {
        tts.check(&config.voice)
            .map_err(|e| start_error(name, "voice", e.to_string()))?;
        if !config.spool_dir.is_dir() {
            return Err(start_error(
                name,
                "spool_dir",
                format!(
                    "{} does not exist (is Asterisk installed? see `dialout doctor`)",
                    config.spool_dir.display()
                ),
            ));
        }
        for (key, dir, mode) in checks::created_dirs(&config) {
            checks::ensure_dir(dir, mode, &config).map_err(|e| start_error(name, key, e))?;
        }
        checks::probe_rename(&config.staging_dir, &config.spool_dir)
            .map_err(|e| start_error(name, "staging_dir", e))?;
        let swept = checks::sweep_staging(&config.staging_dir, Duration::from_secs(600));
        if swept > 0 {
            tracing::info!(
                backend = name,
                removed = swept,
                "removed call files left half-staged by a crash"
            );
        }
        let (uid, gid) = checks::owner_ids(&config).map_err(|e| start_error(name, "user", e))?;
        let audio = AudioCache::new(config.audio_dir.clone(), tts, uid, gid);
        let pacer = Mutex::new(Pacer::new(config.calls_per_second));
        Ok(Asterisk {
            inner: Arc::new(Inner {
                name: name.to_string(),
                config,
                audio,
                pacer,
                watcher: Mutex::new(None),
                wake: Arc::new(tokio::sync::Notify::new()),
                last_rescan: Mutex::new(None),
                known: Mutex::new(HashSet::new()),
                last_cleanup: Mutex::new(Instant::now()),
                audio_grace: AUDIO_GRACE,
            }),
        })
    }

    /// How long unused audio is kept at least (default 10 minutes), so that audio rendered
    /// for a message being published right now is never removed under it.
    pub fn with_audio_grace(self, grace: Duration) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.audio_grace = grace;
                Asterisk {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => Asterisk { inner },
        }
    }

    /// Removes cached audio that no pending message and no call file in the spool needs
    /// (intake does this every 10 minutes). Returns how many files were removed.
    pub fn cleanup_audio(&self, pending: &[Message]) -> usize {
        self.inner.cleanup_audio_now(pending)
    }

    pub fn config(&self) -> &AsteriskConfig {
        &self.inner.config
    }

    /// Notified when a file of this backend changes: results may be waiting for `intake`.
    pub fn results_changed(&self) -> Arc<tokio::sync::Notify> {
        self.inner.wake.clone()
    }
}

/// Runs blocking file work off the async executor (see [`crate::shared::blocking::run`]).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    crate::shared::blocking::run(f)
        .await
        .expect("the runtime shut down during file work")
}

fn sender_name(message: &Message) -> String {
    match message.extra_sender_data.get("call_file") {
        Some(Value::String(s)) if id_from_name(s) == Some(message.id) => s.clone(),
        _ => file_name(message.id),
    }
}

impl Inner {
    fn accepted(
        &self,
        message: &Message,
        (audio_key, retries): (Option<&str>, u32),
        reason: String,
    ) -> Accepted {
        let name = file_name(message.id);
        let mut data = JsonMap::new();
        data.insert("call_file".into(), Value::String(name.clone()));
        data.insert(
            "report".into(),
            Value::String(
                self.config
                    .report_path(&name)
                    .to_string_lossy()
                    .into_owned(),
            ),
        );
        data.insert("max_attempts".into(), Value::from(retries + 1));
        if let Some(k) = audio_key {
            data.insert("audio".into(), Value::String(k.to_string()));
        }
        Accepted::ready(data, reason)
    }

    /// Any trace of this message on the PBX: spooled, archived, or reported on.
    fn trace(&self, name: &str) -> Option<PathBuf> {
        let p = self.config.paths(name);
        [p.spooled, p.archived, p.report]
            .into_iter()
            .find(|f| f.exists())
    }

    fn publish(&self, message: &Message) -> Publish {
        let name = file_name(message.id);
        // Within the recipient's calling window, when the delivery says when it closes.
        let retries = self.config.max_retries_for(message, jiff::Timestamp::now());
        if let Some(found) = self.trace(&name) {
            return Publish::Accepted(self.accepted(
                message,
                (None, retries),
                format!("already spooled ({} exists)", found.display()),
            ));
        }
        if let Ok(mut pacer) = self.pacer.lock()
            && pacer.take(Instant::now()).is_err()
        {
            return Publish::Deferred;
        }
        let audio = match self.audio.ensure(&message.content, &self.config.voice) {
            Ok(a) => a,
            Err(TtsError::EmptyText) => {
                return Publish::Failed {
                    error: "the message has no text to speak".into(),
                };
            }
            Err(e @ (TtsError::Missing { .. } | TtsError::UnknownVoice { .. })) => {
                return Publish::Paused {
                    reason: e.to_string(),
                };
            }
            Err(e) => {
                return Publish::Retry {
                    error: e.to_string(),
                    ambiguous: false,
                };
            }
        };
        match audio.duration() {
            Ok(d) if d > self.config.max_audio => {
                return Publish::Failed {
                    error: format!(
                        "the spoken message lasts {:.0} s, over this backend's max_audio_seconds ({} s): shorten the text",
                        d.as_secs_f64(),
                        self.config.max_audio.as_secs()
                    ),
                };
            }
            Ok(_) => {}
            Err(e) => {
                return Publish::Retry {
                    error: e.to_string(),
                    ambiguous: false,
                };
            }
        }
        // The prompt is spoken by the same voice as the message.
        let prompt = match message.interactive.gather.as_ref().and_then(|g| g.prompt()) {
            None => None,
            Some(text) => match self.audio.ensure(text, &self.config.voice) {
                Ok(p) => Some(p),
                Err(e) => {
                    return Publish::Retry {
                        error: format!("the gather prompt: {e}"),
                        ambiguous: false,
                    };
                }
            },
        };
        let file = match self.config.call_file_retrying(
            message,
            &audio.playback_name(),
            prompt.as_ref().map(|p| p.playback_name()).as_deref(),
            retries,
        ) {
            Ok(f) => f,
            Err(e) => {
                return Publish::Failed {
                    error: format!("cannot build the call file: {e}"),
                };
            }
        };
        match publish::spool(&file) {
            Spooled::Done(p) => {
                let mut a = self.accepted(
                    message,
                    (Some(&audio.key), retries),
                    format!("spooled {}", p.display()),
                );
                if let Some(pr) = &prompt {
                    a.sender_data
                        .insert("prompt_audio".into(), Value::String(pr.key.clone()));
                }
                Publish::Accepted(a)
            }
            Spooled::AlreadyThere(p) => Publish::Accepted(self.accepted(
                message,
                (Some(&audio.key), retries),
                format!("already spooled ({} exists)", p.display()),
            )),
            Spooled::SetUp(e) => Publish::Paused { reason: e },
            Spooled::Transient(e) => Publish::Retry {
                error: e,
                ambiguous: false,
            },
        }
    }

    /// Our call files in the spool right now: the calls Asterisk still holds.
    fn spooled_count(&self) -> usize {
        fs::read_dir(&self.config.spool_dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| publish::name_from_path(&e.path()).is_some())
                    .count()
            })
            .unwrap_or(0)
    }

    /// Removes audio that neither a pending message nor a call file in the spool needs.
    fn cleanup_audio(&self, pending: &[Message]) {
        {
            let mut last = self.last_cleanup.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < CLEANUP_EVERY {
                return;
            }
            *last = Instant::now();
        }
        self.cleanup_audio_now(pending);
    }

    /// The audio keys the call files in the spool play.
    fn spooled_audio(&self) -> HashSet<String> {
        let mut keep = HashSet::new();
        if let Ok(rd) = fs::read_dir(&self.config.spool_dir) {
            for e in rd.filter_map(Result::ok) {
                if publish::name_from_path(&e.path()).is_none() {
                    continue;
                }
                let Ok(text) = fs::read_to_string(e.path()) else {
                    continue;
                };
                let Ok(parsed) = dialout_callfile::parse(&text) else {
                    continue;
                };
                for (k, v) in parsed.call.variables() {
                    if (k == "DIALOUT_AUDIO" || k == "DIALOUT_PROMPT")
                        && let Some(stem) =
                            std::path::Path::new(v).file_name().and_then(|s| s.to_str())
                    {
                        keep.insert(stem.to_string());
                    }
                }
            }
        }
        keep
    }

    fn cleanup_audio_now(&self, pending: &[Message]) -> usize {
        let mut keep: HashSet<String> = pending
            .iter()
            .flat_map(|m| {
                ["audio", "prompt_audio"].into_iter().filter_map(|k| {
                    m.extra_sender_data
                        .get(k)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
            })
            .collect();
        keep.extend(self.spooled_audio());
        match self.audio.cleanup(&keep, self.audio_grace) {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(backend = %self.name, removed = n, "removed unused audio");
                }
                n
            }
            Err(e) => {
                tracing::warn!(backend = %self.name, error = %e, "audio cleanup failed");
                0
            }
        }
    }

    fn cancel(&self, message: &Message) -> Cancel {
        let name = sender_name(message);
        let paths = self.config.paths(&name);
        let report = fs::read_to_string(&paths.report)
            .map(|t| Report::parse(&t))
            .unwrap_or_default();
        if report.answered() {
            return Cancel::TooLate("the callee already answered".into());
        }
        match fs::read_to_string(&paths.spooled) {
            Ok(text) => {
                let attempts = dialout_callfile::parse(&text)
                    .map(|p| p.attempts)
                    .unwrap_or_default();
                let dialing = attempts
                    .iter()
                    .rev()
                    .find(|a| matches!(a.kind, AttemptKind::StartRetry | AttemptKind::EndRetry));
                if dialing.is_some_and(|a| a.kind == AttemptKind::StartRetry) {
                    return Cancel::TooLate("Asterisk is dialing it right now".into());
                }
                match fs::remove_file(&paths.spooled) {
                    Ok(()) => Cancel::Withdrawn,
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        Cancel::TooLate("Asterisk took the call file meanwhile".into())
                    }
                    Err(e) => {
                        Cancel::TooLate(format!("cannot remove {}: {e}", paths.spooled.display()))
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if paths.archived.exists() {
                    Cancel::TooLate("the call already ended".into())
                } else {
                    Cancel::Withdrawn
                }
            }
            Err(e) => Cancel::TooLate(format!("cannot read {}: {e}", paths.spooled.display())),
        }
    }
}

#[async_trait]
impl Backend for Asterisk {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn publish(&self, message: &Message) -> Publish {
        let inner = self.inner.clone();
        let message = message.clone();
        blocking(move || inner.publish(&message)).await
    }

    /// Both dialplan forms carry AMD() and Read() (Extension `ivr`).
    fn check_interactive(
        &self,
        _ask: &dialout_model::interactive::Interactive,
    ) -> Result<(), String> {
        Ok(())
    }

    async fn details(&self, message: &Message) -> crate::backend::Details {
        let inner = self.inner.clone();
        let message = message.clone();
        blocking(move || inner.details(&message)).await
    }

    async fn check_status(
        &self,
        messages: &[Message],
        _cursor: Option<&str>,
    ) -> Result<StatusReport, BackendError> {
        if !self.inner.config.spool_dir.is_dir() {
            return Err(BackendError::Outage(format!(
                "spool_dir {} is not there",
                self.inner.config.spool_dir.display()
            )));
        }
        let inner = self.inner.clone();
        let messages = messages.to_vec();
        Ok(blocking(move || inner.scan(&messages.iter().collect::<Vec<_>>())).await)
    }

    async fn cancel(&self, message: &Message) -> Result<Cancel, BackendError> {
        let inner = self.inner.clone();
        let message = message.clone();
        Ok(blocking(move || inner.cancel(&message)).await)
    }

    fn pacing(&self) -> Option<&dyn Pacing> {
        Some(self)
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }

    /// Archives and dialplan reports arrive on their own.
    fn forget(&self) -> Option<&dyn crate::backend::Forget> {
        Some(self)
    }

    fn intake(&self) -> Option<&dyn Intake> {
        Some(self)
    }
}

#[async_trait]
impl Pacing for Asterisk {
    async fn capacity(&self, in_flight: usize) -> usize {
        let inner = self.inner.clone();
        let spooled = blocking(move || inner.spooled_count()).await;
        let busy = in_flight.max(spooled);
        let paced = self
            .inner
            .pacer
            .lock()
            .map(|mut p| p.available(Instant::now()))
            .unwrap_or(0);
        self.inner
            .config
            .max_in_flight
            .saturating_sub(busy)
            .min(paced)
    }

    fn limits(&self) -> dialout_model::pace::Pace {
        dialout_model::pace::Pace {
            max_in_flight: Some(self.inner.config.max_in_flight),
            calls_per_second: Some(self.inner.config.calls_per_second),
        }
    }
}

#[async_trait]
impl Lookup for Asterisk {
    async fn find(&self, message: &Message) -> Result<Found, BackendError> {
        let inner = self.inner.clone();
        let message = message.clone();
        Ok(blocking(move || match inner.trace(&file_name(message.id)) {
            Some(p) => Found::Yes(inner.accepted(
                &message,
                (None, inner.config.max_retries),
                format!("found {} after an interrupted attempt", p.display()),
            )),
            None => Found::No,
        })
        .await)
    }
}

#[async_trait]
impl Intake for Asterisk {
    async fn collect(&self, pending: &[Message]) -> Result<StatusReport, BackendError> {
        let inner = self.inner.clone();
        let pending = pending.to_vec();
        Ok(blocking(move || inner.intake(&pending)).await)
    }
}
