//! Value rules: what Asterisk reads back exactly as written (see render.rs for the escaping).
//!
//! Asterisk cuts a line at `#` when it starts the line or follows a blank (no escape exists),
//! at an unescaped `;`, trims bytes below 33 at both ends of a value, and ends a line at LF.

use crate::error::{Field, ValidationError};

/// Longest caller-id name or number Asterisk keeps (bytes).
pub const CALLERID_PART_MAX: usize = 79;

/// Longest file name most filesystems take (bytes).
pub const FILENAME_MAX: usize = 255;

fn err(field: Field, reason: impl Into<String>) -> ValidationError {
    ValidationError::new(field, reason)
}

/// Rules shared by every value. `hash_first_ok` is true when the value does not start right
/// after the `": "` of its line (the value of a `Set:` variable follows `NAME=`).
pub(crate) fn text(
    field: Field,
    v: &str,
    empty_ok: bool,
    hash_first_ok: bool,
) -> Result<(), ValidationError> {
    if v.is_empty() {
        return if empty_ok {
            Ok(())
        } else {
            Err(err(field, "empty"))
        };
    }
    if let Some((i, b)) = v.bytes().enumerate().find(|&(_, b)| b < 0x20 && b != b'\t') {
        return Err(err(
            field,
            format!(
                "control character 0x{b:02X} at byte {i}: it could end the line and inject another"
            ),
        ));
    }
    let first = v.as_bytes()[0];
    let last = v.as_bytes()[v.len() - 1];
    if first <= b' ' || last <= b' ' {
        return Err(err(
            field,
            "leading or trailing blank: Asterisk trims it, so the value would change",
        ));
    }
    if !hash_first_ok && first == b'#' {
        return Err(err(
            field,
            "starts with '#': Asterisk reads it as a comment (there is no escape)",
        ));
    }
    if v.contains(" #") || v.contains("\t#") {
        return Err(err(
            field,
            "contains a blank followed by '#': Asterisk cuts the line there as a comment (there is no escape)",
        ));
    }
    Ok(())
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `Tech/Dest`, one channel.
pub(crate) fn channel(v: &str) -> Result<(), ValidationError> {
    text(Field::Channel, v, false, false)?;
    if v.contains('&') {
        return Err(err(
            Field::Channel,
            "contains '&': a call file takes one channel, and Asterisk reads 'A&B' as one broken \
             channel, so the call expires undialed; dial a Local channel into a context whose \
             dialplan runs Dial(A&B) instead",
        ));
    }
    let Some((tech, dest)) = v.split_once('/') else {
        return Err(err(
            Field::Channel,
            "not of the form Tech/Destination (e.g. SIP/trunk/123)",
        ));
    };
    if !tech
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        || tech.is_empty()
    {
        return Err(err(
            Field::Channel,
            format!("technology {tech:?} is not a name of letters and digits"),
        ));
    }
    if dest.is_empty() {
        return Err(err(
            Field::Channel,
            "empty destination after the technology",
        ));
    }
    Ok(())
}

/// Kept as given; checks only what Asterisk would cut: each of name and number ≤ 79 bytes.
pub(crate) fn callerid(v: &str) -> Result<(), ValidationError> {
    text(Field::CallerId, v, false, false)?;
    let (name, number) = match v.find('<') {
        Some(lt) => match v[lt + 1..].find('>') {
            Some(gt) => (v[..lt].trim(), &v[lt + 1..lt + 1 + gt]),
            None => (v, ""),
        },
        None => (v, ""),
    };
    let name = name.trim_matches('"');
    if name.len() > CALLERID_PART_MAX {
        return Err(err(
            Field::CallerId,
            format!(
                "name part is {} bytes, Asterisk keeps {CALLERID_PART_MAX}",
                name.len()
            ),
        ));
    }
    if number.len() > CALLERID_PART_MAX {
        return Err(err(
            Field::CallerId,
            format!(
                "number part is {} bytes, Asterisk keeps {CALLERID_PART_MAX}",
                number.len()
            ),
        ));
    }
    Ok(())
}

/// What a `Set:` name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarName {
    /// `[A-Za-z0-9_]+`, with an optional `_`/`__` inheritance prefix.
    Plain,
    /// `FUNC(args)`: Asterisk evaluates it (e.g. `FILE(/path)=x` writes a file).
    Function,
}

