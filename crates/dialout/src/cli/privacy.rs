//! `dialout erase RECIPIENT [--and-block]`, `dialout export RECIPIENT` and
//! `dialout retention run [--dry-run]`: erasure, access and retention of personal data.

use dialout_dialer::Error;

use super::context::{Context, print_json};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    /// The number, in any format `send` reads (national ones with `default_region`).
    pub recipient: String,
    /// Also put the number on the do-not-call list.
    #[arg(long = "and-block")]
    pub and_block: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The number, in any format `send` reads.
    pub recipient: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// One full pass of `[retention]` now; with --dry-run, only say what it would erase.
    Run {
        #[arg(long = "dry-run")]
        dry_run: bool,
    },
}

fn failure(e: Error) -> Failure {
    if e.is_caller_error() {
        Failure::usage(e)
    } else {
        Failure::failed(e)
    }
}

/// Who erased, as the record keeps it: the user running the command.
fn cli_user() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => format!("cli:{}", u.name),
        _ => format!("cli:uid {uid}"),
    }
}

pub fn erase(a: EraseArgs, g: &Global) -> Outcome {
    // With the backends: messages not final are cancelled there, and their files go.
    let ctx = Context::open_existing(g)?;
    let done = ctx
        .block_on(
            ctx.dialer
                .erase_recipient(&a.recipient, &cli_user(), a.and_block),
        )
        .map_err(failure)?;
    if g.json {
        let v = serde_json::to_value(&done)
            .map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))?;
        return print_json(&v);
    }
    outln!(
        "erased {} message(s) ({} cancelled first), {} file(s){}; recorded as {}",
        done.messages,
        done.cancelled,
        done.files,
        if done.blocked {
            ", number on the do-not-call list"
        } else {
            ""
        },
        done.recipient_hash
    );
    for r in &done.remote_copies {
        outln!(
            "not erased: {} message(s) of backend {}: {}",
            r.messages,
            r.backend,
            r.note
        );
    }
    Ok(())
}

pub fn export(a: ExportArgs, g: &Global) -> Outcome {
    let ctx = Context::existing(g)?;
    let v = ctx
        .block_on(ctx.dialer.export_recipient(&a.recipient))
        .map_err(failure)?;
    print_json(&v)
}

pub fn retention(c: RetentionCommand, g: &Global) -> Outcome {
    let RetentionCommand::Run { dry_run } = c;
    let ctx = Context::open_existing(g)?;
    let settings = *ctx.dialer.retention_settings();
    if !settings.any() {
        return Err(Failure::usage(
            "retention is off: set messages, webhook_deliveries or audio under [retention] in the configuration",
        ));
    }
    let r = ctx
        .block_on(ctx.dialer.retention_run(dry_run))
        .map_err(failure)?;
    if g.json {
        return print_json(&serde_json::json!({
            "dry_run": dry_run,
            "messages": r.messages,
            "webhook_deliveries": r.webhook_deliveries,
            "files": r.files,
        }));
    }
    let verb = if dry_run { "would erase" } else { "erased" };
    outln!(
        "{verb} {} message(s), {} delivered webhook row(s){}",
        r.messages,
        r.webhook_deliveries,
        if dry_run {
            String::new()
        } else {
            format!(", {} file(s)", r.files)
        }
    );
    Ok(())
}
