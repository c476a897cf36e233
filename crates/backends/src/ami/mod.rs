//! The AMI backend: drives an Asterisk server over the Asterisk Manager Interface.
//!
//! Life of a message: publish renders the audio, writes `originated` to AstDB
//! (`dialout/<id>`), and sends an Async Originate whose ActionID and ChannelId come from
//! the message id and attempt (READY). Events arrive on the one session: OriginateResponse
//! (answered or Reason), the dialplan's `UserEvent(DialoutReport)` and the channel's Hangup;
//! intake turns them into states (CALL_IN_PROGRESS at answer, the final state at hangup).
//! The dialplan also keeps the outcome in AstDB: after a reconnect (or in a new process)
//! the calls whose events may be lost are read back with DBGet before anything is retried,
//! and the key is removed (DBDel) once the final state is stored.

pub mod audio;
pub mod calls;
mod collect;
pub mod config;
pub mod doctor;
mod events;
mod forget;
pub mod group;
mod ivr;
mod place;
mod proto;
mod restarts;
mod session;

use std::collections::HashSet;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Notify;

pub use calls::{End, Verdict, judge};
pub use config::{AmiConfig, AmiSettings, AudioPlace, ChannelTemplate, DEFAULT_CONTEXT, Retry};
pub use group::{Group, GroupSettings};
pub use session::{AmiError, Link};

use crate::backend::{
    Accepted, Backend, BackendError, Cancel, Found, Intake, Lookup, Pacing, Publish, StatusReport,
};
use crate::shared::pacer::Pacer;
use crate::tts::{AudioCache, EspeakNg, Tts};
use calls::Calls;
use dialout_model::config_error::ConfigError;
use dialout_model::id::MessageId;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::state::State;
use session::{Endpoint, Events, Session};

/// The dialplan for this backend; `dialout asterisk dialplan --ami` prints it.
pub const DIALPLAN: &str = include_str!("../../../../dialplan/dialout-ami.conf");

const CLEANUP_EVERY: Duration = Duration::from_secs(600);
const AUDIO_GRACE: Duration = Duration::from_secs(600);
/// The longest wait between two connection attempts: after a restart, the calls are
/// decided at most this long after Asterisk takes logins again.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long the first connection may take before publish gives up for now.
const SETTLE: Duration = Duration::from_secs(5);

pub struct Ami {
    inner: Arc<Inner>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Ami {
    fn drop(&mut self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
    }
}

struct Inner {
    name: String,
    config: AmiConfig,
    session: Arc<Session>,
    calls: Mutex<Calls>,
    audio: AudioCache,
    pacer: Mutex<Pacer>,
    wake: Arc<Notify>,
    /// What is known of Asterisk's restarts: calls placed before one are over.
    restarts: Mutex<restarts::Restarts>,
    /// Bumped whenever every call's AstDB record must be read again (logged in again, or
    /// Asterisk said how long it has been up): a DBGet answered before a bump is not
    /// trusted.
    reread: AtomicU64,
    last_cleanup: Mutex<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_epoch() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The ActionID of one attempt: `dialout-<id>-<attempt>`, so that any process can tell
/// which message an OriginateResponse is about.
pub fn action_id(id: MessageId, attempt: u32) -> String {
    format!("dialout-{id}-{attempt}")
}

fn parse_action_id(aid: &str) -> Option<(MessageId, u32)> {
    let rest = aid.strip_prefix("dialout-")?;
    let (id, attempt) = rest.rsplit_once('-')?;
    Some((id.parse().ok()?, attempt.parse().ok()?))
}

/// The ChannelId (the channel's Uniqueid) of one attempt: a UUID derived from the message
/// id and the attempt.
pub fn channel_id(id: MessageId, attempt: u32) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(id.as_uuid().as_bytes());
    h.update(attempt.to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h.finalize()[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn sender_u32(m: &Message, key: &str) -> Option<u32> {
    m.extra_sender_data
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

impl Ami {
    /// From `[backends.NAME]`, with espeak-ng.
    pub fn from_settings(name: &str, settings: &AmiSettings) -> Result<Self, ConfigError> {
        Self::start(
            name,
            AmiConfig::new(name, settings)?,
            Arc::new(EspeakNg::new()),
        )
    }

    /// Checks the speech engine and the audio directory; connects on first use.
    pub fn start(name: &str, config: AmiConfig, tts: Arc<dyn Tts>) -> Result<Self, ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: format!("backends.{name}.{key}"),
            reason,
        };
        tts.check(&config.voice)
            .map_err(|e| invalid("voice", e.to_string()))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&config.audio_dir)
            .map_err(|e| {
                invalid(
                    "audio_dir",
                    format!("cannot create {}: {e}", config.audio_dir.display()),
                )
            })?;
        let audio = AudioCache::new(config.audio_dir.clone(), tts, None, None);
        let session = Session::new(Endpoint {
            host: config.host.clone(),
            port: config.port,
            username: config.username.clone(),
            secret: config.secret.clone(),
            ping_every: Duration::from_secs(10),
            backoff_max: BACKOFF_MAX,
            auth_retry: Duration::from_secs(60),
        });
        Ok(Ami {
            inner: Arc::new(Inner {
                name: name.to_string(),
                pacer: Mutex::new(Pacer::new(config.calls_per_second)),
                config,
                session,
                calls: Mutex::new(Calls::default()),
                audio,
                wake: Arc::new(Notify::new()),
                restarts: Mutex::new(restarts::Restarts::default()),
                reread: AtomicU64::new(0),
                last_cleanup: Mutex::new(Instant::now()),
            }),
            task: Mutex::new(None),
        })
    }

    /// Keep-alive and reconnect timing (defaults: Ping every 10 s, backoff up to 2 s).
    /// Only before the first use.
    pub fn with_timing(mut self, ping_every: Duration, backoff_max: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            let mut e = inner.session_endpoint();
            e.ping_every = ping_every;
            e.backoff_max = backoff_max;
            inner.session = Session::new(e);
        }
        self
    }

