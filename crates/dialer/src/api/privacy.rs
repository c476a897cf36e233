//! Erasure and access through [`Dialer`] (`dialout erase`, `dialout export`,
//! `DELETE`/`GET /v1/recipients/{number}`) and retention passes (`dialout retention run`).
//! Numbers are read as `send` reads recipients.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::errors::Error;
use crate::delivery::blocking;
use crate::dialer::Dialer;
use crate::retention::{self, RetentionReport, RetentionSettings};
use dialout_model::dnc::DncEntry;
use dialout_model::message::Message;
use dialout_model::phone::PhoneNumber;
use dialout_store::message_store::MessageFilter;
use dialout_store::privacy::Erasure;

/// The answer of [`Dialer::erase_recipient`]: what was erased, without the number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Erased {
    /// The number's keyed hash, as its erased messages and the record carry it.
    pub recipient_hash: String,
    /// Messages erased.
    pub messages: usize,
    /// Of them, messages not final before that were cancelled first.
    pub cancelled: usize,
    /// Backend files removed (audio, call files, reports, outbox files).
    pub files: usize,
    /// Whether the number is now on the do-not-call list (`--and-block`).
    pub blocked: bool,
    /// Backends that keep a copy dialout cannot erase (Daktela), with what to do.
    pub remote_copies: Vec<RemoteCopy>,
}

/// Erased messages of which a backend keeps a copy elsewhere that dialout cannot remove.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteCopy {
    pub backend: String,
    /// How many of the erased messages it holds.
    pub messages: usize,
    /// Where the copy is and how to erase it.
    pub note: String,
}

/// The remote copies of `messages` (see [`dialout_backends::Forget::remote_copy`]).
fn remote_copies(backends: &crate::delivery::Channels, messages: &[Message]) -> Vec<RemoteCopy> {
    backends
        .iter()
        .filter_map(|(name, b)| {
            let note = b.forget()?.remote_copy()?;
            let n = messages.iter().filter(|m| m.backend == name).count();
            (n > 0).then(|| RemoteCopy {
                backend: name.to_string(),
                messages: n,
                note,
            })
        })
        .collect()
}

impl Dialer {
    pub(crate) fn with_retention(mut self, settings: RetentionSettings) -> Self {
        self.retention = settings;
        self
    }

    pub fn retention_settings(&self) -> &RetentionSettings {
        &self.retention
    }

    fn recipient(&self, number: &str) -> Result<PhoneNumber, Error> {
        Ok(PhoneNumber::parse(number, self.default_region())?)
    }

