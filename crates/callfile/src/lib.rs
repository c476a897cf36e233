//! Asterisk call files: build, validate, render, parse and spool them safely.
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
pub use callfile::{CallFile, CallFileBuilder, DEFAULT_MODE, DEFAULT_SPOOL_DIR, Durability, LineLimit, STAGING_SUBDIR};
pub use error::{BuildError, Field, SpoolError, ValidationError};
pub use parse::{Attempt, AttemptKind, Outcome, ParseError, Parsed, parse};
pub use render::render;
pub use spool::{BatchResult, spool_batch};
pub use validate::CALLERID_PART_MAX;
