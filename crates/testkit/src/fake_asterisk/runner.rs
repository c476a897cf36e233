//! The two ways to run the fake: step mode on the test's thread, background mode on its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};

use super::callee::Callees;
use super::clock::{Clock, FakeMillis, real_unix_millis};
use super::dialplan::{Dialplan, DialplanError};
use super::reader::LineMode;
use super::spooler::{Config, Engine, Observations};

/// Setting the fake up or running it failed.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    #[error("spool directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Dialplan(#[from] DialplanError),
    #[error("watching {path} with inotify: {source}")]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error(
        "not idle after {events} events, fake time {now} ms (a file left in the spool writes DelayedRetry for ever?)"
    )]
    NotIdle { events: u64, now: FakeMillis },
    #[error("went idle at fake time {now} ms without the condition being met")]
    Unmet { now: FakeMillis },
    #[error("condition not met within {0:?} (real time)")]
    Timeout(Duration),
}

/// Builds a fake Asterisk around a spool directory (`.../outgoing`).
#[derive(Clone, Debug)]
pub struct FakeAsteriskBuilder {
    cfg: Config,
    callees: Callees,
    start: Option<FakeMillis>,
    rescan_every: Duration,
    gap_set: bool,
}

impl FakeAsteriskBuilder {
    pub(crate) fn new(spool_dir: &Path) -> FakeAsteriskBuilder {
        let done_dir = spool_dir.parent().map_or_else(
            || PathBuf::from("outgoing_done"),
            |p| p.join("outgoing_done"),
        );
        FakeAsteriskBuilder {
            cfg: Config {
                spool_dir: spool_dir.to_path_buf(),
                done_dir,
                dialplan: None,
                sounds_dir: PathBuf::from("/var/lib/asterisk/sounds"),
                line_mode: LineMode::Modern,
                pid: 4242,
                technologies: ["PJSIP", "SIP", "IAX2", "DAHDI", "Local"]
                    .map(String::from)
                    .to_vec(),
                archive_gap: Duration::ZERO,
                run_as: None,
            },
            callees: Callees::default(),
            start: None,
            rescan_every: Duration::from_millis(500),
            gap_set: false,
        }
    }

