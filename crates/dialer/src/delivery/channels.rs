//! The backends as delivery uses them: the registry, with the `[delivery]` settings (retries,
//! routing, allowlist, calling hours per backend) that govern handing messages to them.

use std::sync::Arc;

use dialout_backends::backend::Backend;
use dialout_backends::registry::Backends;
use dialout_model::config_error::ConfigError;
use dialout_model::phone::PhoneNumber;

use crate::delivery::router::{Router, UnknownBackend};
use crate::delivery::settings::DeliverySettings;

/// Named backends, the default one, and the delivery settings with the routes over them.
#[derive(Clone)]
pub struct Channels {
    backends: Backends,
    delivery: Arc<DeliverySettings>,
    router: Router,
}

impl From<Backends> for Channels {
    /// Default delivery settings: no routes, no calling hours.
    fn from(backends: Backends) -> Self {
        Channels {
            backends,
            delivery: Arc::default(),
            router: Router::default(),
        }
    }
}

impl Channels {
    /// One backend, the default.
    pub fn single(backend: Arc<dyn Backend>) -> Self {
        Backends::single(backend).into()
    }

    /// No backend at all: for a `Dialer` that reads and edits stored data and sends nothing.
    pub fn none() -> Self {
        Backends::none().into()
    }

    /// Registers a backend built in code (tests, embedding applications).
    pub fn with(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backends = self.backends.with(backend);
        self
    }

    /// Replaces the delivery settings; routes must name configured backends.
    pub fn with_delivery(mut self, settings: DeliverySettings) -> Result<Self, ConfigError> {
        self.router = Router::new(&settings.routes, &self.backends)?;
        self.delivery = Arc::new(settings);
        Ok(self)
    }

    /// The same backends claiming `n` messages at a time (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        let mut settings = DeliverySettings::clone(&self.delivery);
        settings.batch_size = n.max(1);
        self.delivery = Arc::new(settings);
        self
    }

    pub fn delivery(&self) -> &DeliverySettings {
        &self.delivery
    }

    /// The backend for a new message: the one the sender named (it must exist), else the
    /// longest matching route (`[delivery.routes]`), else the default.
    pub fn route(
        &self,
        number: &PhoneNumber,
        named: Option<&str>,
    ) -> Result<String, UnknownBackend> {
        self.router.pick(number, named, &self.backends)
    }

    pub fn registry(&self) -> &Backends {
        &self.backends
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        self.backends.get(name)
    }

    pub fn default_name(&self) -> &str {
        self.backends.default_name()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.backends.names()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn Backend>)> {
        self.backends.iter()
    }

    /// The content limit a backend set for itself (`[backends.NAME] max_content_chars`).
    pub fn content_limit(&self, name: &str) -> Option<usize> {
        self.backends.content_limit(name)
    }
}
