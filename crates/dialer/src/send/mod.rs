//! `send` and `send_template`: validate everything, store the message as WAITING in its own
//! short transaction, commit, and only then hand it to a backend (outside any transaction).

pub mod grouped;
pub mod request;

use std::sync::Arc;

use serde_json::Value;

use crate::delivery::owner_id;
use crate::dialer::Dialer;
use crate::send::request::{
    InvalidInput, SendError, SendOptions, SendRequest, Sent, TemplateRequest,
};
use dialout_model::dnc::Screen;
use dialout_model::id::MessageId;
use dialout_model::interactive::{Gather, Interactive};
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::message::NewMessage;
use dialout_model::message::Priority;
use dialout_model::message::Tag;
use dialout_model::phone::PhoneNumber;
use dialout_model::related::RelatedObject;
use dialout_model::template::{self, Refusal};
use dialout_store::prelude::*;
use dialout_store::{InsertMode, Inserted, StoreError};

impl Dialer {
    pub async fn send(&self, request: SendRequest) -> Result<Sent, SendError> {
        let new = self.validate(&request.recipient, &request.content, &request.options)?;
        let publish = self.publishes(&request.options);
        let screen = self.screen(request.options.allow_duplicate);
        if let Some(group) = &self.group
            && new.idempotency_key.is_none()
            && !screen.records()
        {
            return self.send_grouped(group, new, publish, screen).await;
        }
        Ok(self
            .store_and_publish(vec![new], publish, false, screen)
            .await?
            .remove(0))
    }

    /// Stores every message in one transaction (all or none), then publishes them.
    pub async fn send_many(&self, requests: Vec<SendRequest>) -> Result<Vec<Sent>, SendError> {
        // Dedupe applies to the batch unless every request allows duplicates.
        let screen = self.screen(requests.iter().all(|r| r.options.allow_duplicate));
        if requests.iter().all(|r| !self.publishes(&r.options)) {
            return self.store_many(requests, screen).await;
        }
        let batch = self.validate_many(&requests)?;
        let publish: Vec<bool> = requests
            .iter()
            .map(|r| self.publishes(&r.options))
            .collect();
        if publish.iter().all(|p| *p) {
            return self.store_and_publish(batch, true, false, screen).await;
        }
        let inserted = self.insert(batch, screen).await?;
        let ids: Vec<MessageId> = inserted
            .iter()
            .zip(&publish)
            .filter(|(i, p)| !i.existing && **p)
            .map(|(i, _)| i.message.id)
            .collect();
        self.finish_publishing(inserted, &ids).await
    }

    /// Renders a stored template and sends the result, unless the template refuses.
    pub async fn send_template(&self, request: TemplateRequest) -> Result<Sent, SendError> {
        template::check_slug(&request.slug).map_err(InvalidInput::from)?;
        let context = match &request.context {
            Value::Object(m) => m.clone(),
            Value::Null => JsonMap::new(),
            _ => {
                return Err(InvalidInput::Json {
                    field: "template context",
                    reason: "expected a JSON object".into(),
                }
                .into());
            }
        };
        // Everything else is checked before the template is even looked up.
        let mut new = self.validate(&request.recipient, "rendered below", &request.options)?;
        let slug = request.slug.clone();
        let tpl = self.blocking(move |s| s.template(&slug)).await?;
        let tpl = tpl.ok_or_else(|| InvalidInput::UnknownTemplate(request.slug.clone()))?;
        // The duplicate rule is decided by the store, atomically with the insert.
        template::can_send(&tpl, || false, &new.related)?;
        let content =
            template::render(&tpl.slug, &tpl.body, &context).map_err(InvalidInput::from)?;
        new.content = self.check_content(content, &new.backend)?;
        new.template_slug = Some(tpl.slug.clone());
        new.template_id = Some(tpl.id);
        new.interactive =
            self.interactive(&new.backend, &request.options, Some(&tpl.interactive))?;
        let publish = self.publishes(&request.options);
        let screen = self.screen(request.options.allow_duplicate);
        if tpl.allow_duplicates {
            return Ok(self
                .store_and_publish(vec![new], publish, false, screen)
                .await?
                .remove(0));
        }
        let related = new
            .related
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        match self
            .store_and_publish(vec![new], publish, true, screen)
            .await
        {
            Err(SendError::Store(StoreError::Duplicate { slug })) => {
                Err(SendError::Refused(Refusal::Duplicate { slug, related }))
            }
            other => Ok(other?.remove(0)),
        }
    }

