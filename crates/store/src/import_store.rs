//! Messages and templates brought in from another system (`dialout import-pymess`): stored
//! as they were there — any state, their own times, attempts and history — rather than made
//! anew as `send` makes them. Each source id is recorded, so importing again stores nothing
//! twice.

use crate::error::StoreError;
use dialout_model::message::{HistoryEntry, Message};
use jiff::Timestamp;

/// A message ready to be stored as it is, made by `ImportedMessage::new`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedMessage {
    /// The whole row: id, state, times, attempts, data. No claim is stored with it.
    pub(crate) message: Message,
    /// History after the creation (which is `created_at` itself).
    pub(crate) history: Vec<HistoryEntry>,
    /// Its id in the source database: a message whose source id is recorded already is not
    /// stored again.
    pub(crate) source_id: i64,
    /// Its text columns as SQLite stores them, rendered by `new` on the thread that maps
    /// the rows, so that the thread that writes only binds them (an import is as fast as
    /// its writing thread).
    pub(crate) texts: Texts,
}

/// The id and the JSON columns of an imported message, rendered once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Texts {
    pub(crate) id: String,
    pub(crate) extra_data: String,
    pub(crate) extra_sender_data: String,
    pub(crate) history: String,
    pub(crate) related: Option<String>,
}

impl ImportedMessage {
    pub fn message(&self) -> &Message {
        &self.message
    }

    pub fn history(&self) -> &[HistoryEntry] {
        &self.history
    }

    pub fn source_id(&self) -> i64 {
        self.source_id
    }
}

/// A template ready to be stored with its own times.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTemplate {
    pub slug: String,
    pub body: String,
    pub active: bool,
    pub allow_duplicates: bool,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
}

/// What one call stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Stored now.
    pub imported: usize,
    /// Stored by an earlier import (or, for a template, one of that slug exists): left as it is.
    pub existing: usize,
}

/// Stores imported messages and templates; every call is one transaction.
pub trait ImportStore: Send + Sync {
    /// Stores the templates whose slug is not taken; a slug that is keeps its template.
    fn import_templates(&self, templates: &[ImportedTemplate]) -> Result<Imported, StoreError>;
    /// The stored template id of each slug that has one (the others are left out).
    fn template_ids(&self, slugs: &[String]) -> Result<Vec<(String, i64)>, StoreError>;
    /// Stores the messages whose source id is not recorded yet, with their related objects
    /// and history, and records their source ids, all in one transaction. A backend that
    /// keeps a status-check cursor forgets it when a sent, non-final message is stored for
    /// it, so its next check starts from the messages' own times. No webhook event is made.
    fn import_messages(&self, messages: &[ImportedMessage]) -> Result<Imported, StoreError>;
    /// The message stored for a source id, if any.
    fn imported_id(
        &self,
        source_id: i64,
    ) -> Result<Option<dialout_model::id::MessageId>, StoreError>;
}
