//! The spooler's life cycle (`pbx_spool.c`): queue, attempts, retries, archive, crash.
//!
//! All state that matters lives in the call file itself, as in Asterisk: every time a queued
//! entry comes due the file is read again, and its `StartRetry`/`EndRetry` lines decide.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, FileTimes, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::callee::{Callee, Callees, DialResult, reason};
use super::clock::{Clock, FakeMillis, secs};
use super::dialplan::{AppRun, Dialplan, Env, Progress, Run};
use super::reader::{CallFile, LineMode, read_call_file};

/// Final word Asterisk appends to an archived file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Completed,
    Expired,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "Completed",
            Status::Expired => "Expired",
            Status::Failed => "Failed",
        }
    }
}

/// What became of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Renamed into `outgoing_done`; `Status:` appended after the archive gap.
    Archived,
    /// Deleted without a trace.
    Deleted,
    /// `AlwaysDelete: no` and an mtime in the future: left in `outgoing`.
    LeftInSpool,
    /// The file was no longer in `outgoing` (already archived by an earlier decision).
    Gone,
}

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    InProgress,
    /// The callee answered (the file will be `Completed`).
    Answered,
    /// The dial failed with this REASON.
    Failed(i32),
    /// The fake crashed during the attempt.
    Crashed,
    /// Clean stop during the attempt.
    Stopped,
}

/// One attempt (one `StartRetry`), as the fake understood and made it.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub file_name: String,
    /// `AST_OUTGOING_ATTEMPT`.
    pub number: i32,
    /// The fake Asterisk pid written in `StartRetry`.
    pub pid: u32,
    /// `Tech/Dest` dialed.
    pub channel: String,
    /// Everything read from the file for this attempt.
    pub call_file: CallFile,
    /// The callee behaviour used (`None` when the channel could not be dialed at all).
    pub callee: Option<Callee>,
    pub started: FakeMillis,
    pub answered: Option<FakeMillis>,
    pub ended: Option<FakeMillis>,
    pub outcome: AttemptOutcome,
    /// Applications run, on the dialed channel and on `OutgoingSpoolFailed`.
    pub apps: Vec<AppRun>,
    /// Channel variables at the end (the answered channel's, else the failed channel's).
    pub variables: BTreeMap<String, String>,
    /// `CDR(...)` writes from `Set:` lines.
    pub cdr: Vec<(String, String)>,
    /// What Asterisk would warn about (missing audio, unsimulated application, ...).
    pub warnings: Vec<String>,
    /// The fake could not do what was asked (outside its subset): tests should assert none.
    pub errors: Vec<String>,
}

/// The end of a file's life in the spool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEnd {
    pub file_name: String,
    pub status: Status,
    pub disposition: Disposition,
    pub at: FakeMillis,
    /// Why it failed, for `Failed` (unreadable or invalid).
    pub detail: Option<String>,
}

/// Everything a test can inspect.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    pub attempts: Vec<Attempt>,
    pub ends: Vec<FileEnd>,
    /// Dials per file name, across crashes and restarts.
    pub dials: BTreeMap<String, u32>,
    /// Most regular files seen in `outgoing` at once (sampled at every scan and event).
    pub max_files_in_spool: usize,
    /// `DelayedRetry` lines written.
    pub delayed_retries: u32,
    /// Spooler-level warnings (unable to set utime, rename failed, ...).
    pub warnings: Vec<String>,
}

