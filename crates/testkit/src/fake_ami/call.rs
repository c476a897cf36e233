//! One originated call: the callee's behaviour, the channel events, and dialout's AMI
//! dialplan (answered / complete / failed / h) with its UserEvents and AstDB writes.

use std::sync::Arc;
use std::time::Duration;

use super::wire::Packet;
use super::{Callee, LiveCall, Originated, Shared, epoch};

fn channel_event(event: &str, channel: &str, uniqueid: &str) -> Packet {
    Packet::new()
        .with("Event", event)
        .with("Privilege", "call,all")
        .with("Channel", channel)
        .with("Uniqueid", uniqueid)
}

fn hangup(channel: &str, uniqueid: &str, cause: u32, text: &str) -> Packet {
    channel_event("Hangup", channel, uniqueid)
        .with("Cause", cause)
        .with("Cause-txt", text)
}

fn user_event(channel: &str, uniqueid: &str, id: &str, rest: &[(&str, String)]) -> Packet {
    let mut p = Packet::new()
        .with("Event", "UserEvent")
        .with("Privilege", "user,all")
        .with("Channel", channel)
        .with("Uniqueid", uniqueid)
        .with("UserEvent", "DialoutReport")
        .with("Id", id);
    for (k, v) in rest {
        p = p.with(k, v);
    }
    p
}

fn originate_response(o: &Originated, success: bool, channel: &str, reason: u32) -> Packet {
    Packet::new()
        .with("Event", "OriginateResponse")
        .with("Privilege", "call,all")
        .with("ActionID", &o.action_id)
        .with("Response", if success { "Success" } else { "Failure" })
        .with("Channel", channel)
        .with("Context", &o.context)
        .with("Exten", &o.exten)
        .with("Application", "")
        .with("Data", "")
        .with("Reason", reason)
        .with("Uniqueid", &o.channel_id)
        .with("CallerIDNum", "<unknown>")
        .with("CallerIDName", "<unknown>")
}

