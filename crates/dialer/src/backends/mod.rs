//! The backends, one file each, and building them from configuration.

mod dummy;

use std::sync::Arc;

pub use dummy::Dummy;

use crate::backend::Backend;
use crate::config::{BackendConfig, ConfigError};

/// Builds the backend configured as `[backends.NAME]`.
pub fn build(name: &str, config: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    match config.kind.as_str() {
        "dummy" => Ok(Arc::new(Dummy::new(name))),
        other => Err(ConfigError::Invalid {
            key: format!("backends.{name}.kind"),
            reason: format!("unknown backend kind {other:?} (known: dummy)"),
        }),
    }
}