    /// Archive directory (default: `outgoing_done` beside the spool dir).
    pub fn done_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cfg.done_dir = dir.as_ref().to_path_buf();
        self
    }
    /// Load the dialplan the Context form runs (checked against the supported subset).
    pub fn dialplan_file(mut self, path: impl AsRef<Path>) -> Result<Self, DialplanError> {
        self.cfg.dialplan = Some(Dialplan::load(path)?);
        Ok(self)
    }
    pub fn dialplan(mut self, dialplan: Dialplan) -> Self {
        self.cfg.dialplan = Some(dialplan);
        self
    }
    /// Where relative `Playback` names are looked up.
    pub fn sounds_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cfg.sounds_dir = dir.as_ref().to_path_buf();
        self
    }
    pub fn callees(mut self, callees: Callees) -> Self {
        self.callees = callees;
        self
    }
    /// Behave as an Asterisk older than 13.15/14.4: 255-byte chunks, the rest a new line.
    pub fn old_asterisk(mut self) -> Self {
        self.cfg.line_mode = LineMode::Old;
        self
    }
    /// The pid written in `StartRetry` lines (a restart adds one).
    pub fn pid(mut self, pid: u32) -> Self {
        self.cfg.pid = pid;
        self
    }
    /// Channel technologies that exist (default PJSIP, SIP, IAX2, DAHDI, Local).
    pub fn technologies(mut self, techs: &[&str]) -> Self {
        self.cfg.technologies = techs.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Fake Unix time at start, in seconds (default: the wall clock).
    pub fn start_at_unix(mut self, secs: i64) -> Self {
        self.start = Some(secs * 1000);
        self
    }
    /// Time between the archive rename and the `Status:` append: fake time in step mode,
    /// wall time in background mode (default 0 in step mode, 20 ms in background mode).
    pub fn archive_gap(mut self, gap: Duration) -> Self {
        self.cfg.archive_gap = gap;
        self.gap_set = true;
        self
    }
    /// Check file permissions as this Asterisk user (uid, gid): an unreadable file is deleted
    /// without archive, and a file it does not own keeps its mtime ("Unable to set utime").
    pub fn run_as(mut self, uid: u32, gid: u32) -> Self {
        self.cfg.run_as = Some((uid, gid));
        self
    }
    /// Background mode: how often the directory is rescanned besides inotify (default 500 ms).
    pub fn rescan_every(mut self, every: Duration) -> Self {
        self.rescan_every = every;
        self
    }

    /// Step mode: nothing happens until the test calls `run_*`; time jumps from event to event.
    pub fn build(self) -> Result<FakeAsterisk, FakeError> {
        let start = self
            .start
            .unwrap_or_else(|| real_unix_millis() / 1000 * 1000);
        let engine =
            Engine::new(self.cfg.clone(), Clock::step(start), self.callees).map_err(|source| {
                FakeError::Io {
                    path: self.cfg.spool_dir.clone(),
                    source,
                }
            })?;
        Ok(FakeAsterisk { engine })
    }

    /// Background mode: a thread watches the spool dir with inotify (plus a rescan) while
    /// fake time runs `speed` times faster than the wall clock.
    pub fn spawn(mut self, speed: f64) -> Result<BackgroundAsterisk, FakeError> {
        assert!(speed > 0.0, "speed must be positive");
        if !self.gap_set {
            self.cfg.archive_gap = Duration::from_millis(20);
        }
        let spool = self.cfg.spool_dir.clone();
        std::fs::create_dir_all(&spool).map_err(|source| FakeError::Io {
            path: spool.clone(),
            source,
        })?;
        let (tx, rx) = channel::<Msg>();
        let fs_tx = tx.clone();
        let mut watcher = notify::recommended_watcher(move |res| {
            let _ = fs_tx.send(Msg::Fs(res));
        })
        .map_err(|source| FakeError::Watch {
            path: spool.clone(),
            source,
        })?;
        watcher
            .watch(&spool, RecursiveMode::NonRecursive)
            .map_err(|source| FakeError::Watch {
                path: spool.clone(),
                source,
            })?;
        let start = self.start.unwrap_or_else(real_unix_millis);
        // The watch is set before the start-up scan, so no file falls between the two.
        let engine = Engine::new(self.cfg.clone(), Clock::scaled(start, speed), self.callees)
            .map_err(|source| FakeError::Io {
                path: spool.clone(),
                source,
            })?;
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            changed: Condvar::new(),
            quit: AtomicBool::new(false),
        });
        let thread_shared = Arc::clone(&shared);
        let rescan_every = self.rescan_every;
        let thread = std::thread::Builder::new()
            .name("fake-asterisk".into())
            .spawn(move || background_loop(thread_shared, rx, watcher, rescan_every))
            .map_err(|source| FakeError::Io {
                path: spool.clone(),
                source,
            })?;
        Ok(BackgroundAsterisk {
            shared,
            tx,
            thread: Some(thread),
        })
    }
}

/// The fake in step mode: the test drives it; virtual time jumps to the next event.
pub struct FakeAsterisk {
    engine: Engine,
}

impl FakeAsterisk {
    /// Start building a fake around `spool_dir` (Asterisk's `outgoing`; created if missing).
    pub fn builder(spool_dir: impl AsRef<Path>) -> FakeAsteriskBuilder {
        FakeAsteriskBuilder::new(spool_dir.as_ref())
    }