    /// Stores requests that are not published now, all in one transaction. Validation,
    /// mostly phone numbers, costs about as much as the insert: the second half of the
    /// requests is validated on another thread meanwhile. The first invalid request is the
    /// error, with its index, and then nothing is stored.
    async fn store_many(
        &self,
        requests: Vec<SendRequest>,
        screen: Screen,
    ) -> Result<Vec<Sent>, SendError> {
        let this = self.clone();
        let batch = dialout_backends::shared::blocking::run(move || {
            std::thread::scope(|scope| {
                let half = requests.len() / 2;
                let (first, second) = requests.split_at(half);
                let this = &this;
                let second = scope.spawn(move || this.validate_chunk(half, second));
                let mut batch = this.validate_chunk(0, first)?;
                batch.extend(
                    second
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p))?,
                );
                Ok::<_, InvalidInput>(batch)
            })
        })
        .await??;
        Ok(self
            .insert(batch, screen)
            .await?
            .into_iter()
            .map(|i| Sent {
                message: i.message,
                existing: i.existing,
            })
            .collect())
    }

    fn validate_chunk(
        &self,
        offset: usize,
        chunk: &[SendRequest],
    ) -> Result<Vec<NewMessage>, InvalidInput> {
        chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                self.validate(&r.recipient, &r.content, &r.options)
                    .map_err(|error| InvalidInput::InBatch {
                        index: offset + i,
                        error: Box::new(error),
                    })
            })
            .collect()
    }

    /// Validates every request; the first invalid one is the error, with its index.
    fn validate_many(&self, requests: &[SendRequest]) -> Result<Vec<NewMessage>, InvalidInput> {
        self.validate_chunk(0, requests)
    }

    fn publishes(&self, o: &SendOptions) -> bool {
        !self.batch_sending
            && !o.queued
            && o.not_before
                .is_none_or(|t| t <= self.backends.delivery().clock.now())
    }

    pub(crate) fn validate(
        &self,
        recipient: &str,
        content: &str,
        o: &SendOptions,
    ) -> Result<NewMessage, InvalidInput> {
        let recipient = PhoneNumber::parse(recipient, self.default_region.as_deref())?;
        let tag = o.tag.as_deref().map(Tag::new).transpose()?;
        let mut related = o
            .related
            .iter()
            .map(|r| r.parse::<RelatedObject>())
            .collect::<Result<Vec<_>, _>>()?;
        related.sort();
        related.dedup();
        let priority = o
            .priority
            .map(Priority::new)
            .transpose()?
            .unwrap_or_default();
        let backend = match &o.backend {
            Some(name) if self.backends.get(name).is_some() => name.clone(),
            Some(name) => {
                let known = self.backends.names().collect::<Vec<_>>().join(", ");
                return Err(InvalidInput::Backend {
                    name: name.clone(),
                    known,
                });
            }
            None => self
                .backends
                .route(&recipient, None)
                .map_err(|e| InvalidInput::Backend {
                    name: e.name,
                    known: e.known,
                })?,
        };
        let content = self.check_content(content.to_string(), &backend)?;
        let extra_data = match &o.extra_data {
            None | Some(Value::Null) => JsonMap::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(InvalidInput::Json {
                    field: "extra data",
                    reason: "expected a JSON object".into(),
                });
            }
        };
        if let Some(k) = &o.idempotency_key {
            if k.is_empty() || k.len() > 200 {
                return Err(InvalidInput::IdempotencyKey("expected 1 to 200 characters"));
            }
            if k.chars().any(char::is_control) {
                return Err(InvalidInput::IdempotencyKey(
                    "it contains control characters",
                ));
            }
        }
        let interactive = self.interactive(&backend, o, None)?;
        Ok(NewMessage {
            id: MessageId::new(),
            recipient,
            content,
            template_slug: None,
            template_id: None,
            backend,
            extra_data,
            tag,
            related,
            priority,
            predictive: o.predictive,
            not_before: o.not_before,
            idempotency_key: o.idempotency_key.clone(),
            resent_from: o.resent_from,
            time_zone: match &o.time_zone {
                None => None,
                Some(z) => {
                    dialout_model::hours::check_time_zone(z).map_err(InvalidInput::TimeZone)?;
                    Some(z.clone())
                }
            },
            interactive,
        })
    }

    /// What `o` asks of the call (over `base`, a template's), refused unless `backend` can
    /// make it.
    pub(crate) fn interactive(
        &self,
        backend: &str,
        o: &SendOptions,
        base: Option<&Interactive>,
    ) -> Result<Interactive, InvalidInput> {
        let mut ask = base.cloned().unwrap_or_default();
        if let Some(spec) = &o.gather {
            ask.gather = Some(Gather::try_from(spec.clone())?);
        }
        if let Some(m) = o.machine {
            ask.machine = Some(m);
        }
        if ask.is_plain() {
            return Ok(ask);
        }
        if let Some(b) = self.backends.get(backend) {
            b.check_interactive(&ask)
                .map_err(|reason| InvalidInput::Interactive {
                    backend: backend.to_string(),
                    field: if ask.gather.is_some() {
                        "gather"
                    } else {
                        "machine"
                    },
                    reason,
                })?;
        }
        Ok(ask)
    }

    /// Stores the batch (`unique`: under the templates' no-duplicates rule) and, with
    /// `publish`, hands it to the delivery machinery.
    async fn store_and_publish(
        &self,
        batch: Vec<NewMessage>,
        publish: bool,
        unique: bool,
        screen: Screen,
    ) -> Result<Vec<Sent>, SendError> {
        if !publish {
            let now = self.backends.delivery().clock.now();
            let inserted = self
                .blocking(move |s| {
                    s.insert(
                        &batch,
                        InsertMode::QUEUED
                            .unique_per_template(unique)
                            .screened(screen),
                        now,
                    )
                })
                .await?;
            return Ok(inserted
                .into_iter()
                .map(|i| Sent {
                    message: i.message,
                    existing: i.existing,
                })
                .collect());
        }
        // Stored and claimed in one committed transaction; then the delivery machinery.
        let owner = owner_id();
        let owner_c = owner.clone();
        let lease = self.backends.delivery().lease;
        let clock = self.backends.delivery().clock.clone();
        // With nothing to decide before the backend is called, the first attempt is begun
        // in the same commit (one fewer); otherwise it is committed on its own afterwards.
        let at_once = batch
            .iter()
            .all(|m| crate::delivery::may_begin_at_once(&self.backends, m));
        let inserted = self
            .blocking(move |s| {
                let now = clock.now();
                let until = dialout_model::duration::after(now, lease);
                let mode = if at_once {
                    InsertMode::attempting(&owner_c, until)
                } else {
                    InsertMode::claimed(&owner_c, until)
                };
                s.insert(
                    &batch,
                    mode.unique_per_template(unique).screened(screen),
                    now,
                )
            })
            .await?;
        let claimed: Vec<Message> = inserted
            .iter()
            .filter(|i| !i.existing)
            .map(|i| i.message.clone())
            .collect();
        let held = claimed.iter().map(|m| m.id).collect();
        let published = if at_once {
            let alone = crate::delivery::Record::Alone;
            crate::delivery::publish_begun(&self.store, &self.backends, &owner, claimed, alone)
                .await
        } else {
            crate::delivery::publish_claimed(&self.store, &self.backends, &owner, claimed).await
        };
        crate::delivery::release_rest(&self.store, &owner, held, &published).await?;
        Ok(merge(inserted, published?.messages))
    }

    pub(crate) async fn insert(
        &self,
        batch: Vec<NewMessage>,
        screen: Screen,
    ) -> Result<Vec<Inserted>, SendError> {
        // Committed before any backend is called.
        let mode = InsertMode::QUEUED.screened(screen);
        let now = self.backends.delivery().clock.now();
        self.blocking(move |s| s.insert(&batch, mode, now)).await
    }

    /// The checks of every new message: the do-not-call list and the configured limits.
    pub(crate) fn screen(&self, allow_duplicate: bool) -> Screen {
        Screen {
            dnc: true,
            limits: self.backends.delivery().limits,
            allow_duplicate,
        }
    }

    pub(crate) fn default_region(&self) -> Option<&str> {
        self.default_region.as_deref()
    }

    async fn finish_publishing(
        &self,
        inserted: Vec<Inserted>,
        ids: &[MessageId],
    ) -> Result<Vec<Sent>, SendError> {
        if ids.is_empty() {
            return Ok(merge(inserted, Vec::new()));
        }
        let published = crate::delivery::publish_now(&self.store, &self.backends, ids).await?;
        Ok(merge(inserted, published))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, SendError> {
        blocking(&self.store, f).await
    }
}

