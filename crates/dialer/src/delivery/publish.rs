//! Publishing claimed messages: the one path both `send` (at once) and the worker use.

use std::sync::Arc;

use jiff::Timestamp;

use super::{
    Allowlist, Backoff, DeliveryError, DeliverySettings, Renewer, after, blocking, failpoint,
    owner_id,
};
use crate::backend::{Accepted, Found, Publish};
use crate::backends::Backends;
use crate::store::{Change, Store};
use crate::{Message, MessageId, State};

/// Publishes these stored messages now (what `send` does unless delivery is queued):
/// claims them, publishes those that are still unpublished and free, and returns every
/// message as stored afterwards, in the order of `ids` (ids not stored are left out).
pub async fn publish_now(
    store: &Arc<dyn Store>,
    backends: &Backends,
    ids: &[MessageId],
) -> Result<Vec<Message>, DeliveryError> {
    let owner = owner_id();
    let now = Timestamp::now();
    let lease_until = after(now, backends.delivery().lease);
    let (claim_ids, claim_owner) = (ids.to_vec(), owner.clone());
    let claimed = blocking(store, move |s| {
        s.claim_ids(&claim_ids, &claim_owner, now, lease_until)
    })
    .await?;
    let n = claimed.len();
    let published = publish_claimed(store, backends, &owner, claimed).await;
    // Each recorded outcome released its claim; release the rest (and after an error).
    // Skipped when nothing is left: releasing looks through every unpublished message.
    if published.as_ref().map_or(true, |p| p.messages.len() < n) {
        let release_owner = owner.clone();
        blocking(store, move |s| s.release(&release_owner)).await?;
    }
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

/// What [`publish_claimed`] did.
#[derive(Debug, Default)]
pub struct Published {
    /// The messages whose outcome was recorded.
    pub messages: Vec<Message>,
    /// Backends that said they cannot take messages now, with their reason.
    pub paused: Vec<(String, String)>,
    /// Messages a backend deferred for lack of capacity.
    pub deferred: usize,
}

/// Publishes messages `owner` has claimed and records each outcome, renewing the claims
/// meanwhile. Any message it could not decide on (a backend that cannot answer `find`, no
/// capacity) is left claimed for the caller to release.
pub async fn publish_claimed(
    store: &Arc<dyn Store>,
    backends: &Backends,
    owner: &str,
    claimed: Vec<Message>,
) -> Result<Published, DeliveryError> {
    let mut done = Published::default();
    if claimed.is_empty() {
        return Ok(done);
    }
    // A slow backend must not let the claims expire while it works.
    let _renewer = Renewer::start(store, owner, backends.delivery().lease);
    failpoint::reached("after-claim").await;
    let settings = backends.delivery();
    let allowlist = Allowlist::new(settings.allowlist.as_deref());
    let backoff = Backoff::from_settings(settings);
    let mut out = Vec::with_capacity(claimed.len());

    for (name, group) in group_by_backend(claimed) {
        let now = Timestamp::now();
        let Some(backend) = backends.get(&name) else {
            out.extend(fail_unconfigured(store, owner, &name, &group).await?);
            continue;
        };
        let mut decided = Vec::new();
        let mut ready = Vec::new();
        // Messages whose lost attempt never reached the backend: this publish takes its
        // place, already counted and committed, so it is not begun (counted) again.
        let mut resumed = std::collections::HashSet::new();
        for m in group {
            if let Some(refusal) = allowlist.refusal(&m.recipient) {
                decided.push((m.id, error_change("refused by the allowlist", &refusal)));
                continue;
            }
            if m.attempt_unresolved {
                let found = match backend.lookup() {
                    Some(l) => l.find(&m).await,
                    None => Ok(Found::Unknown),
                };
                match found {
                    Ok(Found::Yes(acc)) => {
                        let reason = format!("adopted after an unresolved attempt: {}", acc.reason);
                        decided.push((m.id, accepted_change(acc, reason, now)));
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
                        decided.push((m.id, error_change("outcome unknown", &reason)));
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
        out.extend(finish_all(store, owner, decided).await?);
        if ready.is_empty() {
            continue;
        }

        if let Some(pacing) = backend.pacing() {
            let (n, bname) = (ready.len(), name.clone());
            let in_flight = blocking(store, move |s| s.in_flight(&bname)).await?;
            ready.truncate(pacing.capacity(in_flight).await.min(n));
        }
        let (mut begun, fresh): (Vec<Message>, Vec<Message>) =
            ready.into_iter().partition(|m| resumed.contains(&m.id));
        let ids: Vec<MessageId> = fresh.iter().map(|m| m.id).collect();
        if !ids.is_empty() {
            let o = owner.to_string();
            begun.extend(
                blocking(store, move |s| s.begin_attempts(&ids, &o, Timestamp::now())).await?,
            );
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
            )
            .await?,
        );
    }
    done.messages = out;
    Ok(done)
}

/// Whether `send` may store `m` with its first attempt already begun
/// ([`Store::insert_attempting`]) and hand it over with [`publish_begun`]: nothing is left to
/// decide before the backend is called (no allowlist refusal, no pacing, an attempt
/// allowed), and the backend's lookup can resolve the attempt should the process die.
pub fn may_begin_at_once(backends: &Backends, m: &crate::NewMessage) -> bool {
    let Some(backend) = backends.get(&m.backend) else {
        return false;
    };
    backend.lookup().is_some()
        && backend.pacing().is_none()
        && backends.delivery().allowlist.as_deref().is_none_or(|l| l.contains(&m.recipient))
        && Backoff::from_settings(backends.delivery()).may_retry(0)
        // Not given up before the backend could be called (a new message is due now).
        && backends.delivery().give_up_after >= std::time::Duration::from_secs(1)
        && m.not_before.is_none_or(|t| t <= Timestamp::now())
}

/// Publishes messages stored claimed by `owner` with their first attempt begun and
/// committed ([`Store::insert_attempting`], after [`may_begin_at_once`]), and records each
/// outcome. The claims are renewed only if the backend is slow.
pub async fn publish_begun(
    store: &Arc<dyn Store>,
    backends: &Backends,
    owner: &str,
    begun: Vec<Message>,
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
            out.extend(fail_unconfigured(store, owner, &name, &group).await?);
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
        );
        out.extend(renewing(store, owner, ids, settings.lease, handed).await?);
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
    lease: std::time::Duration,
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
                let (o, until, ids) = (owner.to_string(), after(Timestamp::now(), lease), Arc::clone(&ids));
                if let Err(e) = blocking(store, move |s| s.renew_ids(&o, &ids, until)).await {
                    tracing::warn!("renewing claims failed: {e}");
                }
            }
        }
    }
}

