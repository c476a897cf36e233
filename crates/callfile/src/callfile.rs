//! A complete call file: the call, the action, and how to spool it.

use std::path::{Path, PathBuf};

use crate::action::Action;
use crate::call::Call;
use crate::error::{BuildError, Field, ValidationError};
use crate::render;
use crate::validate;

/// Asterisk's default spool directory.
pub const DEFAULT_SPOOL_DIR: &str = "/var/spool/asterisk/outgoing";

/// Name of the default staging directory, inside the spool directory (Asterisk skips subdirectories).
pub const STAGING_SUBDIR: &str = ".dialout-staging";

/// Default file mode: owner only.
pub const DEFAULT_MODE: u32 = 0o600;

/// Longest line the target Asterisk reads whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum LineLimit {
    /// 255 bytes (newline not counted): Asterisk before 13.15 / 14.4 reads 255-byte chunks
    /// and parses the rest of a longer line as a new line, which reopens injection.
    #[default]
    Legacy,
    /// 1022 bytes (newline not counted): Asterisk 13.15 / 14.4 and later.
    Modern,
}

impl LineLimit {
    pub fn max_bytes(self) -> usize {
        match self {
            LineLimit::Legacy => 255,
            LineLimit::Modern => 1022,
        }
    }
    /// `255` or `1022`.
    pub fn from_bytes(n: usize) -> Option<Self> {
        match n {
            255 => Some(LineLimit::Legacy),
            1022 => Some(LineLimit::Modern),
            _ => None,
        }
    }
}

/// How hard spooling works to make a spooled file survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// No fsync (pycall's behaviour): fastest; a crash may lose or truncate recent files.
    None,
    /// fsync each file before its rename and the spool directory after it.
    #[default]
    EachFile,
    /// Batch only: one filesystem flush for all staged files, rename all, sync each spool
    /// directory once. A single [`CallFile::spool`] treats it as `EachFile`.
    GroupCommit,
}

/// A validated call file plus its spooling settings. Built with [`CallFile::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFile {
    pub(crate) call: Call,
    pub(crate) action: Action,
    pub(crate) archive: bool,
    pub(crate) filename: Option<String>,
    pub(crate) staging_dir: Option<PathBuf>,
    pub(crate) user: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) spool_dir: PathBuf,
    pub(crate) mode: u32,
    pub(crate) line_limit: LineLimit,
    pub(crate) allow_set_functions: bool,
    pub(crate) durability: Durability,
}

impl CallFile {
    pub fn builder() -> CallFileBuilder {
        CallFileBuilder::default()
    }
    pub fn call(&self) -> &Call {
        &self.call
    }
    pub fn action(&self) -> &Action {
        &self.action
    }
    pub fn archive(&self) -> bool {
        self.archive
    }
    /// The name given, if any (otherwise a unique one is made at each spool).
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }
    pub fn spool_dir(&self) -> &Path {
        &self.spool_dir
    }
    /// The staging directory used: the one given, or `<spool_dir>/.dialout-staging`.
    pub fn staging_dir(&self) -> PathBuf {
        self.staging_dir
            .clone()
            .unwrap_or_else(|| self.spool_dir.join(STAGING_SUBDIR))
    }
    pub(crate) fn staging_is_default(&self) -> bool {
        self.staging_dir.is_none()
    }
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }
    pub fn mode(&self) -> u32 {
        self.mode
    }
    pub fn line_limit(&self) -> LineLimit {
        self.line_limit
    }
    pub fn durability(&self) -> Durability {
        self.durability
    }
    /// The file's text, exactly as spooled.
    pub fn render(&self) -> String {
        render::render(&self.call, &self.action, self.archive)
    }
}

/// Builds a [`CallFile`], in the style of lettre's `Message::builder()`.
#[derive(Debug, Clone)]
pub struct CallFileBuilder {
    call: Option<Call>,
    action: Option<Action>,
    archive: bool,
    filename: Option<String>,
    staging_dir: Option<PathBuf>,
    user: Option<String>,
    group: Option<String>,
    spool_dir: PathBuf,
    mode: u32,
    line_limit: LineLimit,
    allow_set_functions: bool,
    durability: Durability,
}