impl Observations {
    pub fn attempts_of<'a>(&'a self, file_name: &'a str) -> impl Iterator<Item = &'a Attempt> + 'a {
        self.attempts
            .iter()
            .filter(move |a| a.file_name == file_name)
    }
    /// The call file as the fake read it at its first attempt (`None` if never dialed: see
    /// [`read_call_file`](super::read_call_file) for files that were invalid).
    pub fn understood(&self, file_name: &str) -> Option<&CallFile> {
        self.attempts
            .iter()
            .find(|a| a.file_name == file_name)
            .map(|a| &a.call_file)
    }
    /// The last end recorded for this file name.
    pub fn end_of(&self, file_name: &str) -> Option<&FileEnd> {
        self.ends.iter().rev().find(|e| e.file_name == file_name)
    }
    /// File names dialed more than once.
    pub fn dialed_more_than_once(&self) -> Vec<&str> {
        self.dials
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k.as_str())
            .collect()
    }
    /// Every error of every attempt (the dialplan or a `Set:` left the fake's subset).
    pub fn errors(&self) -> Vec<String> {
        self.attempts
            .iter()
            .flat_map(|a| {
                a.errors
                    .iter()
                    .map(move |e| format!("{}#{}: {e}", a.file_name, a.number))
            })
            .collect()
    }
    /// Attempts still running.
    pub fn in_progress(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::InProgress)
            .count()
    }
}

/// Settings shared by both modes.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub spool_dir: PathBuf,
    pub done_dir: PathBuf,
    pub dialplan: Option<Dialplan>,
    pub sounds_dir: PathBuf,
    pub line_mode: LineMode,
    pub pid: u32,
    pub technologies: Vec<String>,
    pub archive_gap: Duration,
    pub run_as: Option<(u32, u32)>,
}

enum Phase {
    Dialing { at: FakeMillis, result: DialResult },
    Answered,
    FailedExten { reason: i32 },
}

struct ActiveCall {
    name: String,
    cf: CallFile,
    attempt: i32,
    record: usize,
    run: Run,
    phase: Phase,
}

pub(crate) struct Engine {
    cfg: Config,
    pub(crate) clock: Clock,
    pid: u32,
    pub(crate) callees: Callees,
    running: bool,
    /// Asterisk's `dirlist`: (when, name), ordered by time.
    queue: BTreeSet<(i64, String)>,
    calls: HashMap<u64, ActiveCall>,
    wakes: BTreeSet<(FakeMillis, u64)>,
    status_appends: BTreeSet<(FakeMillis, PathBuf, Status)>,
    /// Files taken (name → inode), so a file is taken once, as inotify would.
    known: HashMap<String, u64>,
    /// Created in place: `Some(deadline)` until opened (a file created but never opened, such
    /// as a hard link, is taken at the deadline, 2 s later), `None` once opened (taken at its
    /// first close-write).
    created: HashMap<String, Option<i64>>,
    next_id: u64,
    pub(crate) obs: Observations,
}

impl Engine {
    pub(crate) fn new(cfg: Config, clock: Clock, callees: Callees) -> std::io::Result<Engine> {
        fs::create_dir_all(&cfg.spool_dir)?;
        let pid = cfg.pid;
        let mut e = Engine {
            cfg,
            clock,
            pid,
            callees,
            running: false,
            queue: BTreeSet::new(),
            calls: HashMap::new(),
            wakes: BTreeSet::new(),
            status_appends: BTreeSet::new(),
            known: HashMap::new(),
            created: HashMap::new(),
            next_id: 0,
            obs: Observations::default(),
        };
        e.start();
        Ok(e)
    }

