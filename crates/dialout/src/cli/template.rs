//! `dialout template add|set|list|show|remove`.

use dialout_dialer::{Error, Interactive, NewTemplate, Template, TemplateChange};
use serde_json::{Value, json};

use super::context::{Context, print_json};
use super::view::template_json;
use super::{Failure, Global, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Store a new template; its body is checked now.
    Add(AddArgs),
    /// Change a template's body or flags.
    Set(SetArgs),
    /// List the templates.
    List,
    /// Show one template.
    Show { slug: String },
    /// Remove a template; messages sent from it keep its slug.
    Remove { slug: String },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// a-z 0-9 _ -
    pub slug: String,
    /// Jinja-like text: `Hello {{ name }}`.
    #[arg(long)]
    pub body: String,
    /// Store it inactive: send-template refuses it.
    #[arg(long)]
    pub inactive: bool,
    /// Refuse a second message from it for the same related objects (without this flag
    /// duplicates are allowed, as through the API and the dashboard).
    #[arg(long = "no-duplicates")]
    pub no_duplicates: bool,
    /// Every message sent from it gathers keys / handles answering machines so, unless
    /// the send says otherwise.
    #[command(flatten)]
    pub ask: super::interactive::Ask,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    pub slug: String,
    #[arg(long)]
    pub body: Option<String>,
    #[arg(long, conflicts_with = "inactive")]
    pub active: bool,
    #[arg(long)]
    pub inactive: bool,
    #[arg(long, conflicts_with = "no_duplicates")]
    pub duplicates: bool,
    #[arg(long = "no-duplicates")]
    pub no_duplicates: bool,
    /// Replaces the template's gather or machine policy.
    #[command(flatten)]
    pub ask: super::interactive::Ask,
    /// Remove the template's gather.
    #[arg(long = "no-gather", conflicts_with_all = ["gather_keys", "gather_prompt", "gather_digits", "gather_timeout", "gather_repeat", "gather_finish_key", "gather_answers", "gather_file"])]
    pub no_gather: bool,
    /// Remove the template's machine policy.
    #[arg(long = "no-machine", conflicts_with = "machine")]
    pub no_machine: bool,
}

/// Exit 2 for what the caller got wrong (unknown or existing slug, a bad body), 1 otherwise.
fn failure(e: Error) -> Failure {
    if e.is_caller_error() {
        Failure::usage(e)
    } else {
        Failure::failed(e)
    }
}

fn flag(on: bool, off: bool) -> Option<bool> {
    if on {
        Some(true)
    } else if off {
        Some(false)
    } else {
        None
    }
}

pub fn run(cmd: Command, g: &Global) -> Outcome {
    // Adding creates the database; anything else works on what is stored.
    let ctx = match cmd {
        Command::Add(_) => Context::records(g)?,
        _ => Context::existing(g)?,
    };
    let dialer = &ctx.dialer;
    let out = |t: &Template, verb: &str| -> Outcome {
        if g.json {
            print_json(&template_json(t))
        } else {
            outln!("template {} {verb}", t.slug);
            Ok(())
        }
    };
    match cmd {
        Command::Add(a) => {
            let new = NewTemplate {
                slug: a.slug,
                body: a.body,
                active: !a.inactive,
                allow_duplicates: !a.no_duplicates,
                interactive: Interactive {
                    gather: a.ask.gather()?,
                    machine: a.ask.machine,
                },
            };
            let t = ctx.block_on(dialer.add_template(new)).map_err(failure)?;
            out(&t, "added")
        }
        Command::Set(s) => {
            let change = TemplateChange {
                body: s.body,
                active: flag(s.active, s.inactive),
                allow_duplicates: flag(s.duplicates, s.no_duplicates),
                gather: if s.no_gather {
                    Some(None)
                } else {
                    s.ask.gather()?.map(Some)
                },
                machine: if s.no_machine {
                    Some(None)
                } else {
                    s.ask.machine.map(Some)
                },
            };
            let t = ctx
                .block_on(dialer.update_template(&s.slug, change))
                .map_err(failure)?;
            out(&t, "updated")
        }
        Command::List => {
            let all = ctx.block_on(dialer.templates()).map_err(failure)?;
            if g.json {
                return print_json(&Value::Array(all.iter().map(template_json).collect()));
            }
            for t in all {
                let flags = format!(
                    "{}{}",
                    if t.active { "active" } else { "inactive" },
                    if t.allow_duplicates {
                        ""
                    } else {
                        ", no duplicates"
                    }
                );
                outln!("{}  ({flags})  {}", t.slug, t.body.replace('\n', " "));
            }
            Ok(())
        }
        Command::Show { slug } => {
            let t = ctx.block_on(dialer.template(&slug)).map_err(failure)?;
            if g.json {
                return print_json(&template_json(&t));
            }
            outln!("template {}", t.slug);
            outln!("  active            {}", t.active);
            outln!("  allow_duplicates  {}", t.allow_duplicates);
            outln!("  changed_at        {}", t.changed_at);
            if let Some(g) = &t.interactive.gather {
                outln!(
                    "  gather            {}",
                    serde_json::to_string(g).unwrap_or_default()
                );
            }
            if let Some(m) = t.interactive.machine {
                outln!("  machine           {m}");
            }
            outln!("  body\n{}", t.body);
            Ok(())
        }
        Command::Remove { slug } => {
            ctx.block_on(dialer.remove_template(&slug))
                .map_err(failure)?;
            if g.json {
                return print_json(&json!({ "slug": slug, "removed": true }));
            }
            outln!("template {slug} removed");
            Ok(())
        }
    }
}
