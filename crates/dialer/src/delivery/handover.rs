//! Handing claimed messages with begun attempts to their backends and recording what each
//! said: what publishing claimed messages (`publish.rs`) and messages stored with their
//! attempt begun (`begun.rs`) share.

use std::sync::Arc;

use super::clock::Clock;
use super::retry::Backoff;
use super::settings::DeliverySettings;
use super::{DeliveryError, blocking, failpoint, hours};
use dialout_backends::backend::Publish;
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_store::prelude::*;
use dialout_store::{Change, Seen};

use super::outcome::{change_for, failed};

/// What [`publish_claimed`] did.
#[derive(Debug, Default)]
pub struct Published {
    /// The messages whose outcome was recorded.
    pub messages: Vec<Message>,
    /// Channels that said they cannot take messages now, with their reason.
    pub paused: Vec<(String, String)>,
    /// Messages a backend deferred for lack of capacity.
    pub deferred: usize,
}

/// Where [`publish_begun`] records the outcomes.
#[derive(Clone, Copy)]
pub(crate) enum Record<'a> {
    /// In a `Store::finish` of their own.
    Alone,
    /// With other senders' outcomes, by the group committer (whose owner holds the claims).
    Grouped(&'a crate::delivery::group_commit::GroupCommit),
}

/// Runs `work`, renewing `owner`'s claims on `ids` every third of the lease while it takes
/// that long: in the same task, so a quick publish costs no task spawn.
pub(crate) async fn renewing<T>(
    store: &Arc<dyn Store>,
    owner: &str,
    ids: Vec<MessageId>,
    (lease, clock): (std::time::Duration, &Clock),
    work: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(work);
    // A quick backend (Dummy, a local spool) is done at the first poll: no timer for it.
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(work.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(out) = first {
        return out;
    }
    let ids = Arc::new(ids);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tokio::time::sleep(lease / 3) => {
                if let Err(e) = super::renew(store, owner, &ids, lease, clock).await {
                    tracing::warn!("renewing claims failed: {e}");
                }
            }
        }
    }
}

/// Calls the backend for messages whose attempt is begun and committed, then records what
/// it said (`done` collects pauses and deferrals).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn hand_over(
    store: &Arc<dyn Store>,
    backend: &dyn crate::Backend,
    owner: &str,
    begun: Vec<Message>,
    backoff: &Backoff,
    settings: &DeliverySettings,
    done: &mut Published,
    record: Record<'_>,
) -> Result<Vec<Message>, DeliveryError> {
    let name = backend.name().to_string();
    let mut begun = begun;
    let mut changes: Vec<(Seen, Change)> = Vec::new();
    if settings.calling_hours.is_some() || !settings.backend_calling_hours.is_empty() {
        // The window may have closed since the claim (a slow lookup): the attempt is given
        // back and the message waits for the next opening.
        let now = settings.clock.now();
        let mut inside = Vec::with_capacity(begun.len());
        for mut m in begun {
            match hours::verdict(settings, &m, now) {
                hours::Verdict::Open => {
                    hours::mark_window_end(settings, &mut m, now);
                    inside.push(m);
                }
                hours::Verdict::Wait(Change::Postponed { next, reason }) => {
                    changes.push((Seen::Message(m), Change::Deferred { next, reason }));
                }
                hours::Verdict::Wait(other) => changes.push((Seen::Message(m), other)),
                hours::Verdict::Never(reason) => {
                    let change = failed("never within calling hours", &reason);
                    changes.push((Seen::Message(m), change));
                }
            }
        }
        begun = inside;
    }
    let results = if begun.is_empty() {
        Vec::new()
    } else {
        backend.publish_many(&begun).await
    };
    failpoint::reached("after-publish").await;
    let now = settings.clock.now();
    for r in &results {
        match r {
            Publish::Paused { reason } if done.paused.iter().all(|(b, _)| *b != name) => {
                done.paused.push((name.clone(), reason.clone()));
            }
            Publish::Deferred => done.deferred += 1,
            _ => {}
        }
    }
    let mut results = results.into_iter();
    // The messages are as `owner` begun and committed them: no need to read them back.
    changes.extend(begun.into_iter().map(|m| {
        let p = results.next().unwrap_or_else(|| Publish::Retry {
            error: format!("backend {name:?} returned no result for this message"),
            ambiguous: true,
        });
        let change = change_for(&m, p, backoff, settings, now);
        (Seen::Message(m), change)
    }));
    match record {
        Record::Alone => finish_all(store, owner, changes, &settings.clock).await,
        Record::Grouped(group) => {
            debug_assert_eq!(owner, group.owner());
            let (changes, stored) = group.finish(changes).await?;
            Ok(keep_recorded(&changes, stored))
        }
    }
}

/// The messages whose outcome was recorded; a warning for each whose claim was lost.
pub(crate) fn keep_recorded(
    changes: &[(Seen, Change)],
    stored: Vec<Option<Message>>,
) -> Vec<Message> {
    let mut done = Vec::with_capacity(stored.len());
    for ((seen, change), m) in changes.iter().zip(stored) {
        match m {
            Some(m) => done.push(m),
            None => {
                let id = seen.id();
                tracing::warn!(%id, "claim lost before the outcome was recorded ({}); left to its new owner", change.reason())
            }
        }
    }
    done
}

/// Keeps the claim order (priority, then age) within each backend.
pub(crate) fn group_by_backend(messages: Vec<Message>) -> Vec<(String, Vec<Message>)> {
    let mut groups: Vec<(String, Vec<Message>)> = Vec::new();
    for m in messages {
        match groups.iter_mut().find(|(b, _)| *b == m.backend) {
            Some((_, g)) => g.push(m),
            None => groups.push((m.backend.clone(), vec![m])),
        }
    }
    groups
}

/// Messages naming a backend that is not configured end in ERROR, never published.
pub(crate) async fn fail_unconfigured(
    store: &Arc<dyn Store>,
    owner: &str,
    name: &str,
    group: &[Message],
    clock: &Clock,
) -> Result<Vec<Message>, DeliveryError> {
    let reason = format!("backend {name:?} is not configured");
    let changes = group
        .iter()
        .map(|m| (m.id, failed(&reason, &reason)))
        .collect();
    finish_all(store, owner, changes, clock).await
}

/// Records the outcomes (releasing the claims); the messages whose outcome was recorded.
pub(crate) async fn finish_all(
    store: &Arc<dyn Store>,
    owner: &str,
    changes: Vec<(impl Into<Seen>, Change)>,
    clock: &Clock,
) -> Result<Vec<Message>, DeliveryError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let changes: Vec<(Seen, Change)> = changes.into_iter().map(|(s, c)| (s.into(), c)).collect();
    let owner = owner.to_string();
    let now = clock.now();
    blocking(store, move |s| {
        let stored = s.finish(&owner, &changes, now)?;
        Ok(keep_recorded(&changes, stored))
    })
    .await
}
