//! `dialout messages cancel <ID>` and `dialout messages resend <ID>`.

use dialout_dialer::{CancelOutcome, MessageId};
use serde_json::json;

use super::context::{Context, print_json};
use super::view::{message_json, message_line};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The message id.
    pub id: String,
}

#[derive(Debug, clap::Args)]
pub struct ResendArgs {
    /// The message id; the copy links back to it (`resent_from`).
    pub id: String,
}

fn id(text: &str) -> Result<MessageId, Failure> {
    text.parse().map_err(Failure::usage)
}

fn failure(e: dialout_dialer::Error) -> Failure {
    Failure::failed(e)
}

/// Exit 0 when the message will not be called; 1 when the backend could not withdraw it
/// (the output and the history say why).
pub fn cancel(a: CancelArgs, g: &Global) -> Outcome {
    let id = id(&a.id)?;
    let ctx = Context::open_existing(g)?;
    let out = ctx.block_on(ctx.dialer.cancel(id)).map_err(failure)?;
    let (outcome, detail) = match &out {
        CancelOutcome::Cancelled { .. } => ("cancelled", "it had not been published".to_string()),
        CancelOutcome::Withdrawn { .. } => ("withdrawn", "the backend withdrew it".to_string()),
        CancelOutcome::TooLate { reason, .. } => ("too_late", reason.clone()),
        CancelOutcome::Unsupported { message } => (
            "unsupported",
            format!("backend {:?} cannot withdraw messages", message.backend),
        ),
    };
    if g.json {
        print_json(
            &json!({ "outcome": outcome, "detail": detail, "message": message_json(out.message()) }),
        )?;
    } else {
        outln!("{outcome}: {detail}");
        outln!("{}", message_line(out.message()));
    }
    if out.stopped() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "message {id} not cancelled: {detail}"
        )))
    }
}

pub fn resend(a: ResendArgs, g: &Global) -> Outcome {
    let id = id(&a.id)?;
    let ctx = Context::open_existing(g)?;
    let m = ctx.block_on(ctx.dialer.resend(id)).map_err(failure)?;
    if g.json {
        print_json(&message_json(&m))
    } else {
        outln!("{}", message_line(&m));
        Ok(())
    }
}
