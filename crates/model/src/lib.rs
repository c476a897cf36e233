//! dialout's values and pure rules: what a message is, its states, phone numbers, templates,
//! calling hours, the do-not-call rules and the pacing arithmetic. No I/O, no async runtime,
//! no other dialout crate: every layer above builds on these types.

pub mod config_error;
pub mod dnc;
pub mod duration;
pub mod hours;
pub mod id;
pub mod interactive;
pub mod json;
pub mod message;
pub mod pace;
pub mod phone;
pub mod related;
pub mod state;
pub mod template;

pub use config_error::ConfigError;
pub use dnc::{Cap, DncEntry, RecipientLimits, Screen, Screened};
pub use duration::{Duration, DurationError};
pub use id::{InvalidMessageId, MessageId};
pub use interactive::{
    AnsweredBy, Gather, GatherError, GatherSpec, Interactive, MachinePolicy, Reply,
};
pub use message::{
    HistoryEntry, InvalidPriority, InvalidTag, JsonMap, Message, NewMessage, Priority, Tag,
};
pub use phone::{PhoneError, PhoneNumber};
pub use related::{InvalidRelated, RelatedObject};
pub use state::{State, UnknownState};
pub use template::{NewTemplate, Refusal, Template, TemplateChange, TemplateError};
