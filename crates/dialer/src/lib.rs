//! Dialer messages: model, states, templates, store, backends and delivery.
//!
//! Applications use [`Dialer`] (opened from a [`Config`]) and the types at this crate's
//! root; a new channel implements [`Backend`]. The `store` and `delivery` modules are the
//! machinery behind `Dialer`: public only so that the test suite and the benchmarks can
//! drive them directly, hidden from the docs, and not a stable API.

mod api;
pub mod backend;
pub mod backends;
mod blocking;
pub mod config;
#[doc(hidden)]
pub mod delivery;
pub mod dnc;
mod duration;
mod group_commit;
pub mod hours;
mod http_config;
mod id;
mod import;
mod message;
mod phone;
mod related;
mod send;
mod state;
#[doc(hidden)]
pub mod store;
pub mod template;
pub mod tts;
pub mod webhooks;

pub use api::{
    BackendHealth, Check, CreatedToken, DoctorReport, Error, InvalidContext, OpenError, Page,
    TOKEN_FRESH, ami_dialplan, asterisk_dialplan, check_ami_backends, check_asterisk_backends,
    json,
};
pub use backend::{Backend, Details};
pub use config::Config;
pub use delivery::{CancelOutcome, StatusRun, Worker, WorkerOptions, WorkerStats};
pub use dnc::{Cap, DncCheck, DncEntry, DncImport, RecipientLimits, Screened};
pub use duration::{Duration, DurationError};
pub use id::{InvalidMessageId, MessageId};
pub use import::{ImportPlan, ImportRow, ImportSpec, ImportStored, RowError};
pub use message::{
    HistoryEntry, InvalidPriority, InvalidTag, JsonMap, Message, NewMessage, Priority, Tag,
};
pub use phone::{PhoneError, PhoneNumber};
pub use related::{InvalidRelated, RelatedObject};
pub use send::{Dialer, InvalidInput, SendError, SendOptions, SendRequest, Sent, TemplateRequest};
pub use state::{State, UnknownState};
pub use store::tokens::{Scope, Token};
pub use store::{MessageFilter, NewTemplate, StateCount, Template, TemplateChange, WorkerBeat};
pub use template::{Refusal, TemplateError};