pub(crate) fn variable(name: &str, value: &str) -> Result<VarName, ValidationError> {
    let kind = if is_word(name) {
        if !name.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err(err(
                Field::Variable,
                format!("name {name:?} has no letter or digit"),
            ));
        }
        VarName::Plain
    } else if name
        .find('(')
        .is_some_and(|open| open > 0 && is_word(&name[..open]))
        && name.ends_with(')')
    {
        text(Field::Variable, name, false, false)
            .map_err(|e| err(Field::Variable, format!("name {name:?}: {}", e.reason)))?;
        VarName::Function
    } else {
        return Err(err(
            Field::Variable,
            format!("name {name:?} is not letters, digits and '_' (optionally prefixed _ or __)"),
        ));
    };
    if name.contains('=') {
        return Err(err(Field::Variable, format!("name {name:?} contains '='")));
    }
    text(Field::Variable, value, true, true)
        .map_err(|e| err(Field::Variable, format!("value of {name}: {}", e.reason)))?;
    Ok(kind)
}

pub(crate) fn application(v: &str) -> Result<(), ValidationError> {
    if !is_word(v) {
        return Err(err(
            Field::Application,
            format!("{v:?} is not an application name (letters, digits, '_')"),
        ));
    }
    Ok(())
}

pub(crate) fn codecs(v: &str) -> Result<(), ValidationError> {
    if !v.split(',').all(is_word) {
        return Err(err(
            Field::Codecs,
            format!("{v:?} is not a comma-separated list of codec names"),
        ));
    }
    Ok(())
}

pub(crate) fn at_least_one(field: Field, v: u32) -> Result<(), ValidationError> {
    if v < 1 {
        return Err(err(
            field,
            "must be at least 1 (Asterisk silently replaces smaller values)",
        ));
    }
    fits_int(field, v)
}

/// Asterisk reads numbers as a C `int`: a bigger one would wrap negative.
pub(crate) fn fits_int(field: Field, v: u32) -> Result<(), ValidationError> {
    if v > i32::MAX as u32 {
        return Err(err(
            field,
            format!("{v} is above {}, Asterisk's largest number", i32::MAX),
        ));
    }
    Ok(())
}

pub(crate) fn filename(v: &str) -> Result<(), ValidationError> {
    let f = Field::Filename;
    if v.is_empty() {
        return Err(err(f, "empty"));
    }
    if v.contains('/') {
        return Err(err(
            f,
            "contains '/': the file must be directly in the spool directory",
        ));
    }
    if v.starts_with('.') {
        return Err(err(f, "starts with '.'"));
    }
    if v.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(err(f, "contains a control character"));
    }
    if v.len() > FILENAME_MAX {
        return Err(err(f, format!("longer than {FILENAME_MAX} bytes")));
    }
    Ok(())
}

/// Owner read+write (Asterisk appends to the file and sets its mtime), nothing for others.
pub(crate) fn mode(m: u32) -> Result<(), ValidationError> {
    if m & !0o770 != 0 {
        return Err(err(
            Field::Mode,
            format!("{m:#o}: only owner and group bits are allowed, never world-readable"),
        ));
    }
    if m & 0o600 != 0o600 {
        return Err(err(
            Field::Mode,
            format!("{m:#o}: the owner must be able to read and write"),
        ));
    }
    Ok(())
}

pub(crate) fn name(field: Field, v: &str) -> Result<(), ValidationError> {
    if v.is_empty()
        || v.bytes()
            .any(|b| b <= b' ' || b == b':' || b == b'/' || b == 0x7f)
    {
        return Err(err(field, format!("{v:?} is not a valid name")));
    }
    Ok(())
}
