//! The `Dialer`: the one application API over dialout's store and backends — sending,
//! delivery (claims, attempts, retries, calling hours, the do-not-call screen, routing,
//! group commit), status checks, webhooks, tokens and CSV import.
//!
//! Applications use [`Dialer`] (opened from a [`Config`]) and the model's types, re-exported
//! here; a new channel implements [`Backend`]. The `delivery` module is the machinery behind
//! `Dialer`: public only so that the test suite and the benchmarks can drive it, hidden from
//! the docs, and not a stable API. Only `api/` and `send/` add methods to `Dialer`.

pub mod api;
pub mod config;
#[doc(hidden)]
pub mod delivery;
pub mod dialer;
pub mod http_config;
pub mod retention;
pub mod send;
pub mod webhooks;

pub use api::access::CreatedToken;
pub use api::asterisk::{InvalidContext, ami_dialplan, asterisk_dialplan};
pub use api::dnc::{DncCheck, DncImport};
pub use api::doctor::{Check, DoctorReport, check_ami_backends, check_asterisk_backends};
pub use api::errors::Error;
pub use api::import::{ImportPlan, ImportRow, ImportSpec, ImportStored, RowError};
pub use api::messages::Page;
pub use api::open::OpenError;
pub use api::overview::BackendHealth;
pub use api::privacy::Erased;
pub use api::pymess;
pub use config::Config;
pub use delivery::cancel::CancelOutcome;
pub use delivery::status::StatusRun;
pub use delivery::worker::{Worker, WorkerOptions, WorkerStats};
pub use dialer::Dialer;
pub use dialer::token_cache::FRESH as TOKEN_FRESH;
pub use send::request::{InvalidInput, SendError, SendOptions, SendRequest, Sent, TemplateRequest};

pub use dialout_backends::backend::{Backend, Details};
pub use dialout_model::dnc::{Cap, DncEntry, RecipientLimits, Screened};
pub use dialout_model::duration::{Duration, DurationError};
pub use dialout_model::id::{InvalidMessageId, MessageId};
pub use dialout_model::interactive::{
    AnsweredBy, Gather, GatherError, GatherSpec, Interactive, MachinePolicy, Reply,
    UnknownMachinePolicy,
};
pub use dialout_model::json;
pub use dialout_model::message::{
    HistoryEntry, InvalidPriority, InvalidTag, JsonMap, Message, NewMessage, Priority, Tag,
};
pub use dialout_model::phone::{PhoneError, PhoneNumber};
pub use dialout_model::related::{InvalidRelated, RelatedObject};
pub use dialout_model::state::{State, UnknownState};
pub use dialout_model::template::{NewTemplate, Refusal, Template, TemplateChange, TemplateError};
pub use dialout_store::beats::WorkerBeat;
pub use dialout_store::health::StateCount;
pub use dialout_store::import_store::Imported;
pub use dialout_store::message_store::MessageFilter;
pub use dialout_store::tokens::{Scope, Token};
