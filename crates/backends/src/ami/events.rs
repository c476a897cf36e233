//! What the session's events mean for the calls in flight: OriginateResponse, the
//! dialplan's `UserEvent(DialoutReport)`, a channel's Hangup, and `FullyBooted` (how long
//! Asterisk has been up); a login again or a restart makes every call's AstDB record be
//! read again.

use std::sync::atomic::Ordering;

use super::calls::End;
use super::session::Events;
use super::{Inner, lock, now_ms, parse_action_id, proto};
use dialout_model::id::MessageId;

impl Events for Inner {
    fn event(&self, p: &proto::Packet) {
        if p.is("Event", "FullyBooted") {
            self.booted(p);
            return;
        }
        let mut changed = false;
        {
            let mut calls = lock(&self.calls);
            if p.is("Event", "OriginateResponse") {
                if let Some((id, attempt)) = p.get("ActionID").and_then(parse_action_id)
                    && let Some(c) = calls.by_id.get_mut(&id)
                    && c.attempt == attempt
                {
                    if p.is("Response", "Success") {
                        c.answered = true;
                    } else if c.ended.is_none() {
                        let reason = p.get("Reason").and_then(|r| r.trim().parse().ok());
                        c.ended = Some(End::Failed(reason));
                    }
                    changed = true;
                }
            } else if p.is("Event", "UserEvent") && p.is("UserEvent", "DialoutReport") {
                if let Some(id) = p.get("Id").and_then(|i| i.trim().parse::<MessageId>().ok())
                    && let Some(c) = calls.by_id.get_mut(&id)
                {
                    match p.get("Phase").unwrap_or("") {
                        "answered" => c.answered = true,
                        "complete" => {
                            c.answered = true;
                            c.played = Some(!p.is("PlaybackStatus", "FAILED"));
                        }
                        "failed" if !c.answered && c.ended.is_none() => {
                            let reason = p.get("Reason").and_then(|r| r.trim().parse().ok());
                            c.ended = Some(End::Failed(reason));
                        }
                        "hangup" if c.answered => {
                            c.ended.get_or_insert(End::Hangup);
                        }
                        _ => {
                            super::ivr::apply_event(&mut c.ivr, p, super::now_epoch());
                        }
                    }
                    changed = true;
                }
            } else if p.is("Event", "Hangup")
                && let Some(id) = p
                    .get("Uniqueid")
                    .and_then(|u| calls.by_channel.get(u))
                    .copied()
                && let Some(c) = calls.by_id.get_mut(&id)
                && c.answered
            {
                c.ended.get_or_insert(End::Hangup);
                changed = true;
            }
        }
        if changed {
            self.wake.notify_one();
        }
    }

    fn connected(&self, _conn: u64) {
        // Events may have been missed while disconnected: every call is read again.
        self.read_all_again();
    }

    fn disconnected(&self, conn: u64, restart: bool) {
        if restart {
            lock(&self.restarts).shut_down(conn, now_ms());
        }
        self.mark_unsure();
    }
}

impl Inner {
    /// `FullyBooted` after a login: its `Uptime` tells whether Asterisk started after calls
    /// were placed (a crash sends no Shutdown); those calls are decided from AstDB.
    fn booted(&self, p: &proto::Packet) {
        let Some(uptime) = p.get("Uptime").and_then(|u| u.trim().parse::<u64>().ok()) else {
            return;
        };
        if lock(&self.restarts).booted(self.session.conn(), uptime, now_ms()) {
            tracing::warn!(backend = %self.name, host = %self.config.host, "Asterisk restarted since the last login (up {uptime} s): the calls it had are over; deciding them from AstDB");
        } else {
            tracing::info!(backend = %self.name, host = %self.config.host, "Asterisk is up (for {uptime} s)");
        }
        self.read_all_again();
    }

    /// Every call not over yet waits for its AstDB record before it is judged again.
    fn mark_unsure(&self) {
        for c in lock(&self.calls).by_id.values_mut() {
            if c.ended.is_none() {
                c.unsure = true;
            }
        }
    }

    fn read_all_again(&self) {
        self.reread.fetch_add(1, Ordering::SeqCst);
        self.mark_unsure();
        self.wake.notify_one();
    }
}
