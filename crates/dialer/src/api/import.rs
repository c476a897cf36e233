//! Bulk import (`dialout import FILE.csv`): every row is checked first ([`Dialer::import_check`]:
//! number, content or template variables, do-not-call list, caps and dedupe within the
//! file), then the good rows are stored queued for the worker, in chunks, on the bulk path
//! of `send_many` ([`Dialer::import_store`]). Each row's idempotency key is made of the
//! file's hash and its line: importing the same file again stores nothing twice.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::dialer::Dialer;
use crate::send::request::{InvalidInput, SendError, SendOptions};
use dialout_model::dnc::Screened;
use dialout_model::interactive::{GatherSpec, MachinePolicy};
use dialout_model::message::JsonMap;
use dialout_model::message::NewMessage;
use dialout_model::phone::PhoneNumber;
use dialout_model::template::Template;
use dialout_model::template::{self, Refusal};

/// What every row of one import shares.
#[derive(Debug, Clone, Default)]
pub struct ImportSpec {
    /// Rows are rendered from this template with their variables; else they carry content.
    pub template: Option<String>,
    pub tag: Option<String>,
    /// A hash of the whole file (hex): with the line, each row's idempotency key.
    pub source_hash: String,
    /// Every row's gather and machine policy (a row's own columns replace them; with a
    /// template, these replace the template's).
    pub gather: Option<GatherSpec>,
    pub machine: Option<MachinePolicy>,
}

/// One row of the file.
#[derive(Debug, Clone, Default)]
pub struct ImportRow {
    /// Its line in the file (1 is the header).
    pub line: u64,
    pub recipient: String,
    /// Without a template: the content read aloud.
    pub content: String,
    /// With a template: its variables.
    pub context: JsonMap,
    /// The row's `gather` column: a JSON object as `--gather-file` holds (empty: none).
    pub gather: Option<String>,
    /// The row's `machine` column (empty: none).
    pub machine: Option<String>,
}

/// A row that cannot be stored, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub recipient: String,
    pub reason: String,
}

/// What [`Dialer::import_store`] did with a chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ImportStored {
    pub stored: usize,
    /// Rows an earlier import of the same file already stored.
    pub existing: usize,
}

/// An import under way: its spec, the template, and what the file asked of each number so far
/// (caps and dedupe within the file).
pub struct ImportPlan {
    spec: ImportSpec,
    template: Option<Template>,
    seen: Mutex<HashMap<PhoneNumber, Vec<i64>>>,
}

impl ImportPlan {
    fn key(&self, line: u64) -> String {
        format!("import:{}:{line}", self.spec.source_hash)
    }
}