impl Default for CallFileBuilder {
    fn default() -> Self {
        CallFileBuilder {
            call: None,
            action: None,
            archive: false,
            filename: None,
            staging_dir: None,
            user: None,
            group: None,
            spool_dir: PathBuf::from(DEFAULT_SPOOL_DIR),
            mode: DEFAULT_MODE,
            line_limit: LineLimit::default(),
            allow_set_functions: false,
            durability: Durability::default(),
        }
    }
}

impl CallFileBuilder {
    pub fn call(mut self, call: Call) -> Self {
        self.call = Some(call);
        self
    }
    pub fn action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }
    /// Ask Asterisk to keep the finished file in `outgoing_done` with a `Status:` line.
    pub fn archive(mut self, archive: bool) -> Self {
        self.archive = archive;
        self
    }
    /// A fixed file name (no `/`, no leading `.`). Names must be unique across every writer
    /// of the PBX: the archive overwrites a file of the same name.
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = Some(name.into());
        self
    }
    /// Where the file is written before its rename; must be on the spool directory's
    /// filesystem. Default: `<spool_dir>/.dialout-staging`, created (0700) when missing.
    pub fn staging_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.staging_dir = Some(dir.into());
        self
    }
    /// Owner of the spooled file (the Asterisk user). Needs root or CAP_CHOWN.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }
    /// Group of the spooled file. Default: the user's primary group when a user is given.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = dir.into();
        self
    }
    /// File mode: owner read+write required, group bits allowed, world bits refused.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    pub fn line_limit(mut self, limit: LineLimit) -> Self {
        self.line_limit = limit;
        self
    }
    /// Allow dialplan functions as `Set:` names (`CDR(userfield)`). Asterisk evaluates them:
    /// `FILE(/path)=x` writes a file as the Asterisk user. Only for names you wrote yourself.
    pub fn allow_set_functions(mut self, allow: bool) -> Self {
        self.allow_set_functions = allow;
        self
    }
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    pub fn build(self) -> Result<CallFile, BuildError> {
        let call = self.call.ok_or(BuildError::Missing(Field::Channel))?;
        let action = self.action.ok_or(BuildError::Missing(Field::Action))?;
        action.validate()?;
        if call.early_media == Some(true) && matches!(action, Action::Application { .. }) {
            return Err(ValidationError::new(
                Field::EarlyMedia,
                "only works with a context action (Asterisk ignores it for an application)",
            )
            .into());
        }
        let function = call
            .variables
            .iter()
            .find(|(n, v)| validate::variable(n, v) == Ok(validate::VarName::Function));
        if let (false, Some((n, _))) = (self.allow_set_functions, function) {
            return Err(ValidationError::new(
                Field::Variable,
                format!(
                    "{n} is a dialplan function, which Asterisk evaluates (FILE() writes files); \
                     allow it explicitly (`--allow-set-functions`, or `allow_set_functions(true)` on the builder)"
                ),
            )
            .into());
        }
        if let Some(f) = &self.filename {
            validate::filename(f)?;
        }
        validate::mode(self.mode)?;
        if let Some(u) = &self.user {
            validate::name(Field::User, u)?;
        }
        if let Some(g) = &self.group {
            validate::name(Field::Group, g)?;
        }
        if self.spool_dir.as_os_str().is_empty() {
            return Err(ValidationError::new(Field::SpoolDir, "empty path").into());
        }
        let max = self.line_limit.max_bytes();
        for (field, line) in render::lines(&call, &action, self.archive) {
            if line.len() > max {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "line is {} bytes, longer than {max}: {}",
                        line.len(),
                        match self.line_limit {
                            LineLimit::Legacy => "Asterisk before 13.15 would split it (use the 1022 limit for newer Asterisk)",
                            LineLimit::Modern => "Asterisk skips longer lines",
                        }
                    ),
                )
                .into());
            }
        }
        Ok(CallFile {
            call,
            action,
            archive: self.archive,
            filename: self.filename,
            staging_dir: self.staging_dir,
            user: self.user,
            group: self.group,
            spool_dir: self.spool_dir,
            mode: self.mode,
            line_limit: self.line_limit,
            allow_set_functions: self.allow_set_functions,
            durability: self.durability,
        })
    }
}
