//! The `file` backend: an outbox directory another program consumes (and tests count).
//!
//! ```toml
//! [backends.outbox]
//! kind = "file"
//! dir = "/var/spool/dialout-outbox"   # created (mode 0700) when missing
//! max_in_flight = 100                 # optional: pacing, like a real dialer's capacity
//! ```
//!
//! Each accepted message becomes `<dir>/<id>.json` (the message as JSON, mode 0600). The file
//! is written under `<dir>/.tmp/` and hard-linked into place, so a reader never sees half a
//! file and a message can never be written twice. Every publish call also appends
//! `<id> <time>` to `<dir>/publish.log`, the audit trail that makes [`Lookup::find`](crate::backend::Lookup::find) exact
//! after a crash (and lets a test count publishes per message).
//!
//! Results come back as `<dir>/results/<id>.json`, written by the consumer:
//! `{"state": "ANSWERED_COMPLETE"}` (any state name or pymess code; `"final": true|false`
//! overrides the state's default) or `{"error": "what went wrong"}`, which makes the message
//! ERROR (final) with that error. For an interactive call the result may add
//! `"digits": "1"` (the keys pressed, finish key left out), `"answered_by": "human"`
//! (`machine`, `unknown`) and `"answered_at"` (RFC 3339; default: when it was read); the
//! answer's label comes from the message's gather. The outbox file carries the message's
//! `gather` and `machine` for the consumer. The status check reads them; a file it cannot read or
//! parse counts as a failed check, not as an outcome. Cancelling moves a message file not yet taken into `<dir>/cancelled/`.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;

use crate::backend::{
    Accepted, Backend, BackendError, Cancel, CheckFailure, Found, Lookup, Pacing, Publish,
    StatusReport, StatusUpdate,
};
use dialout_model::id::MessageId;
use dialout_model::interactive::{AnsweredBy, Interactive, PHONE_KEYS, Reply};
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::state::State;

/// `[backends.NAME] kind = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub dir: PathBuf,
    pub max_in_flight: Option<usize>,
}

pub struct FileBackend {
    name: String,
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    max_in_flight: Option<usize>,
}

const LOG: &str = "publish.log";

impl FileBackend {
    pub fn from_settings(name: &str, settings: &FileSettings) -> Self {
        Self::new(name, &settings.dir, settings.max_in_flight)
    }