    pub fn config(&self) -> &AmiConfig {
        &self.inner.config
    }

    /// The session's state now (connecting, up, down, login refused).
    pub fn link(&self) -> Link {
        self.inner.session.link()
    }

    /// Starts the session if needed and waits (at most `d`) until it is up.
    pub async fn connect(&self, d: Duration) -> Link {
        self.ensure_started();
        self.inner.session.wait_up(d).await;
        self.link()
    }

    /// Notified when events arrive that intake should look at.
    pub fn results_changed(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    /// Calls placed and not over yet.
    pub fn live_calls(&self) -> usize {
        lock(&self.inner.calls).live()
    }

    /// Sends one action on this backend's session (for `dialout doctor`).
    pub async fn action(&self, headers: &[(&str, &str)]) -> Result<session::Reply, AmiError> {
        self.ensure_started();
        self.inner.session.settled(SETTLE).await;
        self.inner.session.request(headers).await
    }

    fn ensure_started(&self) {
        let mut task = lock(&self.task);
        if task.is_none() {
            let weak: std::sync::Weak<dyn Events> = Arc::downgrade(&self.inner) as _;
            *task = Some(self.inner.session.spawn(weak));
        }
    }

    /// Publishes `m` as attempt `attempt` (used by a group too).
    pub(crate) async fn place(&self, m: &Message, attempt: u32, extra: JsonMap) -> Publish {
        self.ensure_started();
        self.inner.place(m, attempt, extra).await
    }

    pub(crate) async fn collect_for(&self, pending: &[Message]) -> StatusReport {
        self.ensure_started();
        self.inner.collect(pending).await
    }

    /// Room for new calls now: 0 while the session is down.
    pub(crate) async fn room(&self, in_flight: usize) -> usize {
        self.ensure_started();
        match self.inner.session.settled(SETTLE).await {
            Link::Up => {}
            // One message gets through, to be paused with the login error.
            Link::AuthFailed(_) => return 1,
            _ => return 0,
        }
        let live = lock(&self.inner.calls).live();
        let paced = lock(&self.inner.pacer).available(Instant::now());
        self.inner
            .config
            .max_in_flight
            .saturating_sub(in_flight.max(live))
            .min(paced)
    }

    /// The audio file of `key` (`<64 hex>` from the URL `{audio_url}/<key>.wav`), only while
    /// `m` is in flight.
    pub fn audio_file(&self, m: &Message, key: &str) -> Option<PathBuf> {
        if m.id == doctor::test_id() {
            let path = self.inner.config.audio_dir.join(doctor::TEST_AUDIO);
            let ours = audio::key_matches(self.inner.config.secret.expose(), m.id, key);
            return (ours && path.is_file()).then_some(path);
        }
        let secret = self.inner.config.secret.expose();
        let field = if audio::key_matches(secret, m.id, key) {
            "audio"
        } else if audio::prompt_key_matches(secret, m.id, key) {
            "prompt_audio"
        } else {
            return None;
        };
        if m.is_final_state
            || !matches!(self.inner.config.audio, AudioPlace::Url(_))
            || audio::key_message(key) != Some(m.id)
        {
            return None;
        }
        let cache_key = m.extra_sender_data.get(field)?.as_str()?;
        let path = self.inner.audio.path_of(cache_key);
        path.is_file().then_some(path)
    }

    pub(crate) async fn find_call(&self, m: &Message) -> Result<Found, BackendError> {
        self.ensure_started();
        self.inner.find(m).await
    }

    pub(crate) fn cancel_call(&self, m: &Message) -> Cancel {
        self.inner.cancel(m)
    }

    /// Removes cached audio no message in flight needs; returns how many files went.
    pub fn cleanup_audio(&self, pending: &[Message]) -> usize {
        self.inner.cleanup_audio_now(pending)
    }
}

impl Inner {
    fn session_endpoint(&self) -> Endpoint {
        Endpoint {
            host: self.config.host.clone(),
            port: self.config.port,
            username: self.config.username.clone(),
            secret: self.config.secret.clone(),
            ping_every: Duration::from_secs(10),
            backoff_max: BACKOFF_MAX,
            auth_retry: Duration::from_secs(60),
        }
    }

