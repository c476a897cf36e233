//! One manager connection: banner, actions in, responses and events out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::wire::{Packet, Splitter};
use super::{BANNER, Frame, Originated, Phase, Shared, call};

pub(crate) async fn serve(shared: Arc<Shared>, sock: TcpStream) {
    let (mut rd, mut wr) = sock.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    let id = {
        let mut st = shared.lock();
        if st.phase == Phase::Down {
            // Not running: the port refuses service.
            return;
        }
        st.next_conn += 1;
        let id = st.next_conn;
        st.conns.insert(id, (tx.clone(), false));
        id
    };
    let writer = tokio::spawn(async move {
        if wr.write_all(BANNER.as_bytes()).await.is_err() {
            return;
        }
        while let Some(f) = rx.recv().await {
            match f {
                Frame::Packet(p) => {
                    if wr.write_all(p.to_wire().as_bytes()).await.is_err() {
                        return;
                    }
                }
                Frame::Close => {
                    let _ = wr.shutdown().await;
                    return;
                }
            }
        }
    });
    let mut split = Splitter::default();
    let mut buf = vec![0u8; 8192];
    let mut logged_in = false;
    'read: loop {
        let n = tokio::select! {
            r = rd.read(&mut buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
            _ = wait_closed(&writer) => break,
        };
        for action in split.push(&buf[..n]) {
            let name = action.get("Action").unwrap_or("").to_ascii_lowercase();
            shared.lock().actions.push(name.clone());
            let aid = action.get("ActionID").map(str::to_string);
            let reply = |p: Packet| {
                let p = match &aid {
                    Some(a) => insert_action_id(p, a),
                    None => p,
                };
                let _ = tx.send(Frame::Packet(p));
            };
            if shared.lock().phase == Phase::ShuttingDown {
                // Every action, Login included, while a restart is under way.
                reply(error("Asterisk is shutting down"));
                continue;
            }
            if name == "login" {
                let (ok, delay) = {
                    let mut st = shared.lock();
                    let ok = action.get("Username") == Some(st.username.as_str())
                        && action.get("Secret") == Some(st.secret.as_str());
                    if ok {
                        st.logins += 1;
                        if let Some(c) = st.conns.get_mut(&id) {
                            c.1 = true;
                        }
                    } else {
                        st.failed_logins += 1;
                    }
                    (ok, st.refusal_delay)
                };
                if !ok {
                    // Answered late, and the socket is closed right after the answer.
                    tokio::time::sleep(delay).await;
                    reply(error("Authentication failed"));
                    let _ = tx.send(Frame::Close);
                    break 'read;
                }
                logged_in = true;
                reply(success().with("Message", "Authentication accepted"));
                let uptime = shared.lock().booted.elapsed().as_secs();
                let _ = tx.send(Frame::Packet(
                    Packet::new()
                        .with("Event", "FullyBooted")
                        .with("Privilege", "system,all")
                        .with("Uptime", uptime)
                        .with("LastReload", uptime)
                        .with("Status", "Fully Booted"),
                ));
                continue;
            }
            if !logged_in {
                reply(error("Permission denied"));
                continue;
            }
            match name.as_str() {
                "ping" => reply(
                    success()
                        .with("Ping", "Pong")
                        .with("Timestamp", format!("{}.000000", super::epoch())),
                ),
                "logoff" => {
                    reply(
                        Packet::new()
                            .with("Response", "Goodbye")
                            .with("Message", "Thanks for all the fish."),
                    );
                    let _ = tx.send(Frame::Close);
                    break 'read;
                }
                "originate" => originate(&shared, &action, aid.as_deref(), &tx).await,
                "dbget" => {
                    let key = db_key(&action);
                    let val = shared.lock().db.get(&key).cloned();
                    match val {
                        None => reply(error("Database entry not found")),
                        Some(v) => {
                            reply(
                                success()
                                    .with("EventList", "start")
                                    .with("Message", "Result will follow"),
                            );
                            let ev = |p: Packet| {
                                let p = match &aid {
                                    Some(a) => p.with("ActionID", a),
                                    None => p,
                                };
                                let _ = tx.send(Frame::Packet(p));
                            };
                            ev(Packet::new()
                                .with("Event", "DBGetResponse")
                                .with("Family", action.get("Family").unwrap_or(""))
                                .with("Key", action.get("Key").unwrap_or(""))
                                .with("Val", v));
                            ev(Packet::new()
                                .with("Event", "DBGetComplete")
                                .with("EventList", "Complete")
                                .with("ListItems", "1"));
                        }
                    }
                }
                "dbput" => {
                    let key = db_key(&action);
                    let val = action.get("Val").unwrap_or("").to_string();
                    shared.lock().db.insert(key, val);
                    reply(success().with("Message", "Updated database successfully"));
                }
                "dbdel" => {
                    let key = db_key(&action);
                    match shared.lock().db.remove(&key) {
                        Some(_) => reply(success().with("Message", "Key deleted successfully")),
                        None => reply(error("Database entry not found")),
                    }
                }
                "showdialplan" => {
                    let ctx = action.get("Context").unwrap_or("").to_string();
                    let known = shared.lock().contexts.contains(&ctx);
                    if !known {
                        reply(error(&format!("Did not find context {ctx}")));
                        continue;
                    }
                    reply(
                        success()
                            .with("EventList", "start")
                            .with("Message", "DialPlan list will follow"),
                    );
                    let mut items = 0;
                    for (exten, prio, app) in
                        [("s", 1, "NoOp"), ("failed", 1, "Set"), ("h", 1, "Set")]
                    {
                        items += 1;
                        let mut p = Packet::new().with("Event", "ListDialplan");
                        if let Some(a) = &aid {
                            p = p.with("ActionID", a);
                        }
                        let _ = tx.send(Frame::Packet(
                            p.with("Context", &ctx)
                                .with("Extension", exten)
                                .with("Priority", prio)
                                .with("Application", app)
                                .with("AppData", "")
                                .with("Registrar", "pbx_config"),
                        ));
                    }
                    let mut p = Packet::new().with("Event", "ShowDialPlanComplete");
                    if let Some(a) = &aid {
                        p = p.with("ActionID", a);
                    }
                    let _ = tx.send(Frame::Packet(
                        p.with("EventList", "Complete")
                            .with("ListItems", items)
                            .with("ListExtensions", 3)
                            .with("ListPriorities", 3)
                            .with("ListContexts", 1),
                    ));
                }
                "command" if action.get("Command") == Some("module show like app_amd") => {
                    // main/manager.c: one `Output:` per line; main/cli.c's module list.
                    let loaded = shared.lock().amd_loaded;
                    let mut p = success().with("Message", "Command output follows").with(
                        "Output",
                        format!(
                            "{:<30} {:<40} {:<10} {:<11} {:>13}",
                            "Module", "Description", "Use Count", "Status", "Support Level"
                        ),
                    );
                    if loaded {
                        p = p.with(
                            "Output",
                            format!(
                                "{:<30} {:<40} {:<10} {:<11} {:>13}",
                                "app_amd.so",
                                "Answering Machine Detection Application",
                                0,
                                "Running",
                                "extended"
                            ),
                        );
                    }
                    reply(p.with("Output", format!("{} modules loaded", u8::from(loaded))));
                }
                _ => reply(error("Invalid/unknown command")),
            }
        }
    }
    shared.lock().conns.remove(&id);
    let _ = tx.send(Frame::Close);
}

