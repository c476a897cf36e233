//! `[delivery] max_calls_per_recipient` and `dedupe_window`, typed and checked.

use serde::Deserialize;

use super::{Cap, RecipientLimits};
use crate::config_error::ConfigError;

/// `max_calls_per_recipient = { count = 3, per = "24h" }` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { count = 3, per = \"24h\" }"
)]
pub struct CapConfig {
    pub count: i64,
    pub per: crate::duration::Duration,
}

pub fn limits(
    cap: Option<&CapConfig>,
    dedupe_window: Option<crate::duration::Duration>,
) -> Result<RecipientLimits, ConfigError> {
    let invalid = |key: &str, reason: String| ConfigError::Invalid {
        key: format!("delivery.{key}"),
        reason,
    };
    let cap = match cap {
        None => None,
        Some(c) => {
            let count = u32::try_from(c.count)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    invalid(
                        "max_calls_per_recipient.count",
                        format!("{}: must be at least 1", c.count),
                    )
                })?;
            let per = c
                .per
                .positive()
                .map_err(|e| invalid("max_calls_per_recipient.per", e.to_string()))?;
            Some(Cap {
                count,
                per: per.into(),
            })
        }
    };
    let dedupe_window = dedupe_window
        .map(|d| d.positive().map(Into::into))
        .transpose()
        .map_err(|e| invalid("dedupe_window", e.to_string()))?;
    Ok(RecipientLimits { cap, dedupe_window })
}
