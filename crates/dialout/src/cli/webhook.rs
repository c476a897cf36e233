//! `dialout webhook add|list|remove|test|deliveries|replay`.

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
    /// Remove an endpoint and its deliveries.
    Remove { id: i64 },
    /// Send a webhook.test event to an endpoint now.
    Test { id: i64 },
    /// An endpoint's deliveries, newest first.
    Deliveries(DeliveriesArgs),
    /// Queue deliveries again: one by id, or every failed one since an instant.
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
    /// Show at most this many.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ReplayArgs {
    /// The delivery to send again.
    #[arg(value_name = "DELIVERY_ID")]
    pub delivery: Option<i64>,
    /// Every failed delivery of events at or after this instant (RFC 3339, or a duration
    /// back from now: 2h).
    #[arg(long, value_name = "INSTANT")]
    pub since: Option<String>,
}

/// Exit 2 for what the caller got wrong (bad URL or event type, unknown id), 1 otherwise.
fn failure(e: WebhookError) -> Failure {
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
                .block_on(dialer.webhook_deliveries(a.id, a.failed, a.limit))
                .map_err(failure)?;
            if g.json {
                return print_json(&Value::Array(ds.iter().map(delivery_json).collect()));
            }
            for d in &ds {
                outln!("{}", delivery_line(d));
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
            outln!("{n} deliveries queued again");
        }
    }
    Ok(())
}
