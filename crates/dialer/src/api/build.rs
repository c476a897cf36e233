//! Making a [`Dialer`] from a store and backends, and its settings.

use std::sync::Arc;

use dialout_model::config_error::ConfigError;
use dialout_store::store::Store;

use crate::config::{Config, DEFAULT_MAX_CONTENT_CHARS};
use crate::delivery::channels::Channels;
use crate::delivery::group_commit::GroupCommit;
use crate::dialer::Dialer;
use crate::dialer::token_cache::TokenCache;
use crate::webhooks::settings::WebhookSettings;

impl Dialer {
    /// A `Dialer` over this store, delivering through these backends (a
    /// [`dialout_backends::Backends`] registry, or [`Channels`] with delivery settings).
    pub fn new(store: Arc<dyn Store>, backends: impl Into<Channels>) -> Self {
        Dialer {
            store,
            backends: backends.into(),
            default_region: None,
            batch_sending: false,
            max_content_chars: DEFAULT_MAX_CONTENT_CHARS,
            group: None,
            webhooks: Default::default(),
            verified_tokens: Default::default(),
            retention: Default::default(),
        }
    }

    /// Concurrent `send`s share commits (a server's many requests at once); see
    /// `group_commit.rs` for what stays true.
    pub fn with_group_commit(mut self) -> Self {
        let delivery = self.backends.delivery();
        self.group = Some(Arc::new(GroupCommit::new(
            Arc::clone(&self.store),
            delivery.lease,
            delivery.clock.clone(),
        )));
        self
    }

    pub fn from_config(store: Arc<dyn Store>, config: &Config) -> Result<Self, ConfigError> {
        let backends = config.channels()?;
        Ok(Dialer::new(store, backends).configured(config))
    }

    /// The settings of `config` that govern sending (region, batch sending, content limit).
    pub(crate) fn configured(self, config: &Config) -> Self {
        self.with_default_region(config.default_region.clone())
            .with_batch_sending(config.batch_sending)
            .with_max_content_chars(config.max_content_chars())
    }

    /// Content longer than this many characters is refused (default 2,000).
    pub fn with_max_content_chars(mut self, n: usize) -> Self {
        self.max_content_chars = n;
        self
    }

    pub fn with_default_region(mut self, region: Option<String>) -> Self {
        self.default_region = region;
        self
    }

    /// Only store messages; publishing is left to the worker.
    pub fn with_batch_sending(mut self, on: bool) -> Self {
        self.batch_sending = on;
        self
    }

    pub fn webhook_settings(&self) -> &WebhookSettings {
        &self.webhooks
    }

    pub(crate) fn set_webhook_settings(&mut self, settings: WebhookSettings) {
        self.webhooks = settings;
    }

    pub(crate) fn verified_tokens(&self) -> &TokenCache {
        &self.verified_tokens
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn backends(&self) -> &Channels {
        &self.backends
    }
}
