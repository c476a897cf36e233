//! Calling hours in the delivery path: a message is published only while its recipient's
//! window is open; outside it waits for the next opening, and a retry is moved into a window.

use jiff::Timestamp;

use super::DeliverySettings;
use dialout_model::duration::after;
use dialout_model::hours::CALLING_HOURS_END;
use dialout_model::hours::{CallingHours, Zones};
use dialout_model::message::Message;
use dialout_model::phone::PhoneNumber;
use dialout_store::Change;

/// What the calling hours say about publishing a message now.
pub(crate) enum Verdict {
    Open,
    /// Closed: due again at the next opening.
    Wait(Change),
    /// No instant within about a year is open in every zone of the message.
    Never(String),
}

fn hours_and_zones<'s>(
    settings: &'s DeliverySettings,
    backend: &str,
    recipient: &PhoneNumber,
    time_zone: Option<&str>,
) -> Option<(&'s CallingHours, Zones)> {
    let hours = settings.calling_hours_for(backend)?;
    Some((hours, hours.zones(recipient, time_zone)))
}

/// Whether `m` may be published at `now`.
pub(crate) fn verdict(settings: &DeliverySettings, m: &Message, now: Timestamp) -> Verdict {
    let Some((hours, zones)) =
        hours_and_zones(settings, &m.backend, &m.recipient, m.time_zone.as_deref())
    else {
        return Verdict::Open;
    };
    match hours.next_open(now, &zones) {
        Some(t) if t <= now => Verdict::Open,
        Some(next) => Verdict::Wait(Change::Postponed {
            next,
            reason: format!(
                "outside calling hours in {zones}: waits until {}",
                local(next, &zones)
            ),
        }),
        None if m.time_zone.is_none() && zones.names().len() > 1 => Verdict::Never(format!(
            "{} is toll-free or non-geographic, or spans several time zones ({zones}), and the calling hours are never open in all of them at once: give the recipient's time zone (--time-zone, or time_zone in the API and in CSV import)",
            m.recipient
        )),
        None => Verdict::Never(format!(
            "the calling hours are never open in all of {zones} at once: cannot be called"
        )),
    }
}

/// Whether a new message could be published at once (nothing to wait for).
pub(crate) fn open_now(
    settings: &DeliverySettings,
    m: &dialout_model::message::NewMessage,
) -> bool {
    match hours_and_zones(settings, &m.backend, &m.recipient, m.time_zone.as_deref()) {
        None => true,
        Some((hours, zones)) => hours.is_open(settings.clock.now(), &zones),
    }
}

/// When `m` is given up: `give_up_after` from when it was due, counting only time inside its
/// calling hours (a message due at night has the whole next window).
pub(crate) fn give_up_at(m: &Message, due: Timestamp, settings: &DeliverySettings) -> Timestamp {
    let plain = after(due, settings.give_up_after);
    match hours_and_zones(settings, &m.backend, &m.recipient, m.time_zone.as_deref()) {
        None => plain,
        Some((hours, zones)) => hours
            .after_open(due, settings.give_up_after, &zones)
            .unwrap_or(plain),
    }
}

/// A retry at `next`, moved to the next opening when `next` is outside the calling hours.
pub(crate) fn retry_at(m: &Message, next: Timestamp, settings: &DeliverySettings) -> Timestamp {
    match hours_and_zones(settings, &m.backend, &m.recipient, m.time_zone.as_deref()) {
        None => next,
        Some((hours, zones)) => hours.next_open(next, &zones).unwrap_or(next),
    }
}

/// Sets [`CALLING_HOURS_END`] on a message about to be handed over inside its window.
pub(crate) fn mark_window_end(settings: &DeliverySettings, m: &mut Message, now: Timestamp) {
    if let Some((hours, zones)) =
        hours_and_zones(settings, &m.backend, &m.recipient, m.time_zone.as_deref())
        && hours.is_open(now, &zones)
    {
        let end = hours.next_close(now, &zones).to_string();
        m.extra_sender_data
            .insert(CALLING_HOURS_END.into(), serde_json::Value::String(end));
    }
}

/// `2026-03-09T09:00:00-04:00[America/New_York]`: the instant in the (first) zone.
fn local(t: Timestamp, zones: &Zones) -> String {
    match zones.names().first().and_then(|n| t.in_tz(n).ok()) {
        Some(z) => z.to_string(),
        None => t.to_string(),
    }
}
