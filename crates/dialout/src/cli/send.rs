//! `dialout send` and `dialout send-template`.

use dialout_dialer::{SendOptions, SendRequest, Sent, TemplateRequest};

use super::context::{Context, key_values, parse_instant, print_json, send_failure};
use super::view::{message_json, message_line};
use super::{Failure, Global, Outcome};

/// Delivery options shared by `send` and `send-template`.
#[derive(Debug, clap::Args)]
pub struct Delivery {
    /// A mark stored with the message (A-Z a-z 0-9 _ -, up to 64).
    #[arg(long)]
    pub tag: Option<String>,
    /// Link to an object of yours, as TYPE:ID (`order:42`); repeat for more.
    #[arg(long = "related", value_name = "TYPE:ID")]
    pub related: Vec<String>,
    /// Extra data stored with the message; repeat for more.
    #[arg(long = "extra", value_name = "KEY=VALUE")]
    pub extra: Vec<String>,
    /// Extra data as a JSON object (`--extra` pairs are added to it).
    #[arg(long = "extra-json", value_name = "JSON")]
    pub extra_json: Option<String>,
    /// A configured backend (default: the configured default).
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// 1 (highest) to 3 (default).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::context::parse_priority)]
    pub priority: Option<i64>,
    /// Not before this instant: RFC 3339, or a duration from now (`15m`, `2h`).
    #[arg(long, value_name = "INSTANT", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// Daktela: use the predictive record type.
    #[arg(long)]
    pub predictive: bool,
    /// A second send with this key returns the first message and sends nothing.
    #[arg(long = "idempotency-key", value_name = "K")]
    pub idempotency_key: Option<String>,
    /// Only store the message; the worker publishes it.
    #[arg(long)]
    pub queued: bool,
    /// Send even if the same content went to this number within `dedupe_window`.
    #[arg(long = "allow-duplicate")]
    pub allow_duplicate: bool,
    /// The recipient's time zone for calling hours (IANA name: Europe/Prague,
    /// America/New_York); default: the number's zone, else `default_time_zone`.
    #[arg(long = "time-zone", value_name = "ZONE")]
    pub time_zone: Option<String>,
    #[command(flatten)]
    pub ask: super::interactive::Ask,
}

impl Delivery {
    fn options(&self) -> Result<SendOptions, Failure> {
        let not_before = self
            .at
            .as_deref()
            .map(|a| parse_instant("--at", a, true))
            .transpose()?;
        // As `call --at`: a schedule in the past is a mistake, not "now" (a second of slack
        // for the clock between computing the instant and reading it here).
        if let Some(t) = not_before {
            let now = jiff::Timestamp::now();
            if t < now - jiff::SignedDuration::from_secs(1) {
                return Err(Failure::usage(format!(
                    "--at: {t} is in the past (now is {now}); pass no --at to send now"
                )));
            }
        }
        Ok(SendOptions {
            related: self.related.clone(),
            tag: self.tag.clone(),
            extra_data: key_values("extra", &self.extra, self.extra_json.as_deref())?,
            backend: self.backend.clone(),
            priority: self.priority,
            not_before,
            predictive: self.predictive,
            idempotency_key: self.idempotency_key.clone(),
            queued: self.queued,
            resent_from: None,
            allow_duplicate: self.allow_duplicate,
            time_zone: self.time_zone.clone(),
            gather: self.ask.spec()?,
            machine: self.ask.machine,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Phone number: +420777123456, 00420777123456, or national with `default_region`.
    pub recipient: String,
    /// The text read to the recipient.
    pub content: String,
    #[command(flatten)]
    pub delivery: Delivery,
}

#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    pub recipient: String,
    /// The template's slug.
    pub slug: String,
    /// A template variable (string value); repeat for more.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Template variables as a JSON object (`--context` pairs are added to it).
    #[arg(long = "context-json", value_name = "JSON")]
    pub context_json: Option<String>,
    #[command(flatten)]
    pub delivery: Delivery,
}

pub fn run(args: Args, g: &Global) -> Outcome {
    let options = args.delivery.options()?;
    let ctx = Context::open(g)?;
    let request = SendRequest {
        recipient: args.recipient,
        content: args.content,
        options,
    };
    let sent = ctx
        .block_on(ctx.dialer.send(request))
        .map_err(send_failure)?;
    report(&sent, g)
}

pub fn run_template(args: TemplateArgs, g: &Global) -> Outcome {
    let options = args.delivery.options()?;
    let context =
        key_values("context", &args.context, args.context_json.as_deref())?.unwrap_or_default();
    let ctx = Context::open(g)?;
    let request = TemplateRequest {
        recipient: args.recipient,
        slug: args.slug,
        context,
        options,
    };
    let sent = ctx
        .block_on(ctx.dialer.send_template(request))
        .map_err(send_failure)?;
    report(&sent, g)
}

fn report(sent: &Sent, g: &Global) -> Outcome {
    if g.json {
        let mut v = message_json(&sent.message);
        v["existing"] = sent.existing.into();
        return print_json(&v);
    }
    if sent.existing {
        outln!("already stored with this idempotency key; nothing sent again");
    }
    outln!("{}", message_line(&sent.message));
    Ok(())
}
