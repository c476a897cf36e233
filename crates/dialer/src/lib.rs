//! Dialer messages: model, states, templates, store, backends and delivery.

mod api;
pub mod backend;
pub mod backends;
mod blocking;
pub mod config;
pub mod delivery;
mod duration;
mod id;
mod message;
mod phone;
mod related;
pub mod send;
mod state;
pub mod store;
pub mod template;
pub mod tts;

pub use api::{
    Check, DoctorReport, Error, InvalidContext, OpenError, Page, asterisk_dialplan,
    check_asterisk_backends, json,
};
pub use backend::Backend;
pub use config::Config;
pub use delivery::{CancelOutcome, StatusRun, Worker, WorkerOptions, WorkerStats};
pub use duration::{Duration, DurationError};
pub use id::{InvalidMessageId, MessageId};
pub use message::{
    HistoryEntry, InvalidPriority, InvalidTag, JsonMap, Message, NewMessage, Priority, Tag,
};
pub use phone::{PhoneError, PhoneNumber};
pub use related::{InvalidRelated, RelatedObject};
pub use send::{Dialer, InvalidInput, SendError, SendOptions, SendRequest, Sent, TemplateRequest};
pub use state::{State, UnknownState};
pub use store::{MessageFilter, NewTemplate, Template, TemplateChange};
pub use template::{Refusal, TemplateError};