    pub(crate) fn spool_dir(&self) -> &Path {
        &self.cfg.spool_dir
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Start-up: scan the directory once and queue every regular file.
    fn start(&mut self) {
        self.running = true;
        self.known.clear();
        self.created.clear();
        self.discover();
    }

    /// kill -9: every call and timer vanishes; an archive waiting for its Status stays without.
    pub(crate) fn crash(&mut self) {
        let now = self.clock.now();
        let calls: Vec<ActiveCall> = self.calls.drain().map(|(_, c)| c).collect();
        for call in calls {
            self.close_record(&call, now, AttemptOutcome::Crashed);
        }
        self.queue.clear();
        self.wakes.clear();
        self.status_appends.clear();
        self.created.clear();
        self.running = false;
    }

    /// Clean stop: calls in progress are hung up and their files end `Expired`.
    pub(crate) fn stop(&mut self) {
        let now = self.clock.now();
        let ids: Vec<u64> = self.calls.keys().copied().collect();
        for id in ids {
            let mut call = self.calls.remove(&id).expect("listed call");
            let env = Env {
                dialplan: self.cfg.dialplan.as_ref(),
                sounds_dir: &self.cfg.sounds_dir,
            };
            if matches!(call.phase, Phase::Answered | Phase::FailedExten { .. }) {
                call.run.force_hangup(now, &env);
            }
            self.close_record(&call, now, AttemptOutcome::Stopped);
            self.remove_from_queue(&call.name, &call.cf, Status::Expired, now, None);
        }
        let pending: Vec<_> = std::mem::take(&mut self.status_appends)
            .into_iter()
            .collect();
        for (_, path, status) in pending {
            append_status(&path, status);
        }
        self.queue.clear();
        self.wakes.clear();
        self.created.clear();
        self.running = false;
    }

    /// Start again after `crash` or `stop`, as a new process (new pid).
    pub(crate) fn restart(&mut self) {
        if self.running {
            self.crash();
        }
        self.pid += 1;
        self.start();
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running
    }

    /// Nothing queued, running or waiting to be appended.
    pub(crate) fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && self.calls.is_empty()
            && self.status_appends.is_empty()
            && self.created.values().all(Option::is_none)
    }

    /// The earliest pending event, in fake time.
    pub(crate) fn next_event(&self) -> Option<FakeMillis> {
        if !self.running {
            return None;
        }
        let q = self.queue.first().map(|(w, _)| w * 1000);
        let w = self.wakes.first().map(|(t, _)| *t);
        let s = self.status_appends.first().map(|(t, _, _)| *t);
        let c = self.created.values().flatten().min().map(|d| d * 1000);
        [q, w, s, c].into_iter().flatten().min()
    }

    /// Process every event due at the clock's now.
    pub(crate) fn process_due(&mut self) {
        while self.running {
            let now = self.clock.now();
            match self.next_event() {
                Some(t) if t <= now => self.process_one(t, now),
                _ => break,
            }
        }
    }

    /// One event at fake time `t` (processed at `now` ≥ `t`): archive appends, then calls,
    /// then queue entries.
    fn process_one(&mut self, t: FakeMillis, now: FakeMillis) {
        if let Some(first) = self.status_appends.first().cloned()
            && first.0 <= t
        {
            self.status_appends.remove(&first);
            append_status(&first.1, first.2);
            return;
        }
        if let Some(&(wt, id)) = self.wakes.first()
            && wt <= t
        {
            self.wakes.remove(&(wt, id));
            self.wake_call(id, wt);
            return;
        }
        let expired = self
            .created
            .iter()
            .find(|(_, d)| d.is_some_and(|d| d * 1000 <= t))
            .map(|(n, _)| n.clone());
        if let Some(name) = expired {
            self.created.remove(&name);
            self.take(&name);
            return;
        }
        if let Some(entry) = self.queue.first().cloned() {
            self.queue.remove(&entry);
            self.queue_file(&entry.1, entry.0, now);
        }
    }

