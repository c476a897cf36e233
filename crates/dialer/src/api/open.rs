//! Opening a [`Dialer`] from a configuration.

use crate::config::Config;
use crate::delivery::channels::Channels;
use crate::dialer::Dialer;
use dialout_model::config_error::ConfigError;
use std::sync::Arc;

use dialout_store::StoreError;
use dialout_store::prelude::*;

/// Why a [`Dialer`] could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configuration is wrong (a backend's keys, routing, the database URL's form).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(StoreError),
}

impl OpenError {
    /// Whether the configuration is to blame (the user must fix it) rather than the
    /// machine or the database.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            OpenError::Config(_) | OpenError::Store(StoreError::Url { .. })
        )
    }
}

impl Dialer {
    /// Opens the database the configuration names (applying its migrations) and starts
    /// every configured backend.
    pub fn open(config: &Config) -> Result<Dialer, OpenError> {
        // Channels first: a wrong backend configuration is reported before the database
        // is created or migrated.
        let backends = config.channels()?;
        let store = open_store(config)?;
        Ok(Dialer::new(store, backends)
            .configured(config)
            .with_webhook_settings(crate::webhooks::WebhookSettings::new(&config.webhooks)?)
            .with_retention(crate::retention::RetentionSettings::new(&config.retention)?))
    }

    /// Opens the database only: a `Dialer` that reads and edits stored messages and
    /// templates and cancels nothing at a backend, for tools that must work where a
    /// backend cannot start (no espeak-ng, no spool directory). Sending through it fails
    /// with an unknown-backend error.
    pub fn open_without_backends(config: &Config) -> Result<Dialer, OpenError> {
        let store = open_store(config)?;
        Ok(Dialer::new(store, Channels::none())
            .configured(config)
            .with_webhook_settings(crate::webhooks::WebhookSettings::new(&config.webhooks)?)
            .with_retention(crate::retention::RetentionSettings::new(&config.retention)?))
    }
}

/// Opens the store, also from inside an async runtime: the PostgreSQL client blocks on a
/// runtime of its own, which tokio refuses to start on one of its worker threads.
fn open_store(config: &Config) -> Result<Arc<dyn Store>, OpenError> {
    let url = config.database_url();
    dialout_store::blocking::run_sync(|| dialout_store::open::open(url).map_err(OpenError::Store))
}
