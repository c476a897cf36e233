//! Moving in from django-pymess (`dialout import-pymess`): its dialer templates and messages,
//! read from its database (`dialout_store::pymess`), made into dialout's ([`map`]) and
//! stored as they were ([`dialout_store::ImportStore`]), a batch per transaction.

pub mod map;

use serde::Serialize;

use crate::api::errors::Error;
use crate::config::Config;
use crate::delivery::blocking;
use crate::dialer::Dialer;
use dialout_store::import_store::{Imported, ImportedTemplate};
use dialout_store::pymess::{SourceMessage, SourceRow, SourceTemplate};
pub use map::{BackendMap, Mapping, message_id, pymess_id};

/// A row that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refused {
    /// `pymess_dialermessage` or `pymess_dialertemplate`.
    pub table: &'static str,
    /// The pymess id (a template's slug).
    pub id: String,
    pub reason: String,
}

pub const MESSAGES: &str = "pymess_dialermessage";
pub const TEMPLATES: &str = "pymess_dialertemplate";

impl BackendMap {
    /// The backends of a configuration, and its default one (as `Dialer::open` picks it).
    pub fn from_config(config: &Config, given: &[(String, String)]) -> Result<Self, String> {
        let mut kinds: std::collections::BTreeMap<String, String> = config
            .backends
            .iter()
            .map(|(name, b)| (name.clone(), b.settings.kind().to_string()))
            .collect();
        if kinds.is_empty() {
            kinds.insert("dummy".into(), "dummy".into());
        }
        let default = match &config.default_backend {
            Some(d) => d.clone(),
            None if kinds.len() == 1 => kinds.keys().next().cloned().unwrap_or_default(),
            None => String::new(),
        };
        BackendMap::new(kinds, default, given)
    }
}

impl Dialer {
    /// Stores the templates that can be stored (a slug dialout has already keeps its
    /// template); the others come back refused.
    pub async fn import_pymess_templates(
        &self,
        rows: Vec<SourceRow<SourceTemplate>>,
    ) -> Result<(Imported, Vec<Refused>), Error> {
        let mut refused = Vec::new();
        let mut good: Vec<ImportedTemplate> = Vec::new();
        for row in rows {
            match row
                .map_err(|u| (u.id, u.reason))
                .and_then(|t| map::template(&t).map_err(|reason| (t.slug.clone(), reason)))
            {
                Ok(t) => good.push(t),
                Err((id, reason)) => refused.push(Refused {
                    table: TEMPLATES,
                    id,
                    reason,
                }),
            }
        }
        let done = blocking(self.store(), move |s| s.import_templates(&good)).await?;
        Ok((done, refused))
    }

    /// The dialout template id of each slug that has one.
    pub async fn template_ids(
        &self,
        slugs: Vec<String>,
    ) -> Result<std::collections::HashMap<String, i64>, Error> {
        let found = blocking(self.store(), move |s| s.template_ids(&slugs)).await?;
        Ok(found.into_iter().collect())
    }

    /// Stores one batch of mapped messages (see [`Mapping::messages`]) in one transaction,
    /// and hands the batch back: the thread that made it can free it (freeing another
    /// thread's allocations contends for its allocator's lock).
    pub async fn import_pymess_messages(
        &self,
        messages: Vec<ImportedMessage>,
    ) -> Result<(Imported, Vec<ImportedMessage>), Error> {
        Ok(blocking(self.store(), move |s| {
            s.import_messages(&messages).map(|done| (done, messages))
        })
        .await?)
    }
}

impl Mapping {
    /// Maps a batch of rows: the messages to store, and the rows refused with why.
    pub fn messages(
        &self,
        rows: Vec<SourceRow<SourceMessage>>,
    ) -> (Vec<ImportedMessage>, Vec<Refused>) {
        let mut refused = Vec::new();
        let mut good: Vec<ImportedMessage> = Vec::with_capacity(rows.len());
        for row in rows {
            let mapped = row.map_err(|u| (u.id, u.reason)).and_then(|m| {
                let id = m.id;
                self.message(m).map_err(|r| (id.to_string(), r))
            });
            match mapped {
                Ok(m) => good.push(m),
                Err((id, reason)) => refused.push(Refused {
                    table: MESSAGES,
                    id,
                    reason,
                }),
            }
        }
        (good, refused)
    }
}

pub use dialout_store::error::StoreError as SourceError;
pub use dialout_store::import_store::ImportedMessage;
pub use dialout_store::open::redact_url;
pub use dialout_store::pymess::{PymessSource, open_source};
