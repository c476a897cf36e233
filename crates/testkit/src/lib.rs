//! Faithful fakes for dialout's tests: Asterisk's call-file spooler and Daktela's API.
//!
//! They follow `shared/reference/` exactly and share no code with dialout itself.

pub mod db;
pub mod fake_ami;
pub mod fake_asterisk;
pub mod fake_daktela;