impl Dialer {
    /// Starts an import: the template (if any) must exist and be active.
    pub async fn import_plan(&self, spec: ImportSpec) -> Result<ImportPlan, SendError> {
        let template = match &spec.template {
            None => None,
            Some(slug) => {
                template::check_slug(slug).map_err(InvalidInput::from)?;
                let s = slug.clone();
                let tpl = crate::send::blocking(self.store(), move |st| st.template(&s))
                    .await?
                    .ok_or_else(|| InvalidInput::UnknownTemplate(slug.clone()))?;
                if !tpl.active {
                    return Err(SendError::Refused(Refusal::Inactive(tpl.slug)));
                }
                Some(tpl)
            }
        };
        Ok(ImportPlan {
            spec,
            template,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// The message a row makes, or why it cannot be stored.
    fn import_row(&self, plan: &ImportPlan, row: &ImportRow) -> Result<NewMessage, String> {
        let content = match &plan.template {
            Some(t) => {
                template::render(&t.slug, &t.body, &row.context).map_err(|e| e.to_string())?
            }
            None => row.content.clone(),
        };
        let gather = match row.gather.as_deref().map(str::trim) {
            None | Some("") => plan.spec.gather.clone(),
            Some(text) => Some(
                serde_json::from_str::<GatherSpec>(text)
                    .map_err(|e| format!("invalid gather column: {e}"))?,
            ),
        };
        let machine = match row.machine.as_deref().map(str::trim) {
            None | Some("") => plan.spec.machine,
            Some(text) => Some(
                text.parse::<MachinePolicy>()
                    .map_err(|e| format!("invalid machine column: {e}"))?,
            ),
        };
        let options = SendOptions {
            tag: plan.spec.tag.clone(),
            idempotency_key: Some(plan.key(row.line)),
            queued: true,
            gather,
            machine,
            ..SendOptions::default()
        };
        let mut new = self
            .validate(&row.recipient, &content, &options)
            .map_err(|e| e.to_string())?;
        if let Some(t) = &plan.template {
            new.template_slug = Some(t.slug.clone());
            new.template_id = Some(t.id);
            new.interactive = self
                .interactive(&new.backend, &options, Some(&t.interactive))
                .map_err(|e| e.to_string())?;
        }
        Ok(new)
    }

    /// Every row's message, on two threads (validation costs about as much as storing).
    async fn import_rows(
        &self,
        plan: &std::sync::Arc<ImportPlan>,
        rows: std::sync::Arc<Vec<ImportRow>>,
    ) -> Result<Vec<Result<NewMessage, String>>, SendError> {
        let (this, plan) = (self.clone(), std::sync::Arc::clone(plan));
        Ok(dialout_backends::shared::blocking::run(move || {
            std::thread::scope(|scope| {
                let (first, second) = rows.split_at(rows.len() / 2);
                let (this, plan) = (&this, &plan);
                let second = scope.spawn(move || {
                    second
                        .iter()
                        .map(|r| this.import_row(plan, r))
                        .collect::<Vec<_>>()
                });
                let mut out: Vec<_> = first.iter().map(|r| this.import_row(plan, r)).collect();
                out.extend(
                    second
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
                // The two halves made their ids at the same time: ids are new again in
                // file order, so the stored messages sort as the file's rows do.
                for new in out.iter_mut().flatten() {
                    new.id = dialout_model::id::MessageId::new();
                }
                out
            })
        })
        .await?)
    }

    /// Checks rows without storing anything: the errors, by line. Rows must be checked in
    /// file order, each once: caps and dedupe count the rows of the file checked before.
    pub async fn import_check(
        &self,
        plan: &std::sync::Arc<ImportPlan>,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<RowError>, SendError> {
        let rows = std::sync::Arc::new(rows);
        let made = self.import_rows(plan, std::sync::Arc::clone(&rows)).await?;
        let numbers: Vec<PhoneNumber> = made
            .iter()
            .filter_map(|m| m.as_ref().ok().map(|m| m.recipient.clone()))
            .collect();
        let listed: HashMap<PhoneNumber, String> = crate::send::blocking(self.store(), move |s| {
            s.dnc_find(&numbers, jiff::Timestamp::now())
        })
        .await?
        .into_iter()
        .map(|e| (e.number.clone(), e.refusal()))
        .collect();
        let limits = self.backends().delivery().limits;
        let mut seen = plan
            .seen
            .lock()
            .map_err(|_| SendError::Store(dialout_store::StoreError::Poisoned))?;
        let mut errors = Vec::new();
        for (row, made) in rows.iter().zip(made) {
            let refused = match made {
                Err(reason) => Some(reason),
                Ok(m) => match listed.get(&m.recipient) {
                    Some(r) => Some(r.clone()),
                    None if limits.any() => in_file_limits(&mut seen, &m, &limits),
                    None => None,
                },
            };
            if let Some(reason) = refused {
                errors.push(RowError {
                    line: row.line,
                    recipient: row.recipient.clone(),
                    reason,
                });
            }
        }
        Ok(errors)
    }

    /// Stores rows (checked before) queued for the worker, in one transaction: the
    /// do-not-call list, caps and dedupe are checked again there, against messages stored
    /// before as well. The same as [`Dialer::import_prepare`] and then
    /// [`Dialer::import_insert`].
    pub async fn import_store(
        &self,
        plan: &std::sync::Arc<ImportPlan>,
        rows: Vec<ImportRow>,
    ) -> Result<ImportStored, SendError> {
        let batch = self.import_prepare(plan, rows).await?;
        self.import_insert(batch).await
    }

    /// The messages of rows checked before, to store with [`Dialer::import_insert`]: an
    /// import makes the next chunk's while the one before is being stored.
    pub async fn import_prepare(
        &self,
        plan: &std::sync::Arc<ImportPlan>,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<NewMessage>, SendError> {
        let made = self.import_rows(plan, std::sync::Arc::new(rows)).await?;
        let mut batch = Vec::with_capacity(made.len());
        for m in made {
            // `import_rows` gave the ids in the file's order: the rows are stored in it (the
            // worker takes equal rows by id).
            batch.push(m.map_err(InvalidInput::Content)?);
        }
        Ok(batch)
    }

    /// Stores messages made by [`Dialer::import_prepare`] queued for the worker, in one
    /// transaction (see [`Dialer::import_store`]).
    pub async fn import_insert(&self, batch: Vec<NewMessage>) -> Result<ImportStored, SendError> {
        let inserted = self.insert(batch, self.screen(false)).await?;
        let existing = inserted.iter().filter(|i| i.existing).count();
        Ok(ImportStored {
            stored: inserted.len() - existing,
            existing,
        })
    }
}

/// Caps and dedupe among the rows of one file (all stored at about the same time).
fn in_file_limits(
    seen: &mut HashMap<PhoneNumber, Vec<i64>>,
    m: &NewMessage,
    limits: &dialout_model::dnc::RecipientLimits,
) -> Option<String> {
    let hash = dialout_model::dnc::content_hash(&m.content);
    let calls = seen.entry(m.recipient.clone()).or_default();
    if let Some(w) = limits.dedupe_window
        && calls.contains(&hash)
    {
        return Some(format!(
            "the same content to {} is on an earlier line of this file (delivery.dedupe_window = {})",
            m.recipient,
            dialout_model::dnc::human(w)
        ));
    }
    if let Some(cap) = limits.cap
        && calls.len() >= cap.count as usize
    {
        return Some(
            Screened::CapReached {
                number: m.recipient.clone(),
                count: cap.count,
                per: dialout_model::dnc::human(cap.per),
            }
            .to_string(),
        );
    }
    calls.push(hash);
    None
}
