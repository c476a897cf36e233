//! The Daktela backend: campaign records through Daktela's REST API v6.

mod client;
pub mod config;
pub mod mapping;
mod publish;
mod record;
mod status;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

pub use client::{REDACTED, TOKEN_HEADER};
pub use config::{DaktelaConfig, DaktelaSettings};
pub use publish::{ID_FIELD, SENDER_FIELDS, TEXT_FIELD};

use crate::backend::{Backend, BackendError, Found, Lookup, Publish, StatusReport};
use dialout_model::config_error::ConfigError;
use dialout_model::message::Message;

pub struct Daktela {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    name: String,
    config: DaktelaConfig,
    client: client::Client,
    /// Set once the instance refused a filter on dialout's id field: go straight to the
    /// number-and-time lookup after that.
    id_filter_refused: AtomicBool,
}

impl Inner {
    fn new(name: &str, config: DaktelaConfig) -> Result<Self, ConfigError> {
        let client = client::Client::new(&config).map_err(|reason| ConfigError::Invalid {
            key: format!("backends.{name}"),
            reason,
        })?;
        Ok(Inner {
            name: name.to_string(),
            config,
            client,
            id_filter_refused: AtomicBool::new(false),
        })
    }
}

impl Daktela {
    pub fn new(name: &str, config: DaktelaConfig) -> Result<Self, ConfigError> {
        Ok(Daktela {
            inner: Arc::new(Inner::new(name, config)?),
        })
    }

    /// From `[backends.NAME]`, reading `access_token_env` from the environment.
    pub fn from_settings(name: &str, settings: &DaktelaSettings) -> Result<Self, ConfigError> {
        Self::new(
            name,
            DaktelaConfig::new(name, settings, |var| std::env::var(var).ok())?,
        )
    }

    /// From `[backends.NAME]` as a table, reading `access_token_env` from the environment.
    pub fn from_options(name: &str, options: &toml::Table) -> Result<Self, ConfigError> {
        Self::new(
            name,
            DaktelaConfig::from_options(name, options, |var| std::env::var(var).ok())?,
        )
    }

    pub fn config(&self) -> &DaktelaConfig {
        &self.inner.config
    }
}

/// Why a Daktela backend refuses `gather` and `machine` (the README quotes it).
pub const DAKTELA_INTERACTIVE: &str = "Daktela's v6 campaign records API takes a number, a \
record type and custom fields only: keys to gather and answering-machine handling are set up \
in the call script of the record type in Daktela itself (its call activities report \
exitwithkey and amdmachine, not the keys pressed); send a plain message to such a record \
type, or use an Asterisk backend";

#[async_trait]
impl Backend for Daktela {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn forget(&self) -> Option<&dyn crate::backend::Forget> {
        Some(self)
    }

    /// A campaign record has no field for either: the call script of its record type, set
    /// up in Daktela, decides what the call does.
    fn check_interactive(
        &self,
        ask: &dialout_model::interactive::Interactive,
    ) -> Result<(), String> {
        if ask.is_plain() {
            return Ok(());
        }
        Err(DAKTELA_INTERACTIVE.into())
    }

    async fn publish(&self, message: &Message) -> Publish {
        self.inner.publish_one(message, None).await
    }

    /// All at once; the client keeps them within `max_concurrent_requests` and
    /// `requests_per_second`.
    async fn publish_many(&self, messages: &[Message]) -> Vec<Publish> {
        let mut tasks = tokio::task::JoinSet::new();
        // A refused token pauses the rest of the batch without a request each.
        let refused = Arc::new(OnceLock::new());
        for (i, m) in messages.iter().enumerate() {
            let inner = Arc::clone(&self.inner);
            let m = m.clone();
            let refused = Arc::clone(&refused);
            tasks.spawn(async move { (i, inner.publish_one(&m, Some(&refused)).await) });
        }
        let mut out: Vec<Option<Publish>> = vec![None; messages.len()];
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, p)) => out[i] = Some(p),
                Err(e) => {
                    tracing::error!(backend = %self.inner.name, error = %e, "a Daktela publish task failed")
                }
            }
        }
        // A task that panicked may or may not have posted: ask before posting again.
        out.into_iter()
            .map(|p| {
                p.unwrap_or_else(|| Publish::Retry {
                    error: "the publish task failed".into(),
                    ambiguous: true,
                })
            })
            .collect()
    }

    async fn check_status(
        &self,
        messages: &[Message],
        cursor: Option<&str>,
    ) -> Result<StatusReport, BackendError> {
        self.inner.check(messages, cursor).await
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }
}

#[async_trait]
impl Lookup for Daktela {
    async fn find(&self, message: &Message) -> Result<Found, BackendError> {
        self.inner.find_one(message).await
    }
}

/// Daktela keeps no file here; its copy is remote, and its API v6 (create, read, list,
/// update campaign records) has no way to delete one.
#[async_trait]
impl crate::backend::Forget for Daktela {
    async fn forget(&self, _messages: &[Message]) -> Result<usize, BackendError> {
        Ok(0)
    }

    fn remote_copy(&self) -> Option<String> {
        Some(REMOTE_COPY.into())
    }
}

/// What an erasure says about the Daktela side.
pub const REMOTE_COPY: &str = "Daktela keeps each message as a campaign record (the number, \
     the text in customFields) with its call activities; the part of Daktela's API v6 that \
     dialout uses offers no deletion of campaign records, so dialout erased only its own \
     copy: delete the records in Daktela itself (their names stay in each message's \
     extra_sender_data.name, which `dialout export` shows)";