async fn wait_closed(h: &tokio::task::JoinHandle<()>) {
    while !h.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn success() -> Packet {
    Packet::new().with("Response", "Success")
}

fn error(message: &str) -> Packet {
    Packet::new()
        .with("Response", "Error")
        .with("Message", message)
}

/// Responses carry the ActionID right after `Response:`, as Asterisk writes them.
fn insert_action_id(mut p: Packet, aid: &str) -> Packet {
    let at = usize::from(!p.0.is_empty());
    p.0.insert(at, ("ActionID".to_string(), aid.to_string()));
    p
}

fn db_key(action: &Packet) -> String {
    format!(
        "{}/{}",
        action.get("Family").unwrap_or(""),
        action.get("Key").unwrap_or("")
    )
}

async fn originate(
    shared: &Arc<Shared>,
    action: &Packet,
    aid: Option<&str>,
    tx: &mpsc::UnboundedSender<Frame>,
) {
    let send = |p: Packet| {
        let p = match aid {
            Some(a) => insert_action_id(p, a),
            None => p,
        };
        let _ = tx.send(Frame::Packet(p));
    };
    let Some(channel) = action.get("Channel").map(str::to_string) else {
        send(error("Channel not specified"));
        return;
    };
    let is_async = action
        .get("Async")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"));
    let variables = action
        .all("Variable")
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let o = Originated {
        action_id: aid.unwrap_or("").to_string(),
        channel,
        channel_id: action
            .get("ChannelId")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.{}", super::epoch(), shared.lock().seq)),
        context: action.get("Context").unwrap_or("").to_string(),
        exten: action.get("Exten").unwrap_or("").to_string(),
        timeout_ms: action
            .get("Timeout")
            .and_then(|t| t.parse().ok())
            .unwrap_or(30_000),
        caller_id: action.get("CallerID").map(str::to_string),
        is_async,
        variables,
        at: Instant::now(),
    };
    shared.lock().originated.push(o.clone());
    let handle = tokio::spawn(call::run(shared.clone(), o));
    if !is_async {
        // Without Async the connection waits for the call: exactly the trap to avoid.
        let _ = handle.await;
    }
    send(success().with("Message", "Originate successfully queued"));
}