    /// Every message of `number` (under its number or, erased, under its hash).
    async fn messages_of(&self, number: &PhoneNumber) -> Result<Vec<Message>, Error> {
        let number = number.clone();
        Ok(blocking(self.store(), move |s| {
            let mut out: Vec<Message> = Vec::new();
            let mut at = std::collections::HashMap::new();
            for r in [number.clone(), s.recipient_hash(&number)] {
                for m in s.messages(&MessageFilter {
                    recipient: Some(r.to_string()),
                    ..Default::default()
                })? {
                    // Erased by the worker between the two reads, a message is in both:
                    // the second read, under the hash, is the newer.
                    match at.get(&m.id) {
                        Some(&i) => out[i] = m,
                        None => {
                            at.insert(m.id, out.len());
                            out.push(m);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await?)
    }

    /// Erases every trace of `number` at once: its messages not final are cancelled first
    /// (through the backend where it can withdraw them; else they end in ERROR), then every
    /// message's personal fields and its backends' files go. The erasure is recorded with
    /// `by`, the hash and the count. `and_block` first puts the number on the do-not-call
    /// list, so no new message to it is taken in the meantime.
    pub async fn erase_recipient(
        &self,
        number: &str,
        by: &str,
        and_block: bool,
    ) -> Result<Erased, Error> {
        let number = self.recipient(number)?;
        let now = Timestamp::now();
        if and_block {
            let entry = DncEntry {
                number: number.clone(),
                reason: Some("erased on request".into()),
                until: None,
                added_at: dialout_store::sql::micros(now),
            };
            blocking(self.store(), move |s| s.dnc_add(&[entry])).await?;
        }
        let mut cancelled = 0;
        for m in self.messages_of(&number).await? {
            if m.is_final_state {
                continue;
            }
            cancelled += 1;
            let still_open = match self.cancel(m.id).await {
                Ok(outcome) => !outcome.message().is_final_state,
                Err(Error::Refused { .. }) => false,
                Err(e) => return Err(e),
            };
            if still_open {
                // The backend has acted or cannot withdraw: the message ends here; a result
                // that still arrives finds it final and changes nothing.
                let change = dialout_store::Change::Failed {
                    error: "erased on request".into(),
                    ambiguous: false,
                    reason: "erased on request".into(),
                };
                let id = m.id;
                blocking(self.store(), move |s| {
                    s.apply(&[(id, change)], None, Timestamp::now())
                })
                .await?;
            }
        }
        let messages = self.messages_of(&number).await?;
        let files = retention::forget(self.backends(), &messages).await;
        let remote_copies = remote_copies(self.backends(), &messages);
        let ids: Vec<_> = messages.iter().map(|m| m.id).collect();
        let opts = self.retention.erase;
        let (hash, by) = (number.clone(), by.to_string());
        let (recipient_hash, erased) = blocking(self.store(), move |s| {
            let erased = s.erase(&ids, opts)?;
            let hash = s.recipient_hash(&hash).to_string();
            s.record_erasure(&Erasure {
                at: now,
                by,
                recipient_hash: hash.clone(),
                messages: erased,
            })?;
            s.settle()?;
            Ok((hash, erased))
        })
        .await?;
        tracing::info!(
            erased,
            files,
            cancelled,
            "erased a recipient's messages on request"
        );
        Ok(Erased {
            recipient_hash,
            messages: erased,
            cancelled,
            files,
            blocked: and_block,
            remote_copies,
        })
    }

    /// Everything stored about `number`: its messages with their history (erased ones
    /// included, found by the hash), its do-not-call entry, the webhook deliveries about
    /// its messages and the erasures recorded for it.
    pub async fn export_recipient(&self, number: &str) -> Result<Value, Error> {
        let number = self.recipient(number)?;
        let messages = self.messages_of(&number).await?;
        let wanted = number.clone();
        let ids: Vec<_> = messages.iter().map(|m| m.id).collect();
        let (histories, dnc, deliveries, hash, erasures) = blocking(self.store(), move |s| {
            let histories = ids
                .iter()
                .map(|id| s.history(*id))
                .collect::<Result<Vec<_>, _>>()?;
            let dnc = s
                .dnc_find(std::slice::from_ref(&wanted), Timestamp::UNIX_EPOCH)?
                .pop();
            let deliveries = s.deliveries_of(&ids)?;
            let hash = s.recipient_hash(&wanted).to_string();
            let erasures: Vec<Erasure> = s
                .erasures()?
                .into_iter()
                .filter(|e| e.recipient_hash == hash)
                .collect();
            Ok((histories, dnc, deliveries, hash, erasures))
        })
        .await?;
        let messages: Vec<Value> = messages
            .iter()
            .zip(histories)
            .map(|(m, h)| {
                let mut v = dialout_model::json::message(m);
                v["history"] = h.iter().map(dialout_model::json::history).collect();
                v
            })
            .collect();
        Ok(json!({
            "number": number,
            "recipient_hash": hash,
            "messages": messages,
            "do_not_call": dnc,
            "webhook_deliveries": deliveries
                .iter()
                .map(crate::webhooks::endpoint::delivery_json)
                .collect::<Vec<_>>(),
            "erasures": erasures,
        }))
    }

    /// One full retention pass as configured (`dialout retention run`), or what it would
    /// erase (`dry_run`).
    pub async fn retention_run(&self, dry_run: bool) -> Result<RetentionReport, Error> {
        Ok(retention::pass(
            self.store(),
            self.backends(),
            &self.retention,
            Timestamp::now(),
            dry_run,
        )
        .await?)
    }
}
