//! Why a store call failed.

use dialout_model::dnc::Screened;
use dialout_model::id::MessageId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("idempotency key {key:?} was already used for message {existing} with other content")]
    IdempotencyConflict { key: String, existing: MessageId },
    #[error("template {0:?} already exists")]
    TemplateExists(String),
    #[error("no template {0:?}")]
    NoTemplate(String),
    #[error("token {0:?} already exists")]
    TokenExists(String),
    /// A message from template `slug` already exists for exactly these related objects,
    /// and the template allows no duplicates: nothing was stored.
    #[error("a message from template {slug:?} already exists for these related objects")]
    Duplicate { slug: String },
    /// Refused for its recipient (do-not-call, cap, dedupe): nothing was stored.
    #[error(transparent)]
    Screened(#[from] Screened),
    #[error("invalid database URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    /// An SQLite file that cannot be created or opened.
    #[error("cannot open database file {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `url` is without its password.
    #[error("cannot connect to PostgreSQL at {url}: {}", crate::pg::describe(.source))]
    Connect {
        url: String,
        #[source]
        source: ::postgres::Error,
    },
    #[error(
        "the database schema is version {found}, newer than this dialout knows ({known}): upgrade dialout"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", crate::pg::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("stored row is unreadable: {what}: {detail}")]
    Corrupt { what: String, detail: String },
    /// Two messages were made with the same id.
    #[error("message {0} is already stored")]
    AlreadyStored(MessageId),
    /// A connection pool's lock was poisoned by a panic.
    #[error("connection pool lock poisoned")]
    Poisoned,
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what: what.to_string(),
            detail: detail.to_string(),
        }
    }
}
