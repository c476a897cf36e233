//! Erasure: the files the Asterisk backend keeps about a message — its call file (archived
//! in `done_dir`, or left in the spool or staging), its report file and its audio.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use async_trait::async_trait;
use serde_json::Value;

use super::{Asterisk, blocking, sender_name};
use crate::backend::{BackendError, Forget};
use dialout_model::message::Message;

/// Removes `path`; true when it was there.
fn remove(path: &Path) -> Result<bool, BackendError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(BackendError::Outage(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}

#[async_trait]
impl Forget for Asterisk {
    async fn forget(&self, messages: &[Message]) -> Result<usize, BackendError> {
        let inner = self.inner.clone();
        let files: Vec<(String, Option<String>)> = messages
            .iter()
            .map(|m| {
                let audio = m.extra_sender_data.get("audio").and_then(Value::as_str);
                (sender_name(m), audio.map(str::to_string))
            })
            .collect();
        blocking(move || {
            let spooled: HashSet<String> = inner.spooled_audio();
            let c = &inner.config;
            let mut removed = 0;
            for (name, audio) in &files {
                for path in [
                    c.done_dir.join(name),
                    c.staging_dir.join(name),
                    c.report_path(name),
                ] {
                    removed += usize::from(remove(&path)?);
                }
                if let Some(key) = audio.as_deref().filter(|k| !spooled.contains(*k)) {
                    removed += usize::from(remove(&inner.audio.path_of(key))?);
                }
            }
            Ok(removed)
        })
        .await
    }

    async fn expire_audio(&self, age: std::time::Duration) -> Result<usize, BackendError> {
        let inner = self.inner.clone();
        blocking(move || {
            let keep = inner.spooled_audio();
            inner
                .audio
                .cleanup(&keep, age)
                .map_err(|e| BackendError::Outage(e.to_string()))
        })
        .await
    }
}