    fn paused(&self, why: &str) -> Publish {
        Publish::Paused {
            reason: format!(
                "the AMI login as {:?} on {}:{} was refused ({why}): check username and secret (or secret_env)",
                self.config.username, self.config.host, self.config.port
            ),
        }
    }

    async fn db_get(&self, id: MessageId) -> Result<Option<String>, AmiError> {
        self.db_get_in("dialout", id).await
    }

    async fn db_get_in(&self, family: &str, id: MessageId) -> Result<Option<String>, AmiError> {
        let key = id.to_string();
        let r = self
            .session
            .request(&[("Action", "DBGet"), ("Family", family), ("Key", &key)])
            .await?;
        if !r.success() {
            // Only a missing key is "no record": a refusal (Asterisk shutting down, no
            // permission) says nothing about the call.
            if r.message().to_ascii_lowercase().contains("not found") {
                return Ok(None);
            }
            return Err(AmiError::Refused(format!(
                "Asterisk refused DBGet {family}/{key}: {}",
                r.message()
            )));
        }
        Ok(r.events
            .iter()
            .find(|e| e.is("Event", "DBGetResponse"))
            .and_then(|e| e.get("Val"))
            .map(str::to_string))
    }

    /// Removes the key of a call whose final state is stored; true once it is gone. Only
    /// `Response: Success` (or a key already missing) counts: a DBDel refused while Asterisk
    /// shuts down deleted nothing, and is sent again after the next login.
    async fn db_del(&self, id: MessageId) -> bool {
        self.db_del_in("dialout", id).await
    }

    async fn db_del_in(&self, family: &str, id: MessageId) -> bool {
        let key = id.to_string();
        match self
            .session
            .request(&[("Action", "DBDel"), ("Family", family), ("Key", &key)])
            .await
        {
            Ok(r) if r.success() => true,
            Ok(r) if r.message().to_ascii_lowercase().contains("not found") => true,
            Ok(r) => {
                tracing::debug!(backend = %self.name, "DBDel {family}/{key} refused ({}); sent again later", r.message());
                false
            }
            Err(e) => {
                tracing::debug!(backend = %self.name, "DBDel {family}/{key}: {e}; sent again later");
                false
            }
        }
    }

    async fn find(&self, m: &Message) -> Result<Found, BackendError> {
        if self.session.settled(SETTLE).await != Link::Up {
            return Err(BackendError::Outage(format!(
                "not connected to {}:{}",
                self.config.host, self.config.port
            )));
        }
        match self.db_get(m.id).await {
            Ok(None) => Ok(Found::No),
            Ok(Some(v)) => {
                let attempt = v
                    .split(' ')
                    .nth(2)
                    .filter(|_| v.starts_with("originated"))
                    .and_then(|a| a.parse().ok())
                    .or_else(|| sender_u32(m, "ami_attempt"))
                    .unwrap_or(1);
                let mut data = JsonMap::new();
                data.insert("ami_attempt".into(), Value::from(attempt));
                data.insert(
                    "ami_action_id".into(),
                    Value::String(action_id(m.id, attempt)),
                );
                data.insert(
                    "ami_channel_id".into(),
                    Value::String(channel_id(m.id, attempt)),
                );
                Ok(Found::Yes(Accepted::ready(
                    data,
                    format!("AstDB dialout/{} holds {v:?}", m.id),
                )))
            }
            Err(e) => Err(BackendError::Outage(e.to_string())),
        }
    }

