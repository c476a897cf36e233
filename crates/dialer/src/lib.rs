//! Dialer messages: model, states, templates, store, backends and delivery.

pub mod backend;
pub mod backends;
pub mod config;
pub mod delivery;
pub mod store;
pub mod send;
pub mod template;
pub mod tts;
mod id;
mod message;
mod phone;
mod related;
mod state;

pub use backend::Backend;
pub use id::{InvalidMessageId, MessageId};
pub use message::{HistoryEntry, InvalidPriority, InvalidTag, JsonMap, Message, NewMessage, Priority, Tag};
pub use phone::{PhoneError, PhoneNumber};
pub use related::{InvalidRelated, RelatedObject};
pub use state::{State, UnknownState};
pub use send::{Dialer, InvalidInput, SendError, SendOptions, SendRequest, Sent, TemplateRequest};