pub(crate) async fn run(shared: Arc<Shared>, o: Originated) {
    let (generation, callee, seq, playback, setup, h_time, answer_time, ivr_times) = {
        let mut st = shared.lock();
        st.seq += 1;
        let callee = st
            .callees
            .iter()
            .find(|(d, _)| o.channel.contains(d.as_str()))
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| st.default_callee.clone());
        (
            st.generation,
            callee,
            st.seq,
            st.playback,
            st.setup,
            st.h_time,
            st.answer_time,
            (st.ivr_scale, st.prompt_secs, st.amd_loaded),
        )
    };
    let (scale, prompt_secs, amd_loaded) = ivr_times;
    let id = o.variable("DIALOUT_ID").unwrap_or("").to_string();
    let chan1 = format!("{}-{seq:08x};1", o.channel);
    let chan2 = format!("{}-{seq:08x};2", o.channel);
    let uid1 = o.channel_id.clone();
    let uid2 = format!("{};2", o.channel_id);
    let timeout = Duration::from_millis(o.timeout_ms);
    let emit = |p: Packet| shared.emit(generation, p);
    let db_set = |value: String| {
        let mut st = shared.lock();
        if st.generation == generation {
            st.db.insert(format!("dialout/{id}"), value);
        }
    };
    let failed = |reason: u32| {
        // The dial failed: OriginateResponse, then the context's `failed` extension.
        emit(originate_response(&o, false, &o.channel, reason));
        let fchan = format!("OutgoingSpoolFailed-{seq:08x}");
        db_set(format!("failed {} {reason}", epoch()));
        emit(user_event(
            &fchan,
            &format!("{uid1}.f"),
            &id,
            &[("Phase", "failed".into()), ("Reason", reason.to_string())],
        ));
    };
    if matches!(callee, Callee::Unreachable) {
        failed(0);
        return;
    }
    {
        let mut st = shared.lock();
        st.live.insert(
            uid1.clone(),
            LiveCall {
                dialout_id: id.clone(),
                answered: false,
                phase: "setup",
            },
        );
        st.max_live = st.max_live.max(st.live.len());
    }
    let end = |shared: &Shared| {
        shared.lock().live.remove(&uid1);
    };
    let phase = |name: &'static str| {
        if let Some(c) = shared.lock().live.get_mut(&uid1) {
            c.phase = name;
        }
    };
    tokio::time::sleep(setup).await;
    if shared.lock().generation != generation {
        return;
    }
    phase("ringing");
    for (c, u) in [(&chan1, &uid1), (&chan2, &uid2)] {
        emit(
            channel_event("Newchannel", c, u)
                .with("ChannelState", 0)
                .with("ChannelStateDesc", "Down")
                .with("Exten", &o.exten)
                .with("Context", &o.context),
        );
    }
    emit(
        channel_event("DialBegin", &chan1, &uid1)
            .with("DestChannel", &chan2)
            .with("DestUniqueid", &uid2),
    );
    let (ring, listen, audio_ok) = match callee {
        Callee::Answers {
            ring,
            hangs_up_after,
        } => (ring, hangs_up_after, true),
        Callee::AnswersAudioFails { ring } => (ring, None, false),
        Callee::Talks {
            ring,
            hangs_up_after,
            ..
        } => (
            ring,
            hangs_up_after.map(|s| Duration::from_secs_f64(s * scale)),
            true,
        ),
        Callee::Busy { after } | Callee::Congestion { after } => {
            tokio::time::sleep(after.min(timeout)).await;
            let busy = matches!(callee, Callee::Busy { .. });
            if after < timeout {
                let (cause, text, status, reason) = if busy {
                    (17, "User busy", "BUSY", 5)
                } else {
                    (34, "Circuit/channel congestion", "CONGESTION", 8)
                };
                emit(hangup(&chan2, &uid2, cause, text));
                emit(
                    channel_event("DialEnd", &chan1, &uid1)
                        .with("DestUniqueid", &uid2)
                        .with("DialStatus", status),
                );
                emit(hangup(&chan1, &uid1, cause, text));
                end(&shared);
                failed(reason);
            } else {
                end(&shared);
                failed(3);
            }
            return;
        }
        Callee::NoAnswer => (timeout, None, true),
        Callee::Unreachable => unreachable!(),
    };
    if ring >= timeout {
        tokio::time::sleep(timeout).await;
        emit(
            channel_event("DialEnd", &chan1, &uid1)
                .with("DestUniqueid", &uid2)
                .with("DialStatus", "NOANSWER"),
        );
        emit(hangup(&chan2, &uid2, 0, "Unknown"));
        emit(hangup(&chan1, &uid1, 0, "Unknown"));
        end(&shared);
        failed(3);
        return;
    }
    tokio::time::sleep(ring).await;
    if shared.lock().generation != generation {
        return;
    }
    emit(
        channel_event("Newstate", &chan2, &uid2)
            .with("ChannelState", 6)
            .with("ChannelStateDesc", "Up"),
    );
    emit(
        channel_event("DialEnd", &chan1, &uid1)
            .with("DestUniqueid", &uid2)
            .with("DialStatus", "ANSWER"),
    );
    // Answered: OriginateResponse first, then the dialplan runs.
    emit(originate_response(&o, true, &chan1, 4));
    if let Some(c) = shared.lock().live.get_mut(&uid1) {
        c.answered = true;
        c.phase = "answered";
    }
    tokio::time::sleep(answer_time).await;
    if shared.lock().generation != generation {
        return;
    }
    phase("playing");
    db_set(format!("answered {}", epoch()));
    emit(user_event(
        &chan1,
        &uid1,
        &id,
        &[("Phase", "answered".into())],
    ));
    if o.exten == "ivr" {
        let party = match &callee {
            Callee::Talks { party, .. } => party.clone(),
            _ => crate::fake_asterisk::Party::person(&[]),
        };
        let user = |h: &[(&str, String)]| emit(user_event(&chan1, &uid1, &id, h));
        let db = |family: &str, value: String| {
            let mut st = shared.lock();
            if st.generation == generation {
                st.db.insert(format!("{family}/{id}"), value);
            }
        };
        let tl = super::ivr::Timeline {
            answered: std::time::Instant::now(),
            scale,
            hangup_at: listen.map(|l| l.as_secs_f64() / scale),
        };
        let machine = o.variable("DIALOUT_MACHINE").is_some_and(|m| !m.is_empty());
        // Without app_amd: "No application 'AMD'", and the call hangs up at that priority.
        if !machine || amd_loaded {
            let line = super::ivr::Line {
                user_event: &user,
                db: &db,
            };
            let message = playback.as_secs_f64() / scale;
            super::ivr::run(&line, &o, &party, &tl, (message, prompt_secs)).await;
        }
        if shared.lock().generation != generation {
            return;
        }
    } else {
        let heard_all = listen.is_none_or(|l| l >= playback);
        tokio::time::sleep(listen.map_or(playback, |l| l.min(playback))).await;
        if shared.lock().generation != generation {
            return;
        }
        plain_complete(heard_all, audio_ok, &db_set, &emit, (&chan1, &uid1, &id));
    }
    emit(hangup(&chan2, &uid2, 16, "Normal Clearing"));
    phase("h");
    tokio::time::sleep(h_time).await;
    // The h extension: turns `answered` into `hangup` (a complete report is kept).
    {
        let mut st = shared.lock();
        let key = format!("dialout/{id}");
        if st.generation == generation {
            h_extension(&mut st.db, &key);
        }
    }
    emit(user_event(
        &chan1,
        &uid1,
        &id,
        &[("Phase", "hangup".into()), ("HangupCause", "16".into())],
    ));
    end(&shared);
    shared
        .lock()
        .hung_up
        .insert(id.clone(), std::time::SystemTime::now());
    emit(hangup(&chan1, &uid1, 16, "Normal Clearing"));
}

/// The `complete` step of the plain extension `s`: AstDB, then the UserEvent.
fn plain_complete(
    heard_all: bool,
    audio_ok: bool,
    db_set: &dyn Fn(String),
    emit: &dyn Fn(Packet) -> bool,
    (chan1, uid1, id): (&str, &str, &str),
) {
    if heard_all {
        let status = if audio_ok { "SUCCESS" } else { "FAILED" };
        db_set(format!("complete {} {status}", epoch()));
        emit(user_event(
            chan1,
            uid1,
            id,
            &[
                ("Phase", "complete".into()),
                ("PlaybackStatus", status.into()),
            ],
        ));
    }
}

/// The `h` extension's AstDB step: `answered` becomes `hangup`, `gathering` becomes
/// `complete` (a `complete` one stays).
pub(crate) fn h_extension(db: &mut std::collections::BTreeMap<String, String>, key: &str) {
    match db.get(key) {
        Some(v) if v.starts_with("answered") => {
            db.insert(key.to_string(), format!("hangup {} 16", epoch()));
        }
        Some(v) if v.starts_with("gathering ") => {
            let rest = v["gathering ".len()..].to_string();
            db.insert(key.to_string(), format!("complete {rest}"));
        }
        _ => {}
    }
}
