//! Publishing messages stored with their first attempt already begun (one commit fewer
//! for `send`).

use std::sync::Arc;

use super::channels::Channels;
use super::retry::Backoff;
use super::{DeliveryError, failpoint, hours};
use dialout_model::message::Message;
use dialout_store::prelude::*;

use super::handover::{
    Published, Record, fail_unconfigured, group_by_backend, hand_over, renewing,
};

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
