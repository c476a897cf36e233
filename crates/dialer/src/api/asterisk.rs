//! What the CLI's Asterisk helpers need, without reaching into the backend's module.

use dialout_backends::ami;
use dialout_backends::asterisk::{DEFAULT_CONTEXT, DIALPLAN};

/// A context name refused for the shipped dialplan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a context name (letters, digits, - _ .)")]
pub struct InvalidContext(pub String);

/// The dialplan dialout ships (`dialplan/dialout.conf`), its context renamed when asked
/// (the backend's `context` key must then match).
pub fn asterisk_dialplan(context: Option<&str>) -> Result<String, InvalidContext> {
    let Some(c) = context else {
        return Ok(DIALPLAN.to_string());
    };
    let valid = !c.is_empty()
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'));
    if !valid {
        return Err(InvalidContext(c.to_string()));
    }
    Ok(DIALPLAN.replace(&format!("[{DEFAULT_CONTEXT}]"), &format!("[{c}]")))
}

/// The dialplan of the AMI backend (`dialplan/dialout-ami.conf`), its context renamed when
/// asked (the backend's `context` key must then match).
pub fn ami_dialplan(context: Option<&str>) -> Result<String, InvalidContext> {
    let Some(c) = context else {
        return Ok(ami::DIALPLAN.to_string());
    };
    asterisk_dialplan(Some(c))?;
    Ok(ami::DIALPLAN.replace(&format!("[{}]", ami::DEFAULT_CONTEXT), &format!("[{c}]")))
}
