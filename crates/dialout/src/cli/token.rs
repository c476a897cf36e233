//! `dialout token create|list|revoke`: API tokens for `dialout serve`. A token is printed
//! once, when created; only its hash is stored.

use dialout_dialer::Scope;
use serde_json::json;

use super::context::{Context, print_json};
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a token and print it (once: it cannot be shown again).
    Create(CreateArgs),
    /// Names, scopes, when created and last used (never the tokens).
    List,
    /// Delete a token: requests with it are refused from now on.
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// A name for the token (letters, digits, - _ .).
    pub name: String,
    /// What it may do, comma-separated: send, read, admin.
    #[arg(long, value_name = "SCOPES", required = true, value_delimiter = ',')]
    pub scope: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    pub name: String,
}

fn failure(e: dialout_dialer::Error) -> Failure {
    if e.is_caller_error() {
        Failure::usage(e)
    } else {
        Failure::failed(e)
    }
}

pub fn run(command: Command, g: &Global) -> Outcome {
    match command {
        Command::Create(a) => create(a, g),
        Command::List => list(g),
        Command::Revoke(a) => revoke(a, g),
    }
}

fn create(a: CreateArgs, g: &Global) -> Outcome {
    let scopes = a
        .scope
        .iter()
        .map(|s| {
            Scope::parse(s.trim()).ok_or_else(|| {
                Failure::usage(format!(
                    "--scope: unknown scope {s:?} (known: send, read, admin)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = Context::records(g)?;
    let created = ctx
        .block_on(ctx.dialer.create_token(&a.name, &scopes))
        .map_err(failure)?;
    if g.json {
        return print_json(&json!({
            "name": created.token.name,
            "scopes": created.token.scopes,
            "token": created.secret,
        }));
    }
    eprintln!(
        "token {:?} created ({}); it is shown only now:",
        created.token.name,
        names(&created.token.scopes)
    );
    outln!("{}", created.secret);
    Ok(())
}

fn names(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(",")
}

fn list(g: &Global) -> Outcome {
    let ctx = Context::existing(g)?;
    let tokens = ctx.block_on(ctx.dialer.tokens()).map_err(failure)?;
    if g.json {
        let v = serde_json::to_value(&tokens)
            .map_err(|e| Failure::failed(format!("cannot print JSON: {e}")))?;
        return print_json(&v);
    }
    if tokens.is_empty() {
        eprintln!("no tokens: make one with `dialout token create NAME --scope send,read`");
        return Ok(());
    }
    outln!(
        "{:<24} {:<16} {:<28} LAST USED",
        "NAME",
        "SCOPES",
        "CREATED"
    );
    for t in tokens {
        let last = t
            .last_used_at
            .map(|t| t.to_string())
            .unwrap_or_else(|| "never".into());
        outln!(
            "{:<24} {:<16} {:<28} {last}",
            t.name,
            names(&t.scopes),
            t.created_at.to_string()
        );
    }
    Ok(())
}

fn revoke(a: RevokeArgs, g: &Global) -> Outcome {
    let ctx = Context::existing(g)?;
    ctx.block_on(ctx.dialer.revoke_token(&a.name))
        .map_err(failure)?;
    if g.json {
        return print_json(&json!({ "revoked": a.name }));
    }
    outln!("token {:?} revoked", a.name);
    Ok(())
}