/// Calls the backend for messages whose attempt is begun and committed, then records what
/// it said (`done` collects pauses and deferrals).
async fn hand_over(
    store: &Arc<dyn Store>,
    backend: &dyn crate::Backend,
    owner: &str,
    begun: Vec<Message>,
    backoff: &Backoff,
    settings: &DeliverySettings,
    done: &mut Published,
) -> Result<Vec<Message>, DeliveryError> {
    let name = backend.name().to_string();
    let results = backend.publish_many(&begun).await;
    failpoint::reached("after-publish").await;
    for r in &results {
        match r {
            Publish::Paused { reason } if done.paused.iter().all(|(b, _)| *b != name) => {
                done.paused.push((name.clone(), reason.clone()));
            }
            Publish::Deferred => done.deferred += 1,
            _ => {}
        }
    }
    let now = Timestamp::now();
    let mut results = results.into_iter();
    let changes: Vec<(Message, Change)> = begun
        .into_iter()
        .map(|m| {
            let p = results.next().unwrap_or_else(|| Publish::Retry {
                error: format!("backend {name:?} returned no result for this message"),
                ambiguous: true,
            });
            let change = change_for(&m, p, backoff, settings, now);
            (m, change)
        })
        .collect();
    // The messages are as `owner` begun and committed them: no need to read them back.
    let owner = owner.to_string();
    blocking(store, move |s| {
        let stored = s.finish_known(&owner, &changes, Timestamp::now())?;
        Ok(keep_recorded(
            changes.iter().map(|(m, c)| (m.id, c)),
            stored,
        ))
    })
    .await
}