    /// Find regular files not taken yet (a new name or a new inode) and queue them.
    /// Step mode calls this before running; background mode as its rescan fallback.
    pub(crate) fn discover(&mut self) {
        if !self.running {
            return;
        }
        let Ok(dir) = fs::read_dir(&self.cfg.spool_dir) else {
            return;
        };
        let mut seen = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Ok(meta) = fs::metadata(entry.path())
                && meta.is_file()
            {
                seen.push((name, meta.ino()));
            }
        }
        self.obs.max_files_in_spool = self.obs.max_files_in_spool.max(seen.len());
        let present: HashSet<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        self.known.retain(|n, _| present.contains(n.as_str()));
        seen.sort();
        let now = self.clock.now();
        for (name, ino) in seen {
            if self.created.contains_key(&name) || self.known.get(&name) == Some(&ino) {
                continue;
            }
            self.known.insert(name.clone(), ino);
            self.queue_file(&name, 0, now);
        }
    }

    /// A regular file in the spool dir that was never taken (background: inotify or the rescan
    /// will take it soon).
    pub(crate) fn has_untaken_files(&self) -> bool {
        if !self.running {
            return false;
        }
        let Ok(dir) = fs::read_dir(&self.cfg.spool_dir) else {
            return false;
        };
        dir.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            fs::metadata(e.path())
                .is_ok_and(|m| m.is_file() && self.known.get(&name) != Some(&m.ino()))
        })
    }

    /// inotify IN_CREATE of a regular file: taken at its first close-write, or in 2 s if
    /// nobody opens it.
    pub(crate) fn on_created(&mut self, name: &str) {
        if self.running {
            let deadline = secs(self.clock.now()) + 2;
            self.created.insert(name.to_string(), Some(deadline));
            self.sample_count();
        }
    }

    /// inotify IN_OPEN: a created file now waits for its close-write.
    pub(crate) fn on_opened(&mut self, name: &str) {
        if let Some(entry) = self.created.get_mut(name) {
            *entry = None;
        }
    }

    /// inotify IN_CLOSE_WRITE: taken only if it was created in place.
    pub(crate) fn on_closed_write(&mut self, name: &str) {
        if self.running && self.created.remove(name).is_some() {
            self.take(name);
        }
    }

    /// inotify IN_MOVED_TO: taken at once.
    pub(crate) fn on_moved_in(&mut self, name: &str) {
        if self.running {
            self.created.remove(name);
            self.take(name);
        }
    }

    pub(crate) fn on_removed(&mut self, name: &str) {
        self.known.remove(name);
        self.created.remove(name);
    }

    fn take(&mut self, name: &str) {
        self.sample_count();
        let Ok(meta) = fs::metadata(self.cfg.spool_dir.join(name)) else {
            return;
        };
        if !meta.is_file() || self.known.get(name) == Some(&meta.ino()) {
            return;
        }
        self.known.insert(name.to_string(), meta.ino());
        let now = self.clock.now();
        self.queue_file(name, 0, now);
    }

    fn sample_count(&mut self) {
        if let Ok(dir) = fs::read_dir(&self.cfg.spool_dir) {
            let n = dir
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .count();
            self.obs.max_files_in_spool = self.obs.max_files_in_spool.max(n);
        }
    }

    /// `queue_file`: `when` 0 means "use the file's mtime".
    fn queue_file(&mut self, name: &str, when: i64, now: FakeMillis) {
        let when = if when == 0 {
            match fs::metadata(self.cfg.spool_dir.join(name)) {
                Ok(m) if m.is_file() => m.mtime(),
                _ => return,
            }
        } else {
            when
        };
        if self.queue.contains(&(when, name.to_string())) {
            return;
        }
        if when > secs(now) {
            self.queue.insert((when, name.to_string()));
            return;
        }
        let res = self.scan_service(name, now);
        if res > 0 {
            self.queue.insert((res, name.to_string()));
        }
    }

    /// `scan_service`: read the file again and decide. Returns when to look again (0: never).
    fn scan_service(&mut self, name: &str, now: FakeMillis) -> i64 {
        let path = self.cfg.spool_dir.join(name);
        let bytes = match fs::metadata(&path) {
            Err(_) => return 0, // gone: a stale queue entry
            Ok(m) if !self.can(&m, 0o4) => None,
            Ok(_) => fs::read(&path).ok(),
        };
        let Some(bytes) = bytes else {
            // Unreadable: deleted with the defaults, so never archived.
            let _ = fs::remove_file(&path);
            self.forget(name);
            self.obs.ends.push(FileEnd {
                file_name: name.to_string(),
                status: Status::Failed,
                disposition: Disposition::Deleted,
                at: now,
                detail: Some("unreadable".into()),
            });
            return 0;
        };
        let cf = read_call_file(&bytes, self.cfg.line_mode);
        if let Err(why) = cf.validate() {
            self.remove_from_queue(
                name,
                &cf,
                Status::Failed,
                now,
                Some(format!("invalid: {why}")),
            );
            return 0;
        }
        if cf.retries <= cf.max_retries {
            let next = secs(now) + i64::from(cf.retry_time);
            if cf.calling_pid != 0 && cf.calling_pid == i64::from(self.pid) {
                self.safe_append(&path, "DelayedRetry", cf.retries, cf.retry_time, now);
                self.obs.delayed_retries += 1;
            } else {
                let attempt = cf.retries + 1;
                if cf.calling_pid != 0 {
                    self.safe_append(&path, "AbortRetry", attempt, cf.retry_time, now);
                }
                self.safe_append(&path, "StartRetry", attempt, cf.retry_time, now);
                self.launch(name, cf, attempt, now);
            }
            return next;
        }
        self.remove_from_queue(name, &cf, Status::Expired, now, None);
        0
    }

    /// Append `\n<Kind>: <pid> <attempt> (<now>)\n` and set the mtime to now + RetryTime.
    fn safe_append(
        &mut self,
        path: &Path,
        kind: &str,
        attempt: i32,
        retry_time: i32,
        now: FakeMillis,
    ) {
        let now_s = secs(now);
        let Ok(meta) = fs::metadata(path) else { return };
        if self.can(&meta, 0o2)
            && let Ok(mut f) = OpenOptions::new().append(true).open(path)
        {
            let _ = write!(f, "\n{kind}: {} {attempt} ({now_s})\n", self.pid);
        }
        let owner_ok = self
            .cfg
            .run_as
            .is_none_or(|(uid, _)| uid == 0 || uid == meta.uid());
        // Without ownership utime fails and the append's own write leaves mtime = now
        // (fake now, since the fake's clock is not the wall clock).
        let stamp = if owner_ok {
            now_s + i64::from(retry_time)
        } else {
            self.obs.warnings.push(format!(
                "Unable to set utime on {}: Operation not permitted",
                path.display()
            ));
            now_s
        };
        let mtime = UNIX_EPOCH + Duration::from_secs(stamp.max(0) as u64);
        if let Ok(f) = OpenOptions::new().write(true).open(path) {
            let _ = f.set_times(FileTimes::new().set_modified(mtime).set_accessed(mtime));
        }
    }

    /// Permission check as the Asterisk user (`run_as`), else as this process.
    fn can(&self, meta: &fs::Metadata, bit: u32) -> bool {
        let Some((uid, gid)) = self.cfg.run_as else {
            return true;
        };
        if uid == 0 {
            return true;
        }
        let mode = meta.mode();
        if meta.uid() == uid {
            mode & (bit << 6) != 0
        } else if meta.gid() == gid {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    }

    fn forget(&mut self, name: &str) {
        self.known.remove(name);
        self.queue.retain(|(_, n)| n != name);
    }

    /// `remove_from_queue`: leave, delete, or archive then append Status after the gap.
    fn remove_from_queue(
        &mut self,
        name: &str,
        cf: &CallFile,
        status: Status,
        now: FakeMillis,
        detail: Option<String>,
    ) {
        let path = self.cfg.spool_dir.join(name);
        let mut end = FileEnd {
            file_name: name.to_string(),
            status,
            disposition: Disposition::Deleted,
            at: now,
            detail,
        };
        if !cf.always_delete
            && let Ok(m) = fs::metadata(&path)
            && secs(now) < m.mtime()
        {
            end.disposition = Disposition::LeftInSpool;
            self.obs.ends.push(end);
            return;
        }
        self.forget(name);
        if !path.exists() {
            end.disposition = Disposition::Gone;
            self.obs.ends.push(end);
            return;
        }
        if !cf.archive {
            let _ = fs::remove_file(&path);
            self.obs.ends.push(end);
            return;
        }
        let target = self.cfg.done_dir.join(name);
        let moved = fs::create_dir_all(&self.cfg.done_dir).is_ok() && {
            let _ = fs::remove_file(&target);
            fs::rename(&path, &target).is_ok()
        };
        if !moved {
            let _ = fs::remove_file(&path);
            self.obs
                .warnings
                .push(format!("could not archive {name}: deleted"));
            self.obs.ends.push(end);
            return;
        }
        end.disposition = Disposition::Archived;
        self.obs.ends.push(end);
        let gap = self.clock.fake_span(self.cfg.archive_gap);
        if gap <= 0 {
            append_status(&target, status);
        } else {
            self.status_appends.insert((now + gap, target, status));
        }
    }

    /// Start one attempt: create the channel, choose the callee, schedule the dial's end.
    fn launch(&mut self, name: &str, cf: CallFile, attempt: i32, now: FakeMillis) {
        *self.obs.dials.entry(name.to_string()).or_insert(0) += 1;
        let channel = cf.channel();
        let mut run = if cf.uses_application() {
            Run::application(&channel, &cf.dialed_application(), &cf.data)
        } else {
            Run::dialplan(
                &channel,
                &cf.dialed_context(),
                &cf.dialed_extension(),
                cf.priority,
            )
        };
        let timeout_ms = cf.dial_timeout_ms();
        if timeout_ms <= 0 {
            run.warnings.push(format!(
                "WaitTime {} overflows waittime * 1000 ({timeout_ms}): dialed without a time limit",
                cf.wait_time
            ));
        }
        run.apply_call_file_vars(&cf.variables, now);
        run.set_var("AST_OUTGOING_ATTEMPT", &attempt.to_string());
        let (callee, result) = match self.dialable(&cf) {
            Ok(()) => {
                let callee = self.callees.next_for(&channel);
                let result = callee.dial(timeout_ms);
                (Some(callee), result)
            }
            Err(why) => {
                run.warnings.push(why);
                (
                    None,
                    DialResult::Failed {
                        after: 0.0,
                        reason: reason::UNREACHABLE,
                    },
                )
            }
        };
        let after = match result {
            DialResult::Answered { after, .. } | DialResult::Failed { after, .. } => after,
        };
        self.obs.attempts.push(Attempt {
            file_name: name.to_string(),
            number: attempt,
            pid: self.pid,
            channel,
            call_file: cf.clone(),
            callee,
            started: now,
            answered: None,
            ended: None,
            outcome: AttemptOutcome::InProgress,
            apps: Vec::new(),
            variables: BTreeMap::new(),
            cdr: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
        });
        let record = self.obs.attempts.len() - 1;
        let id = self.next_id;
        self.next_id += 1;
        let wake = now + (after * 1000.0) as i64;
        self.calls.insert(
            id,
            ActiveCall {
                name: name.to_string(),
                cf,
                attempt,
                record,
                run,
                phase: Phase::Dialing { at: wake, result },
            },
        );
        self.wakes.insert((wake, id));
    }

    /// Unknown technology, or a Local channel into a missing extension: REASON 0 at once.
    fn dialable(&self, cf: &CallFile) -> Result<(), String> {
        if !self
            .cfg
            .technologies
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&cf.tech))
        {
            return Err(format!("unknown channel technology `{}`", cf.tech));
        }
        if cf.tech.eq_ignore_ascii_case("Local") {
            let target = cf.dest.split('/').next().unwrap_or("");
            let (exten, context) = target.split_once('@').unwrap_or((target, "default"));
            let exists = self
                .cfg
                .dialplan
                .as_ref()
                .is_some_and(|d| d.has_exten(context, exten));
            if !exists {
                return Err(format!(
                    "Local channel into missing extension {exten}@{context}"
                ));
            }
        }
        Ok(())
    }

    fn wake_call(&mut self, id: u64, t: FakeMillis) {
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        let env = Env {
            dialplan: self.cfg.dialplan.as_ref(),
            sounds_dir: &self.cfg.sounds_dir,
        };
        if let Phase::Dialing { at, result } = call.phase {
            match result {
                DialResult::Answered { hangup_after, .. } => {
                    self.obs.attempts[call.record].answered = Some(at);
                    call.run
                        .callee_hangs_up_at(hangup_after.map(|h| at + (h * 1000.0) as i64));
                    let party = self.obs.attempts[call.record]
                        .callee
                        .as_ref()
                        .map(|c| c.party())
                        .unwrap_or_else(|| super::callee::Party::person(&[]));
                    call.run.answered_as(at, party);
                    call.phase = Phase::Answered;
                }
                DialResult::Failed { reason, .. } => {
                    let has_failed = !call.cf.uses_application()
                        && self
                            .cfg
                            .dialplan
                            .as_ref()
                            .is_some_and(|d| d.has_exten(&call.cf.context, "failed"));
                    if !has_failed {
                        self.obs.attempts[call.record].outcome = AttemptOutcome::Failed(reason);
                        self.finish(call, t, false);
                        return;
                    }
                    // The `failed` extension on a pseudo channel, with REASON and the Set: lines.
                    let mut failed =
                        Run::dialplan("OutgoingSpoolFailed", &call.cf.context, "failed", 1);
                    failed.apply_call_file_vars(&call.cf.variables, t);
                    failed.set_var("AST_OUTGOING_ATTEMPT", &call.attempt.to_string());
                    failed.set_var("REASON", &reason.to_string());
                    let mut dialed = std::mem::replace(&mut call.run, failed);
                    // Keep what happened on the dialed channel (Set: function writes).
                    call.run.errors.append(&mut dialed.errors);
                    call.run.cdr.append(&mut dialed.cdr);
                    call.run.warnings.append(&mut dialed.warnings);
                    call.phase = Phase::FailedExten { reason };
                }
            }
        }
        match call.run.advance(t, &env) {
            Progress::SleepUntil(next) => {
                self.wakes.insert((next, id));
                self.calls.insert(id, call);
            }
            Progress::Finished(end) => {
                let answered = matches!(call.phase, Phase::Answered);
                let outcome = match call.phase {
                    Phase::FailedExten { reason } => AttemptOutcome::Failed(reason),
                    _ => AttemptOutcome::Answered,
                };
                self.obs.attempts[call.record].outcome = outcome;
                self.finish(call, end, answered);
            }
        }
    }

    fn close_record(&mut self, call: &ActiveCall, t: FakeMillis, outcome: AttemptOutcome) {
        let rec = &mut self.obs.attempts[call.record];
        rec.ended = Some(t);
        if rec.outcome == AttemptOutcome::InProgress || outcome != AttemptOutcome::InProgress {
            rec.outcome = outcome;
        }
        rec.apps = call.run.apps.clone();
        rec.variables = call
            .run
            .variables()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rec.cdr = call.run.cdr.clone();
        rec.warnings = call.run.warnings.clone();
        rec.errors = call.run.errors.clone();
    }

    /// `attempt_thread`'s ending: Completed, or EndRetry and requeue, or Expired.
    fn finish(&mut self, call: ActiveCall, t: FakeMillis, answered: bool) {
        let outcome = self.obs.attempts[call.record].outcome;
        self.close_record(&call, t, outcome);
        if answered {
            self.remove_from_queue(&call.name, &call.cf, Status::Completed, t, None);
        } else if call.attempt > call.cf.max_retries {
            self.remove_from_queue(&call.name, &call.cf, Status::Expired, t, None);
        } else {
            let path = self.cfg.spool_dir.join(&call.name);
            self.safe_append(&path, "EndRetry", call.attempt, call.cf.retry_time, t);
            self.queue_file(&call.name, secs(t) + i64::from(call.cf.retry_time), t);
        }
    }
}

/// `fopen(newfn, "a")` then `Status: X\n` (creates the file if a watcher took it meanwhile).
fn append_status(path: &Path, status: Status) {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "Status: {}", status.as_str());
    }
}
