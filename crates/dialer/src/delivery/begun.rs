//! Publishing messages stored with their first attempt already begun (one commit fewer
//! for `send`), and handing begun attempts to a backend.

use std::sync::Arc;

use super::{Backoff, Clock, DeliveryError, DeliverySettings, failpoint, hours};
use crate::delivery::channels::Channels;
use dialout_backends::backend::Publish;
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_store::prelude::*;
use dialout_store::{Change, Seen};

use crate::delivery::outcome::{change_for, failed};
use crate::delivery::publish::{Published, fail_unconfigured, finish_all, group_by_backend};

/// Whether `send` may store `m` with its first attempt already begun
/// ([`dialout_store::Start::Attempting`]) and hand it over with [`publish_begun`]: nothing is left to
/// decide before the backend is called (no allowlist refusal, no pacing, an attempt
/// allowed), and the backend's lookup can resolve the attempt should the process die.
pub(crate) fn may_begin_at_once(
    backends: &Channels,
    m: &dialout_model::message::NewMessage,
) -> bool {
    let Some(backend) = backends.get(&m.backend) else {
        return false;
    };
    backend.lookup().is_some()
        && backend.pacing().is_none()
        && backends.delivery().allowlist.as_deref().is_none_or(|l| l.contains(&m.recipient))
        && Backoff::from_settings(backends.delivery()).may_retry(0)
        // Not given up before the backend could be called (a new message is due now).
        && backends.delivery().give_up_after >= std::time::Duration::from_secs(1)
        && m.not_before.is_none_or(|t| t <= backends.delivery().clock.now())
        && hours::open_now(backends.delivery(), m)
}

/// Where [`publish_begun`] records the outcomes.
#[derive(Clone, Copy)]
pub(crate) enum Record<'a> {
    /// In a `Store::finish` of their own.
    Alone,
    /// With other senders' outcomes, by the group committer (whose owner holds the claims).
    Grouped(&'a crate::delivery::group_commit::GroupCommit),
}

/// Publishes messages stored claimed by `owner` with their first attempt begun and
/// committed ([`dialout_store::Start::Attempting`], after [`may_begin_at_once`]), and records each
/// outcome as `record` says. The claims are renewed only if the backend is slow.
pub(crate) async fn publish_begun(
    store: &Arc<dyn Store>,
    backends: &Channels,
    owner: &str,
    begun: Vec<Message>,
    record: Record<'_>,
) -> Result<Published, DeliveryError> {
    let mut done = Published::default();
    if begun.is_empty() {
        return Ok(done);
    }
    failpoint::reached("after-claim").await;
    let settings = backends.delivery();
    let backoff = Backoff::from_settings(settings);
    let mut out = Vec::with_capacity(begun.len());
    for (name, group) in group_by_backend(begun) {
        let Some(backend) = backends.get(&name) else {
            out.extend(fail_unconfigured(store, owner, &name, &group, &settings.clock).await?);
            continue;
        };
        let ids = group.iter().map(|m| m.id).collect();
        let handed = hand_over(
            store,
            backend.as_ref(),
            owner,
            group,
            &backoff,
            settings,
            &mut done,
            record,
        );
        out.extend(renewing(store, owner, ids, (settings.lease, &settings.clock), handed).await?);
    }
    done.messages = out;
    Ok(done)
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
