//! `[delivery] max_calls_per_recipient` and `dedupe_window`, typed and checked.

use serde::Deserialize;

use super::{Cap, RecipientLimits};
use crate::config::ConfigError;

/// `max_calls_per_recipient = { count = 3, per = "24h" }` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapConfig {
    pub count: i64,
    pub per: crate::Duration,
}

pub(crate) fn limits(
    cap: Option<&CapConfig>,
    dedupe_window: Option<crate::Duration>,
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

#[cfg(test)]
mod tests {
    use crate::delivery::DeliverySettings;

    fn parse(text: &str) -> Result<DeliverySettings, crate::config::ConfigError> {
        DeliverySettings::from_table(&toml::from_str(text).unwrap(), None)
    }

    #[test]
    fn limits_are_read_and_checked() {
        let s = parse(
            "max_calls_per_recipient = { count = 3, per = \"24h\" }\ndedupe_window = \"10m\"",
        )
        .unwrap();
        let cap = s.limits.cap.unwrap();
        assert_eq!((cap.count, cap.per.as_secs()), (3, 86_400));
        assert_eq!(s.limits.dedupe_window.unwrap().as_secs(), 600);
        assert!(!parse("").unwrap().limits.any(), "no limits by default");
        for (text, key) in [
            (
                "max_calls_per_recipient = { count = 0, per = \"1h\" }",
                "max_calls_per_recipient.count",
            ),
            (
                "max_calls_per_recipient = { count = 3, per = \"0s\" }",
                "max_calls_per_recipient.per",
            ),
            (
                "max_calls_per_recipient = { count = 3 }",
                "max_calls_per_recipient",
            ),
            (
                "max_calls_per_recipient = { count = 3, per = \"1h\", x = 1 }",
                "max_calls_per_recipient",
            ),
            ("dedupe_window = \"0s\"", "dedupe_window"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(&format!("delivery.{key}")), "{text}: {e}");
        }
    }
}