/// Messages as stored, replaced by their published version where there is one.
pub(crate) fn merge(inserted: Vec<Inserted>, published: Vec<Message>) -> Vec<Sent> {
    let mut published: std::collections::HashMap<MessageId, Message> =
        published.into_iter().map(|m| (m.id, m)).collect();
    inserted
        .into_iter()
        .map(|i| Sent {
            message: published.remove(&i.message.id).unwrap_or(i.message),
            existing: i.existing,
        })
        .collect()
}

impl Dialer {
    /// Content the backend can read aloud: not empty, something to read, within the global
    /// `max_content_chars` and the backend's own where it set one.
    fn check_content(&self, content: String, backend: &str) -> Result<String, InvalidInput> {
        match self.backends.content_limit(backend) {
            Some(own) if own < self.max_content_chars => check_content(
                content,
                own,
                &format!("backends.{backend}.max_content_chars"),
            ),
            _ => check_content(content, self.max_content_chars, "max_content_chars"),
        }
    }
}

fn check_content(content: String, max_chars: usize, key: &str) -> Result<String, InvalidInput> {
    if content.trim().is_empty() {
        return Err(InvalidInput::Content("it is empty".into()));
    }
    // Nothing to read aloud: a zero-width space, punctuation alone.
    if !content.chars().any(char::is_alphanumeric) {
        return Err(InvalidInput::Content(
            "it has no letter or digit to read aloud".into(),
        ));
    }
    let n = content.chars().count();
    if n > max_chars {
        return Err(InvalidInput::Content(format!(
            "it is {n} characters long; the limit is {max_chars} ({key})"
        )));
    }
    if content
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(InvalidInput::Content(
            "it contains control characters other than newlines and tabs".into(),
        ));
    }
    Ok(content)
}

/// Runs store work off the async executor (see [`dialout_backends::shared::blocking::run`]).
pub(crate) async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, SendError> {
    let store = Arc::clone(store);
    Ok(dialout_backends::shared::blocking::run(move || f(store.as_ref())).await??)
}
