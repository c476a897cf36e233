//! dialout's backends: the [`Backend`](backend::Backend) trait with its optional parts, one
//! folder or file per backend, text-to-speech, and the registry built from `[backends]`.
//! Depends on `dialout-model` and `dialout-callfile` only: a backend never touches the store
//! nor the delivery code, and no backend imports a sibling (what two share is in `shared`).

pub mod ami;
pub mod asterisk;
pub mod backend;
pub mod daktela;
pub mod dummy;
pub mod file;
pub mod registry;
pub mod settings;
pub mod shared;
pub mod tts;

pub use ami::{Ami, Group};
pub use asterisk::Asterisk;
pub use backend::{Backend, Details};
pub use daktela::Daktela;
pub use dummy::{Dummy, DummySettings};
pub use file::{FileBackend, FileSettings};
pub use registry::Backends;
pub use settings::{BACKEND_KINDS, BackendConfig, BackendSettings};
