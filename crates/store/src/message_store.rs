//! What is kept of messages: each with its history, and the templates they are made from.
use crate::error::StoreError;
use dialout_model::dnc::Screen;
use dialout_model::id::MessageId;
use dialout_model::message::{HistoryEntry, Message, NewMessage, Tag};
use dialout_model::related::RelatedObject;
use dialout_model::state::State;
use dialout_model::template::{NewTemplate, Template, TemplateChange};
use jiff::Timestamp;

/// Messages with their history, and templates. Every method is one transaction.
pub trait MessageStore: Send + Sync {
    /// Stores new messages, with related objects, all in one transaction, as `mode` says:
    /// queued, claimed, or claimed with the first attempt begun; with
    /// [`InsertMode::unique_per_template`], a message its template's no-duplicates rule
    /// refuses is [`StoreError::Duplicate`] (decided in the same transaction, so two
    /// concurrent sends cannot both pass). A message whose idempotency key is already stored
    /// is not stored again: the first one comes back (`existing: true`, never claimed), or
    /// `IdempotencyConflict` when its content, recipient or template differ. On any error
    /// nothing is stored.
    fn insert(
        &self,
        new: &[NewMessage],
        mode: InsertMode<'_>,
        now: Timestamp,
    ) -> Result<Vec<Inserted>, StoreError>;
    fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError>;
    /// Newest first, unless the filter asks for another order.
    fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError>;
    /// The first entry (None → WAITING, "stored") is the creation itself.
    fn history(&self, id: MessageId) -> Result<Vec<HistoryEntry>, StoreError>;

    fn add_template(&self, template: &NewTemplate, now: Timestamp) -> Result<Template, StoreError>;
    fn update_template(
        &self,
        slug: &str,
        change: &TemplateChange,
        now: Timestamp,
    ) -> Result<Template, StoreError>;
    fn template(&self, slug: &str) -> Result<Option<Template>, StoreError>;
    fn templates(&self) -> Result<Vec<Template>, StoreError>;
    /// Messages keep the slug; their template link is cleared.
    fn remove_template(&self, slug: &str) -> Result<bool, StoreError>;
}

/// How [`Store::insert`] stores new messages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InsertMode<'a> {
    pub start: Start<'a>,
    /// Apply each message's template no-duplicates rule (see [`Store::insert`]).
    pub unique_per_template: bool,
    /// Do-not-call list, caps and dedupe, checked per message in the insert's transaction:
    /// a refused message is [`StoreError::Screened`] and nothing is stored.
    pub screen: Screen,
}

/// The state a new message starts in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Start<'a> {
    /// WAITING, for the worker.
    #[default]
    Queued,
    /// Claimed by `owner` until `until`, for publishing at once.
    Claimed { owner: &'a str, until: Timestamp },
    /// Claimed, and its first attempt begun (attempts 1, unresolved): one commit fewer.
    /// Only for backends that can tell afterwards whether they got a message: a sender that
    /// dies before recording the outcome leaves an attempt the next claimer looks up.
    Attempting { owner: &'a str, until: Timestamp },
}

impl<'a> InsertMode<'a> {
    pub const QUEUED: InsertMode<'static> = InsertMode {
        start: Start::Queued,
        unique_per_template: false,
        screen: Screen {
            dnc: false,
            limits: dialout_model::dnc::RecipientLimits {
                cap: None,
                dedupe_window: None,
            },
            allow_duplicate: false,
        },
    };
    pub fn claimed(owner: &'a str, until: Timestamp) -> Self {
        Start::Claimed { owner, until }.into()
    }
    pub fn attempting(owner: &'a str, until: Timestamp) -> Self {
        Start::Attempting { owner, until }.into()
    }
    /// With `on`, the templates' no-duplicates rule applies.
    pub fn unique_per_template(self, on: bool) -> Self {
        InsertMode {
            unique_per_template: on,
            ..self
        }
    }
    /// With these checks of each message (see [`Screen`]).
    pub fn screened(self, screen: Screen) -> Self {
        InsertMode { screen, ..self }
    }
    /// The claim the new messages get: owner, lease, and whether the attempt is begun.
    pub fn claim(&self) -> Option<(&'a str, Timestamp, bool)> {
        match self.start {
            Start::Queued => None,
            Start::Claimed { owner, until } => Some((owner, until, false)),
            Start::Attempting { owner, until } => Some((owner, until, true)),
        }
    }
}

impl<'a> From<Start<'a>> for InsertMode<'a> {
    fn from(start: Start<'a>) -> Self {
        InsertMode {
            start,
            ..InsertMode::QUEUED
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub message: Message,
    /// The idempotency key matched a message stored before; nothing new was stored.
    pub existing: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    pub state: Option<State>,
    pub tag: Option<Tag>,
    pub related: Option<RelatedObject>,
    pub backend: Option<String>,
    pub created_since: Option<Timestamp>,
    /// Only messages stored before this instant.
    pub created_before: Option<Timestamp>,
    /// Only messages to this number, as stored (E.164).
    pub recipient: Option<String>,
    /// Only messages whose reply has this answer label (interactive calls).
    pub answer: Option<String>,
    /// Only messages stored before this one (the next page, newest first).
    pub before: Option<MessageId>,
    /// Only messages sent and not final: those a backend still reports on.
    pub in_flight: bool,
    /// Only messages sent at or after this instant.
    pub sent_since: Option<Timestamp>,
    pub order: Order,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    NewestFirst,
    /// Oldest `sent_at` first (messages never sent last): what status checks walk.
    OldestSentFirst,
}
