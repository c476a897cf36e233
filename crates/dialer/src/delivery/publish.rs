//! Publishing claimed messages: the one path both `send` (at once) and the worker use.

use std::sync::Arc;

use super::allowlist::Allowlist;
use super::channels::Channels;
use super::retry::Backoff;
use super::{DeliveryError, Renewer, blocking, failpoint, hours, owner_id};
use dialout_backends::backend::Found;
use dialout_model::duration::after;
use dialout_model::id::MessageId;
use dialout_model::message::Message;
use dialout_store::Claimable;
use dialout_store::prelude::*;

use super::handover::{
    Published, Record, fail_unconfigured, finish_all, group_by_backend, hand_over,
};
use super::outcome::{accepted, failed, gave_up, give_up_at, human};

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
