//! Retention (`[retention]`, off by default): final messages older than `messages` are
//! erased (their personal fields, their backends' files), delivered webhook rows older than
//! `webhook_deliveries` deleted, audio unused for `audio` removed — by the worker, a small
//! batch at a time, and by `dialout retention run`.
//!
//! ```toml
//! [retention]
//! messages = "90d"
//! webhook_deliveries = "14d"
//! audio = "7d"
//! related_objects = false   # also erase related objects' ids (erasure on request too)
//! ```

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::delivery::channels::Channels;
use crate::delivery::{DeliveryError, blocking};
use dialout_model::config_error::ConfigError;
use dialout_model::message::Message;
use dialout_store::EraseOptions;
use dialout_store::store::Store;

/// Messages read per batch by `dialout retention run` (erased in transactions of
/// [`dialout_store::privacy::ERASE_BATCH`]); the worker takes smaller steps (`retention_step.rs`).
pub const BATCH: usize = 200;

/// `[retention]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub messages: Option<dialout_model::duration::Duration>,
    pub webhook_deliveries: Option<dialout_model::duration::Duration>,
    pub audio: Option<dialout_model::duration::Duration>,
    #[serde(default)]
    pub related_objects: bool,
}

/// `[retention]` checked; every period None by default (nothing is erased).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RetentionSettings {
    pub messages: Option<Duration>,
    pub webhook_deliveries: Option<Duration>,
    pub audio: Option<Duration>,
    pub erase: EraseOptions,
}

fn period(
    key: &str,
    raw: Option<dialout_model::duration::Duration>,
) -> Result<Option<Duration>, ConfigError> {
    raw.map(|d| {
        d.positive()
            .map(dialout_model::duration::Duration::as_std)
            .map_err(|e| ConfigError::Invalid {
                key: format!("retention.{key}"),
                reason: e.to_string(),
            })
    })
    .transpose()
}

impl RetentionSettings {
    pub fn new(raw: &RetentionConfig) -> Result<Self, ConfigError> {
        Ok(RetentionSettings {
            messages: period("messages", raw.messages)?,
            webhook_deliveries: period("webhook_deliveries", raw.webhook_deliveries)?,
            audio: period("audio", raw.audio)?,
            erase: EraseOptions {
                related: raw.related_objects,
            },
        })
    }

    pub fn any(&self) -> bool {
        self.messages.is_some() || self.webhook_deliveries.is_some() || self.audio.is_some()
    }
}

/// What a retention pass erased (or, dry, would erase).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RetentionReport {
    pub messages: usize,
    pub webhook_deliveries: usize,
    /// Files removed: the messages' files and expired audio (0 in a dry run).
    pub files: usize,
}

fn before(now: Timestamp, age: Duration) -> Timestamp {
    dialout_model::duration::before(now, age)
}

/// Removes the backends' files of these (final) messages; returns how many.
pub(crate) async fn forget(backends: &Channels, messages: &[Message]) -> usize {
    let mut removed = 0;
    for (name, backend) in backends.iter() {
        let Some(f) = backend.forget() else { continue };
        let mine: Vec<Message> = messages
            .iter()
            .filter(|m| m.backend == name)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        match f.forget(&mine).await {
            Ok(n) => removed += n,
            Err(e) => tracing::warn!(backend = name, error = %e, "cannot remove message files"),
        }
    }
    removed
}

/// One batch of expired messages: their files, then their fields. Returns (erased, files).
pub(crate) async fn erase_batch(
    store: &Arc<dyn Store>,
    backends: &Channels,
    settings: &RetentionSettings,
    now: Timestamp,
    limit: usize,
) -> Result<(usize, usize), DeliveryError> {
    let Some(age) = settings.messages else {
        return Ok((0, 0));
    };
    let cutoff = before(now, age);
    let messages = blocking(store, move |s| {
        let ids = s.expired(cutoff, limit)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(s.message(id)?);
        }
        Ok(out)
    })
    .await?;
    if messages.is_empty() {
        return Ok((0, 0));
    }
    let files = forget(backends, &messages).await;
    let ids: Vec<_> = messages.iter().map(|m| m.id).collect();
    let opts = settings.erase;
    let erased = blocking(store, move |s| s.erase(&ids, opts)).await?;
    Ok((erased, files))
}

/// A whole pass (`dialout retention run`), or what it would do (`dry_run`).
pub async fn pass(
    store: &Arc<dyn Store>,
    backends: &Channels,
    settings: &RetentionSettings,
    now: Timestamp,
    dry_run: bool,
) -> Result<RetentionReport, DeliveryError> {
    let mut report = RetentionReport::default();
    if dry_run {
        if let Some(age) = settings.messages {
            let cutoff = before(now, age);
            report.messages = blocking(store, move |s| s.count_expired(cutoff)).await?;
        }
        if let Some(age) = settings.webhook_deliveries {
            let cutoff = before(now, age);
            report.webhook_deliveries =
                blocking(store, move |s| s.count_prunable_deliveries(cutoff)).await?;
        }
        return Ok(report);
    }
    loop {
        let (erased, files) = erase_batch(store, backends, settings, now, BATCH).await?;
        report.messages += erased;
        report.files += files;
        if erased == 0 {
            break;
        }
    }
    if let Some(age) = settings.webhook_deliveries {
        let cutoff = before(now, age);
        loop {
            let n = blocking(store, move |s| s.prune_deliveries(cutoff, BATCH)).await?;
            report.webhook_deliveries += n;
            if n < BATCH {
                break;
            }
        }
    }
    report.files += expire_audio(backends, settings).await;
    Ok(report)
}

/// Audio unused for `[retention] audio`, in every backend that keeps some.
pub(crate) async fn expire_audio(backends: &Channels, settings: &RetentionSettings) -> usize {
    let Some(age) = settings.audio else { return 0 };
    let mut removed = 0;
    for (name, backend) in backends.iter() {
        if let Some(f) = backend.forget() {
            match f.expire_audio(age).await {
                Ok(n) => removed += n,
                Err(e) => tracing::warn!(backend = name, error = %e, "cannot remove old audio"),
            }
        }
    }
    removed
}
