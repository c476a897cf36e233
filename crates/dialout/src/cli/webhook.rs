//! `dialout webhook add|list|enable|disable|remove|test|deliveries|replay`.

use dialout_dialer::webhooks::{Delivery, Replay, WebhookError, delivery_json, endpoint_json};
use serde_json::{Value, json};

use super::context::{Context, parse_instant, print_json};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Subscribe a URL to message events; prints its id and its secret (shown only now).
    Add(AddArgs),
    /// List the endpoints.
    List,
    /// Turn an endpoint on again (after the receiver answered 410 Gone): it gets the events
    /// of changes from now on; replay what failed meanwhile.
    Enable { id: i64 },
    /// Turn an endpoint off: no more events; its pending deliveries fail.
    Disable { id: i64 },
    /// Remove an endpoint and its deliveries.
    Remove { id: i64 },
    /// Send a webhook.test event to an endpoint now.
    Test { id: i64 },
    /// An endpoint's newest deliveries, newest first: 100 unless --limit says otherwise.
    Deliveries(DeliveriesArgs),
    /// Queue deliveries again: one by id, or every one given up since an instant. Refused
    /// (nothing queued) for deliveries of a disabled endpoint: enable it first.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// http:// or https:// URL that receives the events (POST, JSON, signed).
    pub url: String,
    /// Comma-separated: message.state_changed, message.final (default: both).
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    pub events: Option<Vec<String>>,
    /// Only messages with this tag.
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DeliveriesArgs {
    pub id: i64,
    /// Only those given up (failed after max_age, or the endpoint gone).
    #[arg(long)]
    pub failed: bool,
    /// Show at most this many (the newest).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub limit: u64,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ReplayArgs {
    /// The delivery to send again.
    #[arg(value_name = "DELIVERY_ID")]
    pub delivery: Option<i64>,
    /// Every delivery given up (failed) at or after this instant, whenever its event
    /// happened (RFC 3339, or a duration back from now: 2h).
    #[arg(long, value_name = "INSTANT")]
    pub since: Option<String>,
}

/// Exit 2 for what the caller got wrong (bad URL or event type, unknown id, a URL taken, a
/// replay to a disabled endpoint), 1 otherwise.
fn failure(e: WebhookError) -> Failure {
    if let WebhookError::Disabled(eps) = &e {
        let ids: Vec<String> = eps.iter().map(|(id, _)| id.to_string()).collect();
        return Failure::usage(format!("{e} (dialout webhook enable {})", ids.join(" ")));
    }
    if let WebhookError::Duplicate { id, active, .. } = &e {
        let hint = if *active {
            format!("dialout webhook remove {id} first to replace it")
        } else {
            format!("dialout webhook enable {id}")
        };
        return Failure::usage(format!("{e} ({hint})"));
    }
    if e.is_caller_error() {
        Failure::usage(e)
    } else {
        Failure::failed(e)
    }
}

fn delivery_line(d: &Delivery) -> String {
    let state = serde_json::to_value(d.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let what = match (d.message_id, d.from, d.to) {
        (Some(m), Some(f), Some(t)) => format!("{m} #{} {f} -> {t}", d.sequence.unwrap_or(0)),
        (Some(m), _, Some(t)) => format!("{m} {t}"),
        _ => String::new(),
    };
    let last = match (d.last_status, &d.last_error) {
        (Some(s), None) => format!("HTTP {s}"),
        (_, Some(e)) => e.clone(),
        (None, None) => String::new(),
    };
    format!(
        "{}\t{}\t{}\t{}\tattempts {}\t{}",
        d.id, state, d.event_type, what, d.attempts, last
    )
}

pub fn run(command: Command, g: &Global) -> Outcome {
    let ctx = Context::records(g)?;
    let dialer = &ctx.dialer;
    match command {
        Command::Add(a) => {
            let (ep, secret) = ctx
                .block_on(dialer.add_webhook(&a.url, a.events, a.tag))
                .map_err(failure)?;
            if g.json {
                let mut v = endpoint_json(&ep);
                v["secret"] = Value::String(secret.0);
                return print_json(&v);
            }
            outln!("{}", ep.id);
            outln!("{}", secret.0);
        }
        Command::List => {
            let eps = ctx.block_on(dialer.webhooks()).map_err(failure)?;
            if g.json {
                return print_json(&Value::Array(eps.iter().map(endpoint_json).collect()));
            }
            for e in eps {
                let status = match (&e.active, &e.disabled_reason) {
                    (true, _) => "active".to_string(),
                    (false, Some(r)) => format!("disabled: {r}"),
                    (false, None) => "disabled".to_string(),
                };
                outln!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.id,
                    e.url,
                    e.events.join(","),
                    e.tag.as_deref().unwrap_or("-"),
                    status
                );
            }
        }
        Command::Enable { id } | Command::Disable { id } => {
            let on = matches!(command, Command::Enable { .. });
            let ep = ctx
                .block_on(dialer.set_webhook_active(id, on))
                .map_err(failure)?;
            if g.json {
                return print_json(&endpoint_json(&ep));
            }
            if on {
                outln!(
                    "enabled webhook endpoint {id}: replay what failed while it was disabled with `dialout webhook replay`"
                );
            } else {
                outln!("disabled webhook endpoint {id}");
            }
        }
        Command::Remove { id } => {
            ctx.block_on(dialer.remove_webhook(id)).map_err(failure)?;
            if g.json {
                return print_json(&json!({ "removed": id }));
            }
            outln!("removed webhook endpoint {id}");
        }
        Command::Test { id } => {
            let d = ctx.block_on(dialer.test_webhook(id)).map_err(failure)?;
            if g.json {
                print_json(&delivery_json(&d))?;
            } else {
                outln!("{}", delivery_line(&d));
            }
            if d.delivered_at.is_none() {
                return Err(Failure::failed(format!(
                    "the test event was not delivered ({}); it stays queued and the worker retries it",
                    d.last_error.as_deref().unwrap_or("no answer")
                )));
            }
        }
        Command::Deliveries(a) => {
            let ds = ctx
                .block_on(dialer.webhook_deliveries(a.id, a.failed, a.limit as usize))
                .map_err(failure)?;
            if g.json {
                return print_json(&Value::Array(ds.iter().map(delivery_json).collect()));
            }
            for d in &ds {
                outln!("{}", delivery_line(d));
            }
            if ds.len() as u64 == a.limit {
                eprintln!(
                    "the newest {} deliveries are shown; there may be older ones (--limit N shows more)",
                    a.limit
                );
            }
        }
        Command::Replay(a) => {
            let which = match (a.delivery, a.since) {
                (Some(id), _) => Replay::Id(id),
                (None, Some(since)) => {
                    Replay::FailedSince(parse_instant("--since", &since, false)?)
                }
                (None, None) => {
                    return Err(Failure::usage("name a DELIVERY_ID or --since INSTANT"));
                }
            };
            let n = ctx
                .block_on(dialer.replay_webhooks(which))
                .map_err(failure)?;
            if g.json {
                return print_json(&json!({ "replayed": n }));
            }
            outln!(
                "{n} {} queued again",
                if n == 1 { "delivery" } else { "deliveries" }
            );
        }
    }
    Ok(())
}
