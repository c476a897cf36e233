//! `dialout messages list|show` (cancel and resend are added by the delivery work).

use dialout_dialer::store::MessageFilter;
use dialout_dialer::{MessageId, RelatedObject, State, Tag};
use serde_json::Value;

use super::context::{open_store, parse_instant, print_json};
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
    /// Created at or after: RFC 3339, or a duration back from now (`2h`, `1 day`).
    #[arg(long, value_name = "INSTANT|DURATION")]
    pub since: Option<String>,
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
}

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
    let filter = MessageFilter {
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
        created_since: a
            .since
            .as_deref()
            .map(|s| parse_instant(s, false))
            .transpose()
            .map_err(Failure::usage)?,
        limit: Some(a.limit),
        ..MessageFilter::default()
    };
    let store = open_store(g)?;
    let found = store.messages(&filter).map_err(Failure::failed)?;
    if g.json {
        return print_json(&Value::Array(found.iter().map(message_json).collect()));
    }
    for m in &found {
        outln!("{}", message_line(m));
    }
    Ok(())
}

fn show(a: ShowArgs, g: &Global) -> Outcome {
    let id: MessageId = a.id.parse().map_err(Failure::usage)?;
    let store = open_store(g)?;
    let m = store
        .message(id)
        .map_err(Failure::failed)?
        .ok_or_else(|| Failure::usage(format!("no message {id}")))?;
    let history = store.history(id).map_err(Failure::failed)?;
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
