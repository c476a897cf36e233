//! Erasure for the AMI backend: what it keeps about a message is its rendered audio (a file
//! in `audio_dir`, named by a hash of the text) and, until the final state is stored, its
//! AstDB key `dialout/<id>` (times, the attempt and the hangup cause; no number). Both go;
//! the audio stays while another live call plays the same text.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::session::Link;
use super::{Ami, lock};
use crate::backend::{BackendError, Forget};
use dialout_model::id::MessageId;
use dialout_model::message::Message;

#[async_trait]
impl Forget for Ami {
    async fn forget(&self, messages: &[Message]) -> Result<usize, BackendError> {
        let inner = &self.inner;
        let erased: HashSet<MessageId> = messages.iter().map(|m| m.id).collect();
        // Audio another live call still plays stays (the same text makes the same file).
        let playing: HashSet<String> = lock(&inner.calls)
            .by_id
            .iter()
            .filter(|(id, c)| c.live() && !erased.contains(id))
            .filter_map(|(_, c)| c.audio.clone())
            .collect();
        let mut keys: Vec<String> = messages
            .iter()
            .filter_map(|m| m.extra_sender_data.get("audio").and_then(Value::as_str))
            .filter(|k| !playing.contains(*k) && is_key(k))
            .map(str::to_string)
            .collect();
        keys.sort();
        keys.dedup();
        let paths: Vec<_> = keys.iter().map(|k| inner.audio.path_of(k)).collect();
        let removed = crate::shared::blocking::run(move || {
            let mut n = 0;
            for path in paths {
                match std::fs::remove_file(&path) {
                    Ok(()) => n += 1,
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(BackendError::Outage(format!(
                            "cannot remove {}: {e}",
                            path.display()
                        )));
                    }
                }
            }
            Ok(n)
        })
        .await
        .map_err(|e| BackendError::Outage(e.to_string()))??;
        // Keys are deleted once a final state is stored; those this process still tracks
        // (a DBDel refused, or the call erased before it ended) go now. A key left by an
        // earlier process holds times and a hangup cause only, no number.
        let tracked: Vec<MessageId> = {
            let calls = lock(&inner.calls);
            erased
                .iter()
                .filter(|id| calls.by_id.contains_key(id))
                .copied()
                .collect()
        };
        if !tracked.is_empty() && inner.session.link() == Link::Up {
            for id in tracked {
                if inner.db_del(id).await {
                    lock(&inner.calls).remove(id);
                }
            }
        }
        Ok(removed)
    }

    async fn expire_audio(&self, age: Duration) -> Result<usize, BackendError> {
        let inner = self.inner.clone();
        let keep: HashSet<String> = lock(&inner.calls)
            .by_id
            .values()
            .filter(|c| c.live())
            .filter_map(|c| c.audio.clone())
            .collect();
        crate::shared::blocking::run(move || {
            inner
                .audio
                .cleanup(&keep, age)
                .map_err(|e| BackendError::Outage(e.to_string()))
        })
        .await
        .map_err(|e| BackendError::Outage(e.to_string()))?
    }
}

/// A cache key as the audio cache makes them (hex), never a path.
fn is_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_hexdigit())
}