    fn cleanup_audio(&self, pending: &[Message]) {
        {
            let mut last = lock(&self.last_cleanup);
            if last.elapsed() < CLEANUP_EVERY {
                return;
            }
            *last = Instant::now();
        }
        self.cleanup_audio_now(pending);
    }

    fn cleanup_audio_now(&self, pending: &[Message]) -> usize {
        let keep: HashSet<String> = pending
            .iter()
            .flat_map(|m| {
                ["audio", "prompt_audio"]
                    .into_iter()
                    .filter_map(|k| m.extra_sender_data.get(k)?.as_str().map(str::to_string))
            })
            .collect();
        match self.audio.cleanup(&keep, AUDIO_GRACE) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(backend = %self.name, error = %e, "audio cleanup failed");
                0
            }
        }
    }

    fn cancel(&self, m: &Message) -> Cancel {
        let calls = lock(&self.calls);
        match calls.by_id.get(&m.id) {
            None if m.state == State::Rescheduled => Cancel::Withdrawn,
            None => Cancel::TooLate("the call was placed; its outcome is not known yet".into()),
            Some(c) if c.answered => Cancel::TooLate("the callee already answered".into()),
            Some(c) if c.ended.is_some() && m.state == State::Rescheduled => Cancel::Withdrawn,
            Some(c) if c.ended.is_some() => Cancel::TooLate("the call already ended".into()),
            Some(_) => Cancel::TooLate("Asterisk is dialing it right now".into()),
        }
    }
}

#[async_trait]
impl Backend for Ami {
    fn name(&self) -> &str {
        &self.inner.name
    }

    async fn publish(&self, message: &Message) -> Publish {
        let attempt = sender_u32(message, "ami_attempt").map_or(1, |a| a + 1);
        self.place(message, attempt, JsonMap::new()).await
    }

    async fn cancel(&self, message: &Message) -> Result<Cancel, BackendError> {
        Ok(self.cancel_call(message))
    }

    /// The AMI dialplan carries AMD() and Read() (Exten `ivr`).
    fn check_interactive(
        &self,
        _ask: &dialout_model::interactive::Interactive,
    ) -> Result<(), String> {
        Ok(())
    }

    fn pacing(&self) -> Option<&dyn Pacing> {
        Some(self)
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }

    fn intake(&self) -> Option<&dyn Intake> {
        Some(self)
    }

    fn audio(&self, message: &Message, key: &str) -> Option<PathBuf> {
        self.audio_file(message, key)
    }

    fn forget(&self) -> Option<&dyn crate::backend::Forget> {
        Some(self)
    }
}

#[async_trait]
impl Pacing for Ami {
    async fn capacity(&self, in_flight: usize) -> usize {
        self.room(in_flight).await
    }

    fn limits(&self) -> dialout_model::pace::Pace {
        dialout_model::pace::Pace {
            max_in_flight: Some(self.inner.config.max_in_flight),
            calls_per_second: Some(self.inner.config.calls_per_second),
        }
    }
}

#[async_trait]
impl Lookup for Ami {
    async fn find(&self, message: &Message) -> Result<Found, BackendError> {
        self.find_call(message).await
    }
}

#[async_trait]
impl Intake for Ami {
    async fn collect(&self, pending: &[Message]) -> Result<StatusReport, BackendError> {
        Ok(self.collect_for(pending).await)
    }

    fn changed(&self) -> Option<Arc<Notify>> {
        Some(self.results_changed())
    }
}

/// When the recipient's calling window closes (epoch ms), as the delivery told the backend.
fn window_end(m: &Message) -> Option<i64> {
    m.extra_sender_data
        .get(dialout_model::hours::CALLING_HOURS_END)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
}

/// How long a call may ring (ms): a retry must be over before the window closes.
fn ring_ms(config: &AmiConfig) -> i64 {
    config.wait_time.as_millis() as i64
}
