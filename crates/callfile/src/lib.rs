//! Asterisk call files: build, validate, render, parse and spool them safely.
//!
//! - [`Call::builder`] (channel, caller id, variables, account, timing, codecs, ...) and
//!   [`Action`] (application + data, or context + extension + priority) make a
//!   [`CallFile::builder`], validated by `build()`: every value is checked so that Asterisk
//!   reads back exactly what was given ([`BuildError`] names the field and the reason).
//! - [`CallFile::render`] gives the text; [`parse`] reads a file back with Asterisk's grammar,
//!   including the attempt lines and the `Status` of archived files ([`Parsed`], [`Outcome`]).
//! - [`CallFile::spool`] writes it atomically into the spool directory, now or at an exact
//!   instant; [`spool_batch`] does many with one flush ([`Durability::GroupCommit`]).
//!
//! ```
//! use dialout_callfile::{Action, Call, CallFile};
//!
//! let call = Call::builder().channel("SIP/flowroute/18002223333").build()?;
//! let cf = CallFile::builder()
//!     .call(call)
//!     .action(Action::application("Playback", "hello-world"))
//!     .build()?;
//! assert_eq!(cf.render(), "Channel: SIP/flowroute/18002223333\nApplication: Playback\nData: hello-world\n");
//! # Ok::<(), dialout_callfile::BuildError>(())
//! ```

mod action;
mod call;
mod callfile;
mod error;
mod parse;
mod render;
mod spool;
mod validate;

pub use action::Action;
pub use call::{Call, CallBuilder};
pub use callfile::{
    CallFile, CallFileBuilder, DEFAULT_MODE, DEFAULT_SPOOL_DIR, Durability, LineLimit,
    STAGING_SUBDIR,
};
pub use error::{BuildError, Field, SpoolError, ValidationError};
pub use parse::{Attempt, AttemptKind, Outcome, ParseError, Parsed, parse};
pub use render::render;
pub use spool::{BatchResult, spool_batch};
pub use validate::{APPLICATION_MAX, CALLERID_PART_MAX, CONTEXT_MAX, WAIT_TIME_MAX};