    pub fn new(name: &str, dir: &Path, max_in_flight: Option<usize>) -> Self {
        FileBackend {
            name: name.to_string(),
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                max_in_flight,
            }),
        }
    }

    /// `<dir>/<id>.json`
    pub fn message_path(&self, id: MessageId) -> PathBuf {
        self.inner.message_path(id)
    }

    /// How many times each message was handed over, from the publish log.
    pub fn publish_counts(dir: &Path) -> std::io::Result<std::collections::HashMap<String, usize>> {
        let mut counts = std::collections::HashMap::new();
        let text = match fs::read_to_string(dir.join(LOG)) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        for line in text.lines() {
            if let Some(id) = line.split_whitespace().next() {
                *counts.entry(id.to_string()).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }
}

fn private_dir(path: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

impl Inner {
    fn message_path(&self, id: MessageId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn accepted(&self, id: MessageId, reason: &str) -> Accepted {
        let mut data = JsonMap::new();
        data.insert(
            "file".into(),
            self.message_path(id).display().to_string().into(),
        );
        Accepted::ready(data, reason)
    }

    fn publish(&self, m: &Message) -> Publish {
        let retry = |what: &str, e: std::io::Error| Publish::Retry {
            error: format!("file backend: cannot {what} in {}: {e}", self.dir.display()),
            ambiguous: false,
        };
        let tmp_dir = self.dir.join(".tmp");
        if let Err(e) = private_dir(&tmp_dir) {
            return retry("create the directory", e);
        }
        let body = match serde_json::to_vec_pretty(m) {
            Ok(b) => b,
            Err(e) => {
                return Publish::Failed {
                    error: format!("file backend: cannot encode the message: {e}"),
                };
            }
        };
        let tmp = tmp_dir.join(format!("{}.{:08x}", m.id, rand::random::<u32>()));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&body));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return retry("write the message", e);
        }
        let linked = fs::hard_link(&tmp, self.message_path(m.id));
        let _ = fs::remove_file(&tmp);
        let reason = match linked {
            Ok(()) => "written to the outbox",
            // It was handed over before; the log below shows the second call.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => "already in the outbox",
            Err(e) => return retry("place the message", e),
        };
        if let Err(e) = self.log(m.id) {
            tracing::warn!(id = %m.id, "file backend: cannot append to the publish log: {e}");
        }
        Publish::Accepted(self.accepted(m.id, reason))
    }

    fn log(&self, id: MessageId) -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(self.dir.join(LOG))?;
        // One write per line: appends from several processes do not interleave.
        f.write_all(format!("{id} {}\n", Timestamp::now()).as_bytes())
    }

    fn find(&self, m: &Message) -> Result<Found, BackendError> {
        let outage = |e: std::io::Error| {
            BackendError::Outage(format!("file backend {}: {e}", self.dir.display()))
        };
        if self.message_path(m.id).exists()
            || self
                .dir
                .join("cancelled")
                .join(format!("{}.json", m.id))
                .exists()
        {
            return Ok(Found::Yes(self.accepted(m.id, "found in the outbox")));
        }
        let counts = FileBackend::publish_counts(&self.dir).map_err(outage)?;
        Ok(if counts.contains_key(&m.id.to_string()) {
            Found::Yes(self.accepted(m.id, "found in the publish log"))
        } else {
            Found::No
        })
    }

    fn check(&self, messages: &[Message]) -> Result<StatusReport, BackendError> {
        if !self.dir.is_dir() {
            return Err(BackendError::Outage(format!(
                "file backend: {} is not a directory",
                self.dir.display()
            )));
        }
        let results = self.dir.join("results");
        let mut report = StatusReport::default();
        for m in messages {
            let path = results.join(format!("{}.json", m.id));
            let text = match fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => {
                    report.failures.push(CheckFailure {
                        id: m.id,
                        error: format!("cannot read {}: {e}", path.display()),
                    });
                    continue;
                }
            };
            match parse_result(&text).and_then(|r| Ok((reply(m, &text)?, r))) {
                Ok((reply, ResultFile::State { state, is_final })) => {
                    report.updates.push(StatusUpdate {
                        id: m.id,
                        state,
                        is_final,
                        error: None,
                        sender_data: JsonMap::new(),
                        reason: "result file".into(),
                        reply,
                    })
                }
                Ok((reply, ResultFile::Error(error))) => report.updates.push(StatusUpdate {
                    id: m.id,
                    state: State::Error,
                    is_final: true,
                    reason: format!("result file: error: {error}"),
                    error: Some(error),
                    sender_data: JsonMap::new(),
                    reply,
                }),
                Err(error) => report.failures.push(CheckFailure { id: m.id, error }),
            }
        }
        Ok(report)
    }

    fn cancel(&self, m: &Message) -> Result<Cancel, BackendError> {
        if self
            .dir
            .join("results")
            .join(format!("{}.json", m.id))
            .exists()
        {
            return Ok(Cancel::TooLate("a result was already reported".into()));
        }
        let cancelled = self.dir.join("cancelled");
        private_dir(&cancelled).map_err(|e| {
            BackendError::Outage(format!("file backend {}: {e}", cancelled.display()))
        })?;
        match fs::rename(
            self.message_path(m.id),
            cancelled.join(format!("{}.json", m.id)),
        ) {
            Ok(()) => Ok(Cancel::Withdrawn),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Cancel::TooLate(
                "the consumer already took it from the outbox".into(),
            )),
            Err(e) => Err(BackendError::Outage(format!(
                "file backend {}: {e}",
                self.dir.display()
            ))),
        }
    }
}

enum ResultFile {
    State { state: State, is_final: bool },
    Error(String),
}

fn parse_result(text: &str) -> Result<ResultFile, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        state: Option<serde_json::Value>,
        #[serde(rename = "final")]
        is_final: Option<bool>,
        error: Option<String>,
        // Read by `reply`.
        #[allow(dead_code)]
        digits: Option<serde_json::Value>,
        #[allow(dead_code)]
        answered_by: Option<serde_json::Value>,
        #[allow(dead_code)]
        answered_at: Option<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| format!("malformed result file: {e}"))?;
    match (raw.state, raw.error) {
        (_, Some(error)) => Ok(ResultFile::Error(error)),
        (Some(v), None) => {
            let state: State = serde_json::from_value(v.clone())
                .map_err(|e| format!("malformed result file: state {v}: {e}"))?;
            Ok(ResultFile::State {
                state,
                is_final: raw.is_final.unwrap_or(state.is_final_by_default()),
            })
        }
        (None, None) => Err("malformed result file: neither \"state\" nor \"error\"".into()),
    }
}

/// What a result file says came back from the callee of `m`.
fn reply(m: &Message, text: &str) -> Result<Reply, String> {
    #[derive(Deserialize)]
    struct Raw {
        digits: Option<String>,
        answered_by: Option<AnsweredBy>,
        answered_at: Option<Timestamp>,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| format!("malformed result file: {e}"))?;
    let at = raw.answered_at.unwrap_or_else(Timestamp::now);
    let mut reply = match (&raw.digits, &m.interactive.gather) {
        (None, _) => Reply::default(),
        (Some(d), _) if !d.chars().all(|c| PHONE_KEYS.contains(c)) => {
            return Err(format!(
                "malformed result file: digits {d:?}: expected keys of 0-9 * #"
            ));
        }
        (Some(d), Some(g)) => Reply::pressed(g, d, at),
        (Some(_), None) => {
            return Err("malformed result file: digits for a message that asked for none".into());
        }
    };
    if raw.answered_by.is_some() {
        reply.answered_by = raw.answered_by;
        reply.answered_at.get_or_insert(at);
    }
    Ok(reply)
}

