//! The methods of [`Dialer`](crate::dialer::Dialer), the one application API, one file per
//! group: reading messages, cancel and resend, templates, the worker and the status check,
//! tokens, the do-not-call list, webhooks, the overview, doctor. Sending is in `send/`. The
//! CLI, the HTTP server and the dashboard call nothing else of this crate.
//!
//! Every method is async and runs its store work off the async executor.

pub mod access;
pub mod asterisk;
pub mod audio;
pub mod build;
pub mod delivery;
pub mod details;
pub mod dnc;
pub mod doctor;
pub mod errors;
pub mod import;
pub mod messages;
pub mod open;
pub mod overview;
pub mod preview;
pub mod privacy;
pub mod pymess;
pub mod templates;
pub mod webhooks;