/// The messages whose outcome was recorded; a warning for each whose claim was lost.
fn keep_recorded<'a>(
    changes: impl Iterator<Item = (MessageId, &'a Change)>,
    stored: Vec<Option<Message>>,
) -> Vec<Message> {
    let mut done = Vec::with_capacity(stored.len());
    for ((id, change), m) in changes.zip(stored) {
        match m {
            Some(m) => done.push(m),
            None => {
                tracing::warn!(%id, "claim lost before the outcome was recorded ({}); left to its new owner", change.reason)
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
    after(due_at(m), settings.give_up_after)
}

/// Messages naming a backend that is not configured end in ERROR, never published.
async fn fail_unconfigured(
    store: &Arc<dyn Store>,
    owner: &str,
    name: &str,
    group: &[Message],
) -> Result<Vec<Message>, DeliveryError> {
    let reason = format!("backend {name:?} is not configured");
    let changes = group
        .iter()
        .map(|m| (m.id, error_change(&reason, &reason)))
        .collect();
    finish_all(store, owner, changes).await
}

async fn finish_all(
    store: &Arc<dyn Store>,
    owner: &str,
    changes: Vec<(MessageId, Change)>,
) -> Result<Vec<Message>, DeliveryError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let owner = owner.to_string();
    blocking(store, move |s| {
        let stored = s.finish_many(&owner, &changes, Timestamp::now())?;
        Ok(keep_recorded(
            changes.iter().map(|(id, c)| (*id, c)),
            stored,
        ))
    })
    .await
}

/// ERROR after giving up, keeping the last error the backend gave.
fn gave_up(m: &Message, reason: &str) -> Change {
    let error = match &m.error {
        Some(e) => format!("{reason}; last error: {e}"),
        None => reason.to_string(),
    };
    error_change(reason, &error)
}

fn error_change(reason: &str, error: &str) -> Change {
    let mut c = Change::to(State::Error, reason);
    c.is_final = true;
    c.error = Some(error.to_string());
    c
}

fn accepted_change(acc: Accepted, reason: String, now: Timestamp) -> Change {
    let mut c = Change::to(acc.state, reason);
    c.is_final = acc.is_final;
    c.sent_at = Some(now);
    c.sender_data = acc.sender_data;
    c
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
            accepted_change(acc, reason, now)
        }
        Publish::Failed { error } => error_change(&format!("attempt {n} failed for good"), &error),
        Publish::Retry { error, ambiguous } => {
            let next = after(now, backoff.delay(n));
            let mut c = if !backoff.may_retry(n) {
                error_change(
                    &format!(
                        "attempt {n} of {} failed: no attempts left",
                        backoff.max_attempts
                    ),
                    &error,
                )
            } else if next > give_up_at(m, settings) {
                let reason = format!(
                    "attempt {n} failed and the next would come after the give-up time ({} after being due)",
                    human(settings.give_up_after)
                );
                error_change(&reason, &error)
            } else {
                let mut c = Change::to(
                    State::ErrorRetry,
                    format!(
                        "attempt {n} of {} failed; next at {next}",
                        backoff.max_attempts
                    ),
                );
                c.is_final = false;
                c.error = Some(error);
                c.next_attempt_at = Some(next);
                c
            };
            c.attempt_unresolved = ambiguous;
            // Every failed attempt gets its history line, even with the same error.
            c.note = true;
            c
        }
        Publish::Paused { reason } => {
            tracing::warn!(id = %m.id, backend = %m.backend, "backend paused: {reason}; the message waits");
            let mut c = not_taken(
                m,
                format!("backend paused: {reason}; attempt not counted"),
                Some(after(now, settings.retry_base)),
            );
            c.note = true;
            c
        }
        // Due again after a pause, so that a full backend is not asked in a tight loop.
        Publish::Deferred => not_taken(
            m,
            "backend has no capacity now; attempt not counted".into(),
            Some(after(now, settings.interval)),
        ),
    }
}

/// The backend did not take the attempt: the message stays as it was, uncounted.
fn not_taken(m: &Message, reason: String, next: Option<Timestamp>) -> Change {
    let mut c = Change::to(m.state, reason);
    c.is_final = false;
    c.error = m.error.clone();
    c.next_attempt_at = next;
    c.uncount_attempt = true;
    c
}

/// `1h`, `90s`: durations as written in the configuration.
pub(crate) fn human(d: std::time::Duration) -> String {
    let sd = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    format!("{sd:#}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JsonMap, PhoneNumber, Priority};

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
        let c1 = change_for(&message(1, now), retry(false), &b, &s, now);
        assert_eq!((c1.state, c1.is_final), (State::ErrorRetry, false));
        let wait = c1.next_attempt_at.unwrap().duration_since(now);
        assert!(
            wait <= jiff::SignedDuration::from_secs(30)
                && wait >= jiff::SignedDuration::from_secs(24),
            "{wait:?}"
        );
        let c2 = change_for(&message(2, now), retry(true), &b, &s, now);
        let wait = c2.next_attempt_at.unwrap().duration_since(now);
        assert!(
            wait <= jiff::SignedDuration::from_secs(60)
                && wait >= jiff::SignedDuration::from_secs(48),
            "{wait:?}"
        );
        assert!(
            c2.attempt_unresolved,
            "an ambiguous failure is looked up before the next publish"
        );
        let c3 = change_for(&message(3, now), retry(false), &b, &s, now);
        assert_eq!((c3.state, c3.is_final), (State::Error, true));
        assert!(c3.reason.contains("no attempts left"), "{}", c3.reason);
        assert_eq!(c3.error.as_deref(), Some("timeout"));
    }

    #[test]
    fn a_retry_past_the_give_up_time_is_an_error() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let old = message(1, now - jiff::SignedDuration::from_secs(3590));
        let c = change_for(&old, retry(false), &b, &s, now);
        assert_eq!(c.state, State::Error);
        assert!(c.reason.contains("give-up"), "{}", c.reason);
    }

    #[test]
    fn paused_and_deferred_keep_the_state_and_do_not_count() {
        let s = DeliverySettings::default();
        let b = Backoff::from_settings(&s);
        let now = Timestamp::now();
        let c = change_for(
            &message(1, now),
            Publish::Paused {
                reason: "401".into(),
            },
            &b,
            &s,
            now,
        );
        assert_eq!(
            (c.state, c.is_final, c.uncount_attempt, c.attempt_unresolved),
            (State::Waiting, false, true, false)
        );
        assert!(c.next_attempt_at.is_some_and(|t| t > now));
        let c = change_for(&message(1, now), Publish::Deferred, &b, &s, now);
        assert_eq!((c.state, c.uncount_attempt), (State::Waiting, true));
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
        assert_eq!(
            (c.state, c.is_final, c.sent_at, c.attempt_unresolved),
            (State::Ready, false, Some(now), false)
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
        assert_eq!(
            (c.state, c.is_final, c.error.as_deref()),
            (State::Error, true, Some("invalid number"))
        );
    }
}
