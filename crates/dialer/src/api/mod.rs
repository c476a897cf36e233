//! The rest of [`Dialer`], the one application API: reading messages, cancel and resend,
//! templates, the worker and the status check. Sending is in `send.rs`. The CLI, and later
//! the HTTP server, call nothing else of this crate.
//!
//! Every method is async and runs its store work off the async executor.

mod access;
mod asterisk;
mod audio;
mod delivery;
mod details;
mod doctor;
mod errors;
pub mod json;
mod messages;
mod open;
mod overview;
mod preview;
mod templates;
mod token_cache;

pub use access::CreatedToken;
pub use asterisk::{InvalidContext, ami_dialplan, asterisk_dialplan};
pub use doctor::{Check, DoctorReport, check_ami_backends, check_asterisk_backends};
pub use errors::Error;
pub use messages::Page;
pub use open::OpenError;
pub use overview::BackendHealth;
pub use token_cache::FRESH as TOKEN_FRESH;
pub(crate) use token_cache::TokenCache;
