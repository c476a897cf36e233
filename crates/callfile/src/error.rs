//! Typed errors: each names the field (or path) and the reason.

use std::fmt;
use std::path::PathBuf;

/// A field of a call file or of its spooling settings, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Channel,
    CallerId,
    Variable,
    Account,
    WaitTime,
    RetryTime,
    MaxRetries,
    Codecs,
    AlwaysDelete,
    EarlyMedia,
    Action,
    Application,
    Data,
    Context,
    Extension,
    Priority,
    Archive,
    Filename,
    Mode,
    User,
    Group,
    SpoolDir,
    StagingDir,
}

impl Field {
    /// The name used in messages (snake case, like the builder methods).
    pub fn name(self) -> &'static str {
        match self {
            Field::Channel => "channel",
            Field::CallerId => "callerid",
            Field::Variable => "variable",
            Field::Account => "account",
            Field::WaitTime => "wait_time",
            Field::RetryTime => "retry_time",
            Field::MaxRetries => "max_retries",
            Field::Codecs => "codecs",
            Field::AlwaysDelete => "always_delete",
            Field::EarlyMedia => "early_media",
            Field::Action => "action",
            Field::Application => "application",
            Field::Data => "data",
            Field::Context => "context",
            Field::Extension => "extension",
            Field::Priority => "priority",
            Field::Archive => "archive",
            Field::Filename => "filename",
            Field::Mode => "mode",
            Field::User => "user",
            Field::Group => "group",
            Field::SpoolDir => "spool_dir",
            Field::StagingDir => "staging_dir",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value that Asterisk would not read back exactly as given, or that it would misread.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: Field,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: Field, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Why a builder refused to build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("{0}: missing (required)")]
    Missing(Field),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl BuildError {
    /// The field the error is about.
    pub fn field(&self) -> Field {
        match self {
            BuildError::Missing(f) => *f,
            BuildError::Invalid(e) => e.field,
        }
    }
}

/// `uid 0 gid 0`, `uid 0` or `gid 0`: the owner a chown asked for, as a person writes it.
fn owner_text(uid: Option<u32>, gid: Option<u32>) -> String {
    match (uid, gid) {
        (Some(u), Some(g)) => format!("uid {u} gid {g}"),
        (Some(u), None) => format!("uid {u}"),
        (None, Some(g)) => format!("gid {g}"),
        (None, None) => "its owner".into(),
    }
}

/// Why a call file could not be spooled. Unless said otherwise, nothing was left behind.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("user: no such user {user:?} on this system")]
    NoSuchUser { user: String },
    #[error("group: no such group {group:?} on this system")]
    NoSuchGroup { group: String },
    #[error(
        "user: no permission to give {path} to {} \
         (chown needs root or CAP_CHOWN; or run as the Asterisk user and set no user)",
        owner_text(*.uid, *.gid)
    )]
    NoPermissionToChown {
        path: PathBuf,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    #[error("{field}: no permission to {action} in {path}")]
    SpoolDirPermission {
        field: Field,
        path: PathBuf,
        action: &'static str,
    },
    #[error("{field}: directory {path} does not exist")]
    MissingDir { field: Field, path: PathBuf },
    #[error(
        "staging_dir: {staging} is not on the filesystem of {spool} (rename gives EXDEV); \
         a copy would let Asterisk read a half-written file, so nothing was spooled"
    )]
    CrossFilesystem { staging: PathBuf, spool: PathBuf },
    #[error("at: invalid time {at}: {reason}")]
    InvalidTime { at: jiff::Timestamp, reason: String },
    #[error(
        "filename: {path} already exists in the spool directory (or twice in one batch); not overwritten"
    )]
    AlreadyExists { path: PathBuf },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "spooled {path}, but syncing its directory failed ({source}): the file may not survive a crash"
    )]
    NotDurable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chown_refusal_names_the_owner_as_a_person_writes_it() {
        let e = |uid, gid| {
            SpoolError::NoPermissionToChown {
                path: PathBuf::from("/s/x.call"),
                uid,
                gid,
            }
            .to_string()
        };
        assert!(
            e(Some(0), Some(5)).contains("to uid 0 gid 5 ("),
            "{}",
            e(Some(0), Some(5))
        );
        assert!(e(Some(7), None).contains("to uid 7 ("));
        assert!(e(None, Some(7)).contains("to gid 7 ("));
        assert!(!e(Some(0), None).contains("Some("));
    }
}
