//! `dialout messages list|show` (cancel and resend are added by the delivery work).

use dialout_dialer::{MessageFilter, MessageId, RelatedObject, State, Tag};
use serde_json::Value;

use super::context::{Context, parse_instant, print_json};
use super::view::{history_json, history_line, message_json, message_line, message_text};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Messages, newest first.
    List(ListArgs),
    /// One message with its state history.
    Show(ShowArgs),
    /// Cancel a message: never published, or withdrawn by its backend where it still can.
    Cancel(super::message_actions::CancelArgs),
    /// Send a message again as a new one linked to it (`resent_from`).
    Resend(super::message_actions::ResendArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// A state name (READY) or its numeric code.
    #[arg(long, value_name = "NAME")]
    pub state: Option<String>,
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
    #[arg(long, value_name = "TYPE:ID")]
    pub related: Option<String>,
    /// Only messages whose callee gave this answer (a `--gather-answer` label).
    #[arg(long, value_name = "LABEL")]
    pub answer: Option<String>,
    /// Created at or after: RFC 3339, or a duration back from now (`2h`, `1 day`).
    #[arg(long, value_name = "INSTANT|DURATION")]
    pub since: Option<String>,
    /// At most this many messages; 0 lists them all.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// Continue after this message: pass the last id of the previous page.
    #[arg(long, value_name = "ID")]
    pub cursor: Option<String>,
}

/// Messages read from the store at a time: output is written page by page, so memory stays
/// flat however many are listed.
const PAGE: usize = 500;

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    pub id: String,
}

pub fn run(cmd: Command, g: &Global) -> Outcome {
    match cmd {
        Command::List(a) => list(a, g),
        Command::Show(a) => show(a, g),
        Command::Cancel(a) => super::message_actions::cancel(a, g),
        Command::Resend(a) => super::message_actions::resend(a, g),
    }
}

fn list(a: ListArgs, g: &Global) -> Outcome {
    let mut filter = MessageFilter {
        state: a
            .state
            .as_deref()
            .map(str::parse::<State>)
            .transpose()
            .map_err(Failure::usage)?,
        tag: a
            .tag
            .as_deref()
            .map(Tag::new)
            .transpose()
            .map_err(Failure::usage)?,
        related: a
            .related
            .as_deref()
            .map(str::parse::<RelatedObject>)
            .transpose()
            .map_err(Failure::usage)?,
        backend: None,
        answer: a.answer.clone(),
        created_since: a
            .since
            .as_deref()
            .map(|s| parse_instant("--since", s, false))
            .transpose()?,
        before: a
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<MessageId>()
                    .map_err(|e| Failure::usage(format!("--cursor: {e}")))
            })
            .transpose()?,
        ..MessageFilter::default()
    };
    let ctx = Context::existing(g)?;
    let mut left = (a.limit > 0).then_some(a.limit);
    let mut first = true;
    if g.json {
        out!("[");
    }
    loop {
        filter.limit = Some(left.map_or(PAGE, |n| n.min(PAGE)));
        let page = ctx
            .block_on(ctx.dialer.messages(filter.clone()))
            .map_err(Failure::failed)?;
        for m in &page.messages {
            if g.json {
                // The layout of serde_json's pretty array, one element at a time.
                let text = serde_json::to_string_pretty(&message_json(m))
                    .map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))?;
                out!(
                    "{}\n  {}",
                    if first { "" } else { "," },
                    text.replace('\n', "\n  ")
                );
            } else {
                outln!("{}", message_line(m));
            }
            first = false;
        }
        if let Some(n) = &mut left {
            *n -= page.messages.len();
        }
        match page.next {
            Some(next) if left != Some(0) => filter.before = Some(next),
            _ => break,
        }
    }
    if g.json {
        outln!("{}]", if first { "" } else { "\n" });
    }
    Ok(())
}

fn show(a: ShowArgs, g: &Global) -> Outcome {
    let id: MessageId = a.id.parse().map_err(Failure::usage)?;
    let ctx = Context::existing(g)?;
    let (m, history) = ctx
        .block_on(ctx.dialer.message_with_history(id))
        .map_err(|e| match e {
            dialout_dialer::Error::NoMessage(_) => Failure::usage(e),
            other => Failure::failed(other),
        })?;
    if g.json {
        let mut v = message_json(&m);
        v["history"] = Value::Array(history.iter().map(history_json).collect());
        return print_json(&v);
    }
    out!("{}", message_text(&m));
    outln!("  history");
    for h in &history {
        outln!("{}", history_line(h));
    }
    Ok(())
}
