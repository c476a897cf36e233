//! A faithful fake of Asterisk's call-file spooler (`pbx_spool`), for dialout's tests.
//!
//! **Deliberate duplicate.** This module reads call files on its own, by Asterisk's rules,
//! and never calls dialout's parser or renderer (the crate does not even depend on
//! `dialout-callfile`). It is the one place where the project's "no code written twice" rule
//! does not apply: a second, independent reading is what lets a wrong file fail a test as it
//! would fail on a real PBX. Its specification is `shared/reference/asterisk-callfiles.md`.

mod callee;
mod clock;
mod dialplan;
mod reader;
mod runner;
mod spooler;

pub use callee::{reason, Callee, Callees};
pub use clock::{real_unix_millis, secs, FakeMillis};
pub use dialplan::{AppRun, Dialplan, DialplanError, Step};
pub use reader::{ast_true, read_call_file, scan_int, CallFile, CallerId, Invalid, LineMode, MAX_LINE};
pub use runner::{BackgroundAsterisk, FakeAsterisk, FakeAsteriskBuilder, FakeError};
pub use spooler::{Attempt, AttemptOutcome, Disposition, FileEnd, Observations, Status};
