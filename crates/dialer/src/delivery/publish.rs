//! Publishing claimed messages: the one path both `send` (at once) and the worker use.

use std::sync::Arc;

use jiff::Timestamp;

use super::{
    Allowlist, Backoff, Clock, DeliveryError, DeliverySettings, Renewer, after, blocking,
    failpoint, hours, owner_id,
};
use crate::delivery::channels::Channels;
use dialout_backends::backend::{Accepted, Found, Publish};
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_store::prelude::*;
use dialout_store::{Change, Claimable, Seen};

/// Publishes these stored messages now (what `send` does unless delivery is queued):
/// claims them, publishes those that are still unpublished and free, and returns every
/// message as stored afterwards, in the order of `ids` (ids not stored are left out).
pub async fn publish_now(
    store: &Arc<dyn Store>,
    backends: &Channels,
    ids: &[MessageId],
) -> Result<Vec<Message>, DeliveryError> {
    let owner = owner_id();
    let now = backends.delivery().clock.now();
    let lease_until = after(now, backends.delivery().lease);
    let (claim_ids, claim_owner) = (ids.to_vec(), owner.clone());
    let claimed = blocking(store, move |s| {
        s.claim(&claim_owner, Claimable::Ids(&claim_ids), now, lease_until)
    })
    .await?;
    let held = claimed.iter().map(|m| m.id).collect();
    let published = publish_claimed(store, backends, &owner, claimed).await;
    release_rest(store, &owner, held, &published).await?;
    let mut published: std::collections::HashMap<MessageId, Message> =
        published?.messages.into_iter().map(|m| (m.id, m)).collect();
    let wanted = ids.to_vec();
    let reloaded = blocking(store, move |s| {
        let mut out = Vec::with_capacity(wanted.len());
        for id in wanted {
            match published.remove(&id) {
                Some(m) => out.push(m),
                None => out.extend(s.message(id)?),
            }
        }
        Ok(out)
    })
    .await?;
    Ok(reloaded)
}

/// Releases what `owner` still holds of `held` after publishing: those whose outcome was not
/// recorded (each recorded outcome released its claim), or all of them after an error.
pub(crate) async fn release_rest(
    store: &Arc<dyn Store>,
    owner: &str,
    mut held: Vec<MessageId>,
    published: &Result<Published, DeliveryError>,
) -> Result<(), DeliveryError> {
    if let Ok(p) = published {
        let done: std::collections::HashSet<MessageId> = p.messages.iter().map(|m| m.id).collect();
        held.retain(|id| !done.contains(id));
    }
    super::release(store, owner, held).await.map(drop)
}

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