    /// Take new files, then run, jumping time from event to event, until nothing is queued,
    /// ringing, playing or waiting for its Status line. Gives up after a million events.
    ///
    /// A file that can never leave (for instance `AlwaysDelete: no` with its mtime pushed
    /// ahead, or a resubmitted archive) makes Asterisk write `DelayedRetry` for ever: after
    /// 500 of them in one run this returns [`FakeError::NotIdle`] instead of spinning.
    pub fn run_until_idle(&mut self) -> Result<(), FakeError> {
        self.engine.discover();
        let mut events = 0u64;
        let delayed_at_start = self.engine.obs.delayed_retries;
        while let Some(t) = self.engine.next_event() {
            events += 1;
            if events > 1_000_000 || self.engine.obs.delayed_retries - delayed_at_start > 500 {
                return Err(FakeError::NotIdle {
                    events,
                    now: self.engine.clock.now(),
                });
            }
            self.engine.clock.jump_to(t);
            self.engine.process_due();
        }
        Ok(())
    }

    /// Take new files and run event by event until `pred` holds; fails when the fake goes
    /// idle (or a million events pass) without it.
    pub fn run_until_observed(
        &mut self,
        mut pred: impl FnMut(&Observations) -> bool,
    ) -> Result<(), FakeError> {
        self.engine.discover();
        let mut events = 0u64;
        while !pred(&self.engine.obs) {
            let Some(t) = self.engine.next_event() else {
                return Err(FakeError::Unmet {
                    now: self.engine.clock.now(),
                });
            };
            events += 1;
            if events > 1_000_000 {
                return Err(FakeError::NotIdle {
                    events,
                    now: self.engine.clock.now(),
                });
            }
            self.engine.clock.jump_to(t);
            self.engine.process_due();
        }
        Ok(())
    }

    /// Take new files and run until fake time `t` (ms), leaving the clock there.
    pub fn run_until(&mut self, t: FakeMillis) {
        self.engine.discover();
        while let Some(next) = self.engine.next_event() {
            if next > t {
                break;
            }
            self.engine.clock.jump_to(next);
            self.engine.process_due();
        }
        self.engine.clock.jump_to(t);
    }

    /// Run for a span of fake time.
    pub fn run_for(&mut self, span: Duration) {
        let t = self.engine.clock.now() + span.as_millis() as i64;
        self.run_until(t);
    }

    /// Fake now, Unix milliseconds.
    pub fn now(&self) -> FakeMillis {
        self.engine.clock.now()
    }
    /// Fake now, Unix seconds (what `${EPOCH}` says).
    pub fn now_secs(&self) -> i64 {
        self.engine.clock.now().div_euclid(1000)
    }
    pub fn observations(&self) -> &Observations {
        &self.engine.obs
    }
    /// Replace the callees (their dial counters start again).
    pub fn set_callees(&mut self, callees: Callees) {
        self.engine.callees = callees;
    }
    /// The pid now written in `StartRetry` lines.
    pub fn pid(&self) -> u32 {
        self.engine.pid()
    }
    pub fn spool_dir(&self) -> &Path {
        self.engine.spool_dir()
    }
    /// Simulated kill -9: calls, timers and pending Status appends vanish.
    pub fn crash(&mut self) {
        self.engine.crash();
    }
    /// Clean stop: calls in progress end `Expired`.
    pub fn stop(&mut self) {
        self.engine.stop();
    }
    /// Start again (new pid) and scan the spool dir once, as at start-up.
    pub fn restart(&mut self) {
        self.engine.restart();
    }
    pub fn is_idle(&self) -> bool {
        self.engine.is_idle()
    }
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Poke,
}

