//! The text of a call file.
//!
//! Order (pycall's, then the keys pycall lacks before the action):
//! `Channel`, `Callerid`, `Set` (one per variable, in order), `Account`, `WaitTime`,
//! `RetryTime`, `Maxretries`, `Codecs`, `AlwaysDelete`, `early_media`, then `Application` +
//! `Data` or `Context` + `Extension` + `Priority`, then `Archive: yes` when archived.
//! Each line is `Key: value\n`; `;` is written `\;` (Asterisk's only escape).

use crate::action::Action;
use crate::call::Call;
use crate::error::Field;

/// Escapes `;` as `\;`. Values are validated first, so nothing else needs escaping.
pub(crate) fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains(';') {
        v.replace(';', "\\;").into()
    } else {
        v.into()
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The lines (without newline), each with the field it carries.
pub(crate) fn lines(call: &Call, action: &Action, archive: bool) -> Vec<(Field, String)> {
    let mut out = Vec::with_capacity(12 + call.variables.len());
    let mut push = |f: Field, key: &str, v: &str| out.push((f, format!("{key}: {}", escape(v))));
    push(Field::Channel, "Channel", &call.channel);
    if let Some(v) = &call.callerid {
        push(Field::CallerId, "Callerid", v);
    }
    for (n, v) in &call.variables {
        push(Field::Variable, "Set", &format!("{n}={v}"));
    }
    if let Some(v) = &call.account {
        push(Field::Account, "Account", v);
    }
    if let Some(v) = call.wait_time {
        push(Field::WaitTime, "WaitTime", &v.to_string());
    }
    if let Some(v) = call.retry_time {
        push(Field::RetryTime, "RetryTime", &v.to_string());
    }
    if let Some(v) = call.max_retries {
        push(Field::MaxRetries, "Maxretries", &v.to_string());
    }
    if let Some(v) = &call.codecs {
        push(Field::Codecs, "Codecs", v);
    }
    if let Some(v) = call.always_delete {
        push(Field::AlwaysDelete, "AlwaysDelete", yes_no(v));
    }
    if let Some(v) = call.early_media {
        push(Field::EarlyMedia, "early_media", yes_no(v));
    }
    match action {
        Action::Application { app, data } => {
            push(Field::Application, "Application", app);
            push(Field::Data, "Data", data);
        }
        Action::Context {
            context,
            extension,
            priority,
        } => {
            push(Field::Context, "Context", context);
            push(Field::Extension, "Extension", extension);
            push(Field::Priority, "Priority", &priority.to_string());
        }
    }
    if archive {
        push(Field::Archive, "Archive", "yes");
    }
    out
}

/// Renders the file: one `Key: value\n` line per key, ending in a newline.
pub fn render(call: &Call, action: &Action, archive: bool) -> String {
    let mut s = String::with_capacity(256);
    for (_, line) in lines(call, action, archive) {
        s.push_str(&line);
        s.push('\n');
    }
    s
}
