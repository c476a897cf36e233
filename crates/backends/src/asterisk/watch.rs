//! Which call files changed since the last look: inotify (the `notify` crate) on the spool,
//! done and report directories. Only a hint: a periodic full rescan covers lost events.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::publish::name_from_path;

/// Names nobody asked about are dropped after this long; the rescan finds them anyway.
const KEEP_UNMATCHED: Duration = Duration::from_secs(600);

pub struct Watcher {
    _inner: RecommendedWatcher,
    changed: Arc<Mutex<HashMap<String, Instant>>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl Watcher {
    pub fn start(dirs: &[&Path], wake: Arc<tokio::sync::Notify>) -> Result<Self, String> {
        let changed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let failed: Arc<Mutex<Option<String>>> = Arc::default();
        let (c, f, w) = (changed.clone(), failed.clone(), wake.clone());
        let mut inner =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
                Ok(ev) => {
                    let mut any = false;
                    if let Ok(mut set) = c.lock() {
                        for p in &ev.paths {
                            if let Some(name) = name_from_path(p) {
                                set.insert(name, Instant::now());
                                any = true;
                            }
                        }
                    }
                    if any {
                        w.notify_one();
                    }
                }
                Err(e) => {
                    if let Ok(mut slot) = f.lock() {
                        *slot = Some(e.to_string());
                    }
                    w.notify_one();
                }
            })
            .map_err(|e| e.to_string())?;
        for dir in dirs {
            inner
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(Watcher {
            _inner: inner,
            changed,
            failed,
        })
    }

    /// Takes the changed names that `wanted` accepts; keeps the rest a while. Returns None
    /// when events were lost (queue overflow, watch error): then rescan everything.
    pub fn take(&self, wanted: impl Fn(&str) -> bool) -> Option<Vec<String>> {
        if let Ok(mut f) = self.failed.lock()
            && let Some(err) = f.take()
        {
            tracing::warn!(error = %err, "file watcher lost events; rescanning");
            return None;
        }
        let mut set = self.changed.lock().ok()?;
        let now = Instant::now();
        let mut out = Vec::new();
        set.retain(|name, at| {
            if wanted(name) {
                out.push(name.clone());
                false
            } else {
                now.duration_since(*at) < KEEP_UNMATCHED
            }
        });
        Some(out)
    }
}
