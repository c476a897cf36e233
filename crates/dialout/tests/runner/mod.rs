//! Running the built `dialout` binary in the integration tests: one builder for every test
//! file. It starts from a clean environment (every `DIALOUT_*` variable of the outer
//! environment removed, `DIALOUT_LOG=warn`), takes a working directory, variables and
//! arguments, and either runs the binary to its end ([`Dialout::run`], a [`Run`]) or starts it
//! ([`Dialout::spawn`], [`Dialout::spawn_until`] a marker on stderr) for the worker tests.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_dialout");

/// The log level the binary runs at unless a test says otherwise.
pub const LOG: &str = "warn";

/// `dialout` ARGS, to run or to start.
pub struct Dialout {
    program: PathBuf,
    dir: Option<PathBuf>,
    /// In order; `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
    args: Vec<OsString>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    user: Option<(u32, u32)>,
}

impl Default for Dialout {
    fn default() -> Self {
        Self::new()
    }
}

impl Dialout {
    /// No `DIALOUT_*` variable from outside, `DIALOUT_LOG=warn`, the test's working directory.
    pub fn new() -> Dialout {
        Dialout {
            program: BIN.into(),
            dir: None,
            env: vec![("DIALOUT_LOG".into(), Some(LOG.into()))],
            args: Vec::new(),
            stdout: None,
            stderr: None,
            user: None,
        }
    }

    /// Runs in `dir` (else in the test's own working directory).
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Dialout {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Dialout {
        self.env
            .push((key.as_ref().into(), Some(value.as_ref().into())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Dialout {
        self.env.push((key.as_ref().into(), None));
        self
    }

    /// `DIALOUT_LOG=level`.
    pub fn log(self, level: &str) -> Dialout {
        self.env("DIALOUT_LOG", level)
    }

    /// No `DIALOUT_LOG`: the binary's own default level (info, or what -v/-q say).
    pub fn default_log(self) -> Dialout {
        self.env_remove("DIALOUT_LOG")
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Dialout {
        self.args.push(arg.as_ref().into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Dialout
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Where the child's stdout goes (`run` captures it unless this is set; `spawn_until`
    /// pipes it unless this is set; `spawn` inherits it unless this is set).
    pub fn stdout(mut self, stdout: impl Into<Stdio>) -> Dialout {
        self.stdout = Some(stdout.into());
        self
    }

    /// Where the child's stderr goes (ignored by `spawn_until`, which reads it).
    pub fn stderr(mut self, stderr: impl Into<Stdio>) -> Dialout {
        self.stderr = Some(stderr.into());
        self
    }

    /// Another copy of the binary (one the test linked where another user can reach it).
    pub fn program(mut self, program: impl AsRef<Path>) -> Dialout {
        self.program = program.as_ref().to_path_buf();
        self
    }

    /// Runs as this user and group (the test runs as root).
    pub fn user(mut self, uid: u32, gid: u32) -> Dialout {
        self.user = Some((uid, gid));
        self
    }

    /// The command as configured (stdout and stderr settings move into it).
    fn command(&mut self) -> Command {
        let mut cmd = Command::new(&self.program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("DIALOUT_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.args(&self.args);
        if let Some(out) = self.stdout.take() {
            cmd.stdout(out);
        }
        if let Some(err) = self.stderr.take() {
            cmd.stderr(err);
        }
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Runs the binary to its end.
    pub fn run(mut self) -> Run {
        let mut cmd = self.command();
        // A binary linked or copied a moment ago can be busy for a moment (ETXTBSY: a copy's
        // write handle inherited by a child another test thread forked meanwhile).
        for _ in 0..100 {
            match cmd.output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                r => {
                    let out = r.unwrap_or_else(|e| panic!("run {}: {e}", self.program.display()));
                    return Run {
                        code: out.status.code().unwrap_or(-1),
                        stdout: utf8("stdout", out.stdout),
                        stderr: utf8("stderr", out.stderr),
                    };
                }
            }
        }
        panic!("{}: still busy after 2 s", self.program.display());
    }

    /// `run` on tokio's blocking pool, for async tests whose fakes run on the test's runtime.
    pub async fn run_blocking(self) -> Run {
        tokio::task::spawn_blocking(move || self.run())
            .await
            .unwrap()
    }

    /// Starts the binary.
    pub fn spawn(mut self) -> Child {
        self.command().spawn().expect("spawn dialout")
    }

    /// Starts the binary and returns once it printed `marker` on stderr (the rest of stderr
    /// is drained in the background so the child never blocks on it). Its stdout is piped
    /// unless set. Fails the test, with what it said, if it ends or is late.
    pub fn spawn_until(mut self, marker: &str, timeout: Duration) -> Child {
        if self.stdout.is_none() {
            self.stdout = Some(Stdio::piped());
        }
        self.stderr = Some(Stdio::piped());
        let mut child = self.spawn();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let wanted = marker.to_string();
        let lines = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(&wanted) {
                    let _ = tx.send(true);
                }
                lines.lock().unwrap().push(line);
            }
            let _ = tx.send(false);
        });
        let said = || seen.lock().unwrap().join("\n");
        match rx.recv_timeout(timeout) {
            Ok(true) => child,
            Ok(false) => {
                panic!(
                    "dialout ended without reaching {marker:?}; stderr:\n{}",
                    said()
                )
            }
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "dialout did not reach {marker:?} within {timeout:?}; stderr:\n{}",
                    said()
                )
            }
        }
    }
}

fn utf8(what: &str, bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} is not UTF-8: {}",
            String::from_utf8_lossy(e.as_bytes())
        )
    })
}

/// A finished run: exit code (-1 if a signal ended it), stdout and stderr.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0, showing stdout and stderr if not.
    pub fn ok(self) -> Run {
        self.assert_code(0)
    }

    /// Asserts the exit code, showing stdout and stderr if it differs.
    pub fn assert_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Stdout as JSON; fails the test with the text if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Waits for a child with a deadline; kills it and fails the test if it is late.
pub fn wait_with_deadline(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dialout did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