/// Publishes messages `owner` has claimed and records each outcome, renewing the claims
/// meanwhile. Any message it could not decide on (a backend that cannot answer `find`, no
/// capacity) is left claimed for the caller to release.
pub async fn publish_claimed(
    store: &Arc<dyn Store>,
    backends: &Channels,
    owner: &str,
    claimed: Vec<Message>,
) -> Result<Published, DeliveryError> {
    let mut done = Published::default();
    if claimed.is_empty() {
        return Ok(done);
    }
    // A slow backend must not let the claims expire while it works.
    let ids = claimed.iter().map(|m| m.id).collect();
    let settings = backends.delivery();
    let _renewer = Renewer::start(store, owner, ids, settings.lease, &settings.clock);
    failpoint::reached("after-claim").await;
    let allowlist = Allowlist::new(settings.allowlist.as_deref());
    let backoff = Backoff::from_settings(settings);
    let mut out = Vec::with_capacity(claimed.len());
    let do_not_call = crate::delivery::screen::refusals(store, &claimed).await?;

    for (name, group) in group_by_backend(claimed) {
        let now = settings.clock.now();
        let Some(backend) = backends.get(&name) else {
            out.extend(fail_unconfigured(store, owner, &name, &group, &settings.clock).await?);
            continue;
        };
        let mut decided = Vec::new();
        let mut ready = Vec::new();
        // Messages whose lost attempt never reached the backend: this publish takes its
        // place, already counted and committed, so it is not begun (counted) again.
        let mut resumed = std::collections::HashSet::new();
        for m in group {
            if let Some(refusal) = allowlist.refusal(&m.recipient) {
                decided.push((m.id, failed("refused by the allowlist", &refusal)));
                continue;
            }
            if let Some(refusal) = do_not_call.get(&m.recipient) {
                decided.push((m.id, failed("on the do-not-call list", refusal)));
                continue;
            }
            // Checked again right before publishing, whatever the message waited for.
            match hours::verdict(settings, &m, now) {
                hours::Verdict::Open => {}
                hours::Verdict::Wait(change) => {
                    decided.push((m.id, change));
                    continue;
                }
                hours::Verdict::Never(reason) => {
                    decided.push((m.id, failed("never within calling hours", &reason)));
                    continue;
                }
            }
            if m.attempt_unresolved {
                let found = match backend.lookup() {
                    Some(l) => l.find(&m).await,
                    None => Ok(Found::Unknown),
                };
                match found {
                    Ok(Found::Yes(acc)) => {
                        let reason = format!("adopted after an unresolved attempt: {}", acc.reason);
                        decided.push((m.id, accepted(acc, reason)));
                        continue;
                    }
                    Ok(Found::No) => {
                        resumed.insert(m.id);
                    }
                    Ok(Found::Unknown) => {
                        let reason = format!(
                            "the outcome of attempt {} is unknown and backend {name:?} cannot look it up: not published again, so that nobody is called twice",
                            m.attempts
                        );
                        decided.push((m.id, failed("outcome unknown", &reason)));
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(id = %m.id, backend = %name, "cannot resolve the last attempt: {e}; trying later");
                        continue;
                    }
                }
            }
            let made = m.attempts - u32::from(resumed.contains(&m.id));
            if !backoff.may_retry(made) {
                let reason = format!("gave up after {made} attempts");
                decided.push((m.id, gave_up(&m, &reason)));
                continue;
            }
            if now > give_up_at(&m, settings) {
                let reason = format!(
                    "not accepted within {} of being due: gave up",
                    human(settings.give_up_after)
                );
                decided.push((m.id, gave_up(&m, &reason)));
                continue;
            }
            ready.push(m);
        }
        out.extend(finish_all(store, owner, decided, &settings.clock).await?);
        if ready.is_empty() {
            continue;
        }

        if let Some(pacing) = backend.pacing() {
            let (n, bname) = (ready.len(), name.clone());
            let in_flight = blocking(store, move |s| s.backend_state(&bname))
                .await?
                .in_flight;
            ready.truncate(pacing.capacity(in_flight).await.min(n));
        }
        let (mut begun, fresh): (Vec<Message>, Vec<Message>) =
            ready.into_iter().partition(|m| resumed.contains(&m.id));
        let ids: Vec<MessageId> = fresh.iter().map(|m| m.id).collect();
        if !ids.is_empty() {
            let o = owner.to_string();
            begun.extend({
                let now = settings.clock.now();
                blocking(store, move |s| s.begin_attempts(&o, &ids, now)).await?
            });
        }
        if begun.is_empty() {
            continue;
        }
        out.extend(
            hand_over(
                store,
                backend.as_ref(),
                owner,
                begun,
                &backoff,
                settings,
                &mut done,
                Record::Alone,
            )
            .await?,
        );
    }
    done.messages = out;
    Ok(done)
}

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
async fn renewing<T>(
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
async fn hand_over(
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
fn keep_recorded(changes: &[(Seen, Change)], stored: Vec<Option<Message>>) -> Vec<Message> {
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
fn group_by_backend(messages: Vec<Message>) -> Vec<(String, Vec<Message>)> {
    let mut groups: Vec<(String, Vec<Message>)> = Vec::new();
    for m in messages {
        match groups.iter_mut().find(|(b, _)| *b == m.backend) {
            Some((_, g)) => g.push(m),
            None => groups.push((m.backend.clone(), vec![m])),
        }
    }
    groups
}

/// When the message was due: created, or its not-before time if later.
fn due_at(m: &Message) -> Timestamp {
    m.not_before.map_or(m.created_at, |nb| nb.max(m.created_at))
}

fn give_up_at(m: &Message, settings: &DeliverySettings) -> Timestamp {
    hours::give_up_at(m, due_at(m), settings)
}

/// Messages naming a backend that is not configured end in ERROR, never published.
async fn fail_unconfigured(
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
async fn finish_all(
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

/// ERROR after giving up, keeping the last error the backend gave.
fn gave_up(m: &Message, reason: &str) -> Change {
    let error = match &m.error {
        Some(e) => format!("{reason}; last error: {e}"),
        None => reason.to_string(),
    };
    failed(reason, &error)
}

fn failed(reason: &str, error: &str) -> Change {
    Change::Failed {
        error: error.to_string(),
        ambiguous: false,
        reason: reason.to_string(),
    }
}

fn accepted(acc: Accepted, reason: String) -> Change {
    Change::Accepted {
        state: acc.state,
        is_final: acc.is_final,
        sender_data: acc.sender_data,
        reason,
    }
}

/// What a backend's answer to attempt number `m.attempts` does to the message.
pub(crate) fn change_for(
    m: &Message,
    p: Publish,
    backoff: &Backoff,
    settings: &DeliverySettings,
    now: Timestamp,
) -> Change {
    let n = m.attempts;
    match p {
        Publish::Accepted(acc) => {
            let reason = acc.reason.clone();
            accepted(acc, reason)
        }
        Publish::Failed { error } => failed(&format!("attempt {n} failed for good"), &error),
        Publish::Retry { error, ambiguous } => {
            // Never outside the calling hours: moved to the next opening.
            let next = hours::retry_at(m, after(now, backoff.delay(n)), settings);
            let gave_up = |reason: String| Change::Failed {
                error: error.clone(),
                ambiguous,
                reason,
            };
            if !backoff.may_retry(n) {
                gave_up(format!(
                    "attempt {n} of {} failed: no attempts left",
                    backoff.max_attempts
                ))
            } else if next > give_up_at(m, settings) {
                gave_up(format!(
                    "attempt {n} failed and the next would come after the give-up time ({} after being due)",
                    human(settings.give_up_after)
                ))
            } else {
                Change::Retry {
                    reason: format!(
                        "attempt {n} of {} failed; next at {next}",
                        backoff.max_attempts
                    ),
                    error,
                    next,
                    ambiguous,
                }
            }
        }
        Publish::Paused { reason } => {
            tracing::warn!(id = %m.id, backend = %m.backend, "backend paused: {reason}; the message waits");
            Change::Paused {
                next: after(now, settings.retry_base),
                reason: format!("backend paused: {reason}; attempt not counted"),
            }
        }
        // Due again after a pause, so that a full backend is not asked in a tight loop.
        Publish::Deferred => Change::Deferred {
            next: after(now, settings.interval),
            reason: "backend has no capacity now; attempt not counted".into(),
        },
    }
}

/// `1h`, `90s`: durations as written in the configuration.
pub(crate) fn human(d: std::time::Duration) -> String {
    let sd = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    format!("{sd:#}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_model::message::JsonMap;
    use dialout_model::message::Priority;
    use dialout_model::phone::PhoneNumber;
    use dialout_model::state::State;

    fn message(attempts: u32, created_at: Timestamp) -> Message {
        Message {
            id: MessageId::new(),
            created_at,
            changed_at: created_at,
            sent_at: None,
            recipient: PhoneNumber::from_e164("+420777123456").unwrap(),
            content: "hello".into(),
            template_slug: None,
            template_id: None,
            state: State::Waiting,
            backend: "b".into(),
            error: None,
            extra_data: JsonMap::new(),
            extra_sender_data: JsonMap::new(),
            tag: None,
            is_final_state: false,
            related: vec![],
            priority: Priority::default(),
            predictive: false,
            attempts,
            next_attempt_at: None,
            not_before: None,
            idempotency_key: None,
            check_failures: 0,
            resent_from: None,
            attempt_unresolved: true,
            time_zone: None,
        }
    }

    fn retry(ambiguous: bool) -> Publish {
        Publish::Retry {
            error: "timeout".into(),
            ambiguous,
        }
    }

    #[test]
    fn retries_back_off_until_the_last_attempt_then_error() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let Change::Retry { next, .. } = change_for(&message(1, now), retry(false), &b, &s, now)
        else {
            panic!("a retry");
        };
        let wait = next.duration_since(now);
        assert!(
            wait <= jiff::SignedDuration::from_secs(30)
                && wait >= jiff::SignedDuration::from_secs(24),
            "{wait:?}"
        );
        let Change::Retry {
            next, ambiguous, ..
        } = change_for(&message(2, now), retry(true), &b, &s, now)
        else {
            panic!("a retry");
        };
        let wait = next.duration_since(now);
        assert!(
            wait <= jiff::SignedDuration::from_secs(60)
                && wait >= jiff::SignedDuration::from_secs(48),
            "{wait:?}"
        );
        assert!(
            ambiguous,
            "an ambiguous failure is looked up before the next publish"
        );
        let Change::Failed { error, reason, .. } =
            change_for(&message(3, now), retry(false), &b, &s, now)
        else {
            panic!("failed");
        };
        assert!(reason.contains("no attempts left"), "{reason}");
        assert_eq!(error, "timeout");
    }

    #[test]
    fn a_retry_past_the_give_up_time_is_an_error() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let old = message(1, now - jiff::SignedDuration::from_secs(3590));
        let c = change_for(&old, retry(false), &b, &s, now);
        assert!(matches!(c, Change::Failed { .. }), "{c:?}");
        assert!(c.reason().contains("give-up"), "{}", c.reason());
    }

    #[test]
    fn paused_and_deferred_wait_uncounted() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let paused = Publish::Paused {
            reason: "401".into(),
        };
        let c = change_for(&message(1, now), paused, &b, &s, now);
        assert!(
            matches!(c, Change::Paused { next, .. } if next > now),
            "{c:?}"
        );
        let c = change_for(&message(1, now), Publish::Deferred, &b, &s, now);
        assert!(
            matches!(c, Change::Deferred { next, .. } if next > now),
            "{c:?}"
        );
    }

    #[test]
    fn accepted_and_failed() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let c = change_for(
            &message(1, now),
            Publish::Accepted(Accepted::ready(JsonMap::new(), "spooled")),
            &b,
            &s,
            now,
        );
        assert!(
            matches!(
                c,
                Change::Accepted {
                    state: State::Ready,
                    is_final: false,
                    ..
                }
            ),
            "{c:?}"
        );
        let c = change_for(
            &message(1, now),
            Publish::Failed {
                error: "invalid number".into(),
            },
            &b,
            &s,
            now,
        );
        assert!(
            matches!(&c, Change::Failed { error, ambiguous: false, .. } if error == "invalid number"),
            "{c:?}"
        );
    }
}