struct Shared {
    engine: Mutex<Engine>,
    changed: Condvar,
    quit: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fake in background mode; stops its thread when dropped.
pub struct BackgroundAsterisk {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundAsterisk {
    /// A copy of everything observed so far.
    pub fn observations(&self) -> Observations {
        self.shared.lock().obs.clone()
    }
    /// Look at the observations without copying them.
    pub fn inspect<R>(&self, f: impl FnOnce(&Observations) -> R) -> R {
        f(&self.shared.lock().obs)
    }
    /// Block until `pred` holds (checked after every event), or fail after `timeout` (wall time).
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Observations) -> bool,
    ) -> Result<Observations, FakeError> {
        let deadline = Instant::now() + timeout;
        let mut eng = self.shared.lock();
        loop {
            if pred(&eng.obs) {
                return Ok(eng.obs.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FakeError::Timeout(timeout));
            }
            eng = self
                .shared
                .changed
                .wait_timeout(eng, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
    /// Block until nothing is queued or running and no file waits in the spool dir untaken.
    pub fn wait_idle(&self, timeout: Duration) -> Result<Observations, FakeError> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let eng = self.shared.lock();
                if eng.is_idle() && !eng.has_untaken_files() {
                    return Ok(eng.obs.clone());
                }
            }
            if Instant::now() >= deadline {
                return Err(FakeError::Timeout(timeout));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let eng = self.shared.lock();
            let _ = self
                .shared
                .changed
                .wait_timeout(eng, left.min(Duration::from_millis(50)));
        }
    }
    /// Fake now, Unix milliseconds.
    pub fn now(&self) -> FakeMillis {
        self.shared.lock().clock.now()
    }
    pub fn pid(&self) -> u32 {
        self.shared.lock().pid()
    }
    pub fn set_callees(&self, callees: Callees) {
        self.shared.lock().callees = callees;
        self.poke();
    }
    /// Simulated kill -9 (the watcher keeps running but nothing is taken until `restart`).
    pub fn crash(&self) {
        self.shared.lock().crash();
        self.poke();
    }
    /// Clean stop: calls in progress end `Expired`.
    pub fn stop(&self) {
        self.shared.lock().stop();
        self.poke();
    }
    /// Start again with a new pid and scan the spool dir once.
    pub fn restart(&self) {
        self.shared.lock().restart();
        self.poke();
    }
    pub fn is_running(&self) -> bool {
        self.shared.lock().is_running()
    }
    fn poke(&self) {
        let _ = self.tx.send(Msg::Poke);
        self.shared.changed.notify_all();
    }
    /// Stop the thread (also done on drop); returns the final observations.
    pub fn shutdown(mut self) -> Observations {
        self.halt();
        self.shared.lock().obs.clone()
    }
    fn halt(&mut self) {
        self.shared.quit.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Msg::Poke);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BackgroundAsterisk {
    fn drop(&mut self) {
        self.halt();
    }
}

fn background_loop(
    shared: Arc<Shared>,
    rx: std::sync::mpsc::Receiver<Msg>,
    _watcher: notify::RecommendedWatcher,
    rescan_every: Duration,
) {
    let mut next_rescan = Instant::now() + rescan_every;
    while !shared.quit.load(Ordering::SeqCst) {
        let timeout = {
            let eng = shared.lock();
            let until_event = eng
                .next_event()
                .map_or(rescan_every, |t| eng.clock.real_until(t));
            until_event.min(next_rescan.saturating_duration_since(Instant::now()))
        };
        let first = match rx.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut eng = shared.lock();
        let mut msg = first;
        while let Some(m) = msg {
            if let Msg::Fs(Ok(ev)) = m {
                on_fs_event(&mut eng, &ev);
            }
            msg = rx.try_recv().ok();
        }
        if Instant::now() >= next_rescan {
            eng.discover();
            next_rescan = Instant::now() + rescan_every;
        }
        eng.process_due();
        drop(eng);
        shared.changed.notify_all();
    }
}

fn on_fs_event(eng: &mut Engine, ev: &notify::Event) {
    let spool = eng.spool_dir().to_path_buf();
    for path in &ev.paths {
        if path.parent() != Some(spool.as_path()) {
            continue;
        }
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        match ev.kind {
            EventKind::Create(CreateKind::File) => eng.on_created(&name),
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => eng.on_closed_write(&name),
            EventKind::Access(AccessKind::Open(_)) => eng.on_opened(&name),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => eng.on_moved_in(&name),
            EventKind::Remove(RemoveKind::File)
            | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => eng.on_removed(&name),
            _ => {}
        }
    }
}