/// File work is quick, but it is still blocking I/O: keep it off the executor.
async fn off_executor<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BackendError> {
    crate::shared::blocking::run(f)
        .await
        .map_err(|e| BackendError::Outage(format!("file backend task failed: {e}")))
}

#[async_trait]
impl Backend for FileBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn pacing(&self) -> Option<&dyn Pacing> {
        self.inner.max_in_flight.map(|_| self as &dyn Pacing)
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }

    /// The consumer gets the gather and machine policy in the outbox file.
    fn check_interactive(&self, _ask: &Interactive) -> Result<(), String> {
        Ok(())
    }

    fn forget(&self) -> Option<&dyn crate::backend::Forget> {
        Some(self)
    }

    async fn publish(&self, message: &Message) -> Publish {
        self.publish_many(std::slice::from_ref(message))
            .await
            .pop()
            .unwrap_or(Publish::Deferred)
    }

    async fn publish_many(&self, messages: &[Message]) -> Vec<Publish> {
        let (inner, list) = (Arc::clone(&self.inner), messages.to_vec());
        match off_executor(move || list.iter().map(|m| inner.publish(m)).collect()).await {
            Ok(v) => v,
            Err(e) => messages
                .iter()
                .map(|_| Publish::Retry {
                    error: e.to_string(),
                    ambiguous: true,
                })
                .collect(),
        }
    }

    async fn check_status(
        &self,
        messages: &[Message],
        _cursor: Option<&str>,
    ) -> Result<StatusReport, BackendError> {
        let (inner, list) = (Arc::clone(&self.inner), messages.to_vec());
        off_executor(move || inner.check(&list)).await?
    }

    async fn cancel(&self, message: &Message) -> Result<Cancel, BackendError> {
        let (inner, m) = (Arc::clone(&self.inner), message.clone());
        off_executor(move || inner.cancel(&m)).await?
    }
}

#[async_trait]
impl Pacing for FileBackend {
    async fn capacity(&self, in_flight: usize) -> usize {
        self.inner
            .max_in_flight
            .map_or(usize::MAX, |max| max.saturating_sub(in_flight))
    }

    fn limits(&self) -> dialout_model::pace::Pace {
        dialout_model::pace::Pace {
            max_in_flight: self.inner.max_in_flight,
            calls_per_second: None,
        }
    }
}

#[async_trait]
impl Lookup for FileBackend {
    async fn find(&self, message: &Message) -> Result<Found, BackendError> {
        let (inner, m) = (Arc::clone(&self.inner), message.clone());
        off_executor(move || inner.find(&m)).await?
    }
}

/// Erasure: the message's file in the outbox, its result and its withdrawn copy.
#[async_trait]
impl crate::backend::Forget for FileBackend {
    async fn forget(&self, messages: &[Message]) -> Result<usize, BackendError> {
        let dir = self.inner.dir.clone();
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        off_executor(move || {
            let mut removed = 0;
            for id in ids {
                let name = format!("{id}.json");
                for path in [
                    dir.join(&name),
                    dir.join("results").join(&name),
                    dir.join("cancelled").join(&name),
                ] {
                    match fs::remove_file(&path) {
                        Ok(()) => removed += 1,
                        Err(e) if e.kind() == ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(BackendError::Outage(format!(
                                "file backend: cannot remove {}: {e}",
                                path.display()
                            )));
                        }
                    }
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|e| BackendError::Outage(format!("file backend task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_files() {
        assert!(matches!(
            parse_result(r#"{"state":"ANSWERED_COMPLETE"}"#),
            Ok(ResultFile::State {
                state: State::AnsweredComplete,
                is_final: true
            })
        ));
        assert!(matches!(
            parse_result(r#"{"state":5,"final":true}"#),
            Ok(ResultFile::State {
                state: State::Done,
                is_final: true
            })
        ));
        assert!(matches!(
            parse_result(r#"{"state":"DONE"}"#),
            Ok(ResultFile::State {
                state: State::Done,
                is_final: false
            })
        ));
        assert!(
            matches!(parse_result(r#"{"error":"no such record"}"#), Ok(ResultFile::Error(e)) if e == "no such record")
        );
        for bad in [
            "{",
            r#"{"state":"SENT"}"#,
            "{}",
            r#"{"state":"DONE","x":1}"#,
        ] {
            let e = parse_result(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(e.starts_with("malformed result file"), "{bad}: {e}");
        }
    }
}
