//! Value rules: what Asterisk reads back exactly as written (see render.rs for the escaping).
//!
//! Asterisk cuts a line at `#` when it starts the line or follows a blank (no escape exists),
//! at an unescaped `;`, trims bytes below 33 at both ends of a value, and ends a line at LF.

use crate::error::{Field, ValidationError};

/// Longest caller-id name or number Asterisk keeps (bytes).
pub const CALLERID_PART_MAX: usize = 79;

/// Longest application name Asterisk keeps (bytes): `AST_MAX_APP` is 32 with the NUL.
pub const APPLICATION_MAX: usize = 31;

/// Longest context or extension Asterisk keeps (bytes): `AST_MAX_CONTEXT`/`AST_MAX_EXTENSION`
/// are 80 with the NUL.
pub const CONTEXT_MAX: usize = 79;

/// Largest `WaitTime` (seconds): Asterisk passes `WaitTime * 1000` on as a C `int`, so
/// 2,147,484 and more overflow it.
pub const WAIT_TIME_MAX: u32 = (i32::MAX / 1000) as u32;

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

/// Kept as given, and accepted only when Asterisk reads from it exactly the name and number
/// written: a number, a name, `"Name"`, `"Name" <number>`, `Name <number>` (or `<number>`;
/// the space before `<` may be left out), each part at most 79 bytes.
pub(crate) fn callerid(v: &str) -> Result<(), ValidationError> {
    text(Field::CallerId, v, false, false)?;
    let seen = asterisk_callerid(v.as_bytes());
    let what = || seen.describe();
    if seen.name.is_empty() && seen.number.is_empty() {
        return Err(err(
            Field::CallerId,
            "Asterisk would read neither a name nor a number from it",
        ));
    }
    if !seen
        .spellings()
        .iter()
        .any(|s| s.as_slice() == v.as_bytes())
    {
        return Err(err(
            Field::CallerId,
            format!(
                "Asterisk would read {}, not what is written; write a number, a name, \
                 \"Name\" <number> or Name <number>",
                what()
            ),
        ));
    }
    for (part, bytes) in [("name", &seen.name), ("number", &seen.number)] {
        if bytes.len() > CALLERID_PART_MAX {
            return Err(err(
                Field::CallerId,
                format!(
                    "{part} is {} bytes, Asterisk keeps {CALLERID_PART_MAX}: it would read {}",
                    bytes.len(),
                    what()
                ),
            ));
        }
    }
    Ok(())
}

/// Name and number as Asterisk's `ast_callerid_split` finds them, before its 80-byte buffers
/// cut them to [`CALLERID_PART_MAX`] bytes. Bytes, not text: a cut may split a UTF-8 character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeenCallerId {
    pub(crate) name: Vec<u8>,
    pub(crate) number: Vec<u8>,
}

impl SeenCallerId {
    /// Every spelling whose name and number are exactly these.
    fn spellings(&self) -> Vec<Vec<u8>> {
        let (n, d) = (&self.name[..], &self.number[..]);
        let cat = |parts: &[&[u8]]| parts.concat();
        let mut out = vec![
            cat(&[b"\"", n, b"\" <", d, b">"]),
            cat(&[b"\"", n, b"\"<", d, b">"]),
            cat(&[n, b" <", d, b">"]),
            cat(&[n, b"<", d, b">"]),
        ];
        if n.is_empty() {
            out.push(d.to_vec());
        }
        if d.is_empty() {
            out.push(n.to_vec());
            out.push(cat(&[b"\"", n, b"\""]));
        }
        out
    }

    /// What Asterisk keeps, after the cut, for messages.
    fn describe(&self) -> String {
        let cut = |b: &[u8]| {
            let kept = &b[..b.len().min(CALLERID_PART_MAX)];
            match std::str::from_utf8(kept) {
                Ok(s) => format!("{s:?}"),
                Err(_) => format!(
                    "{:?} (invalid UTF-8: the cut splits a character)",
                    String::from_utf8_lossy(kept)
                ),
            }
        };
        format!("name {} and number {}", cut(&self.name), cut(&self.number))
    }
}

/// Port of `ast_callerid_split` → `ast_callerid_parse` (main/callerid.c), without the final cut.
pub(crate) fn asterisk_callerid(v: &[u8]) -> SeenCallerId {
    let input = ast_strip(v);
    let (instr, quotes_stripped) = ast_strip_quoted(input);
    let (name, location): (Option<Vec<u8>>, Option<Vec<u8>>) =
        if let Some(ls) = instr.iter().rposition(|&b| b == b'<') {
            // The last '<', then the last '>' after it; whatever follows that '>' is dropped.
            let after = &instr[ls + 1..];
            let location = match after.iter().rposition(|&b| b == b'>') {
                Some(le) => &after[..le],
                None => after,
            };
            let (name, _) = ast_strip_quoted(&instr[..ls]);
            (Some(unescape_quoted(name)), Some(location.to_vec()))
        } else {
            // A copy into a 256-byte buffer decides whether it is a number.
            let tmp = shrink_phone_number(&instr[..instr.len().min(255)]);
            if !quotes_stripped && is_phone_number(&tmp) {
                (None, Some(tmp))
            } else {
                let (name, _) = ast_strip_quoted(instr);
                (Some(unescape_quoted(name)), None)
            }
        };
    SeenCallerId {
        name: name.unwrap_or_default(),
        number: location
            .map(|l| shrink_phone_number(&l))
            .unwrap_or_default(),
    }
}

/// `ast_strip`: bytes below 33 go at both ends (not Unicode spaces).
fn ast_strip(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b >= 33).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b >= 33).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// `ast_strip_quoted(s, "\"", "\"")`: strip blanks, then one pair of surrounding `"`.
fn ast_strip_quoted(s: &[u8]) -> (&[u8], bool) {
    let s = ast_strip(s);
    match s {
        [b'"'] => (&s[1..], true),
        [b'"', inner @ .., b'"'] => (inner, true),
        _ => (s, false),
    }
}

/// `ast_unescape_quoted`: a backslash takes the next byte literally; a final one is dropped.
fn unescape_quoted(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' {
            match it.next() {
                Some(&next) => out.push(next),
                None => break,
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// `ast_shrink_phone_number`: drops `(`, `)`, spaces, a `.` unless last, `-` outside `[...]`.
fn shrink_phone_number(n: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.len());
    let mut bracketed: i32 = 0;
    for (x, &b) in n.iter().enumerate() {
        match b {
            b'[' => {
                bracketed += 1;
                out.push(b);
            }
            b']' => {
                bracketed -= 1;
                out.push(b);
            }
            b'-' if bracketed != 0 => out.push(b),
            b'-' => {}
            b'.' if x + 1 == n.len() => out.push(b),
            b'.' | b'(' | b' ' | b')' => {}
            _ => out.push(b),
        }
    }
    out
}

/// `ast_isphonenumber`: not empty, only `0-9 * # +`.
fn is_phone_number(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|b| b"0123456789*#+".contains(b))
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
    if v.len() > APPLICATION_MAX {
        return Err(err(
            Field::Application,
            format!(
                "{v:?} is {} bytes, Asterisk keeps {APPLICATION_MAX} of an application name: it \
                 would run {:?}",
                v.len(),
                &v[..APPLICATION_MAX]
            ),
        ));
    }
    Ok(())
}

/// A context or an extension: a value Asterisk cuts to [`CONTEXT_MAX`] bytes when it dials.
pub(crate) fn dialplan_name(field: Field, v: &str) -> Result<(), ValidationError> {
    text(field, v, false, false)?;
    if v.len() > CONTEXT_MAX {
        let mut end = CONTEXT_MAX;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        return Err(err(
            field,
            format!(
                "{} bytes, Asterisk keeps {CONTEXT_MAX} of a {field}: it would use {:?}{}",
                v.len(),
                &v[..end],
                if end < CONTEXT_MAX {
                    " and the first bytes of a split character"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}

/// `WaitTime`: at least 1, and `WaitTime * 1000` must fit Asterisk's `int`.
pub(crate) fn wait_time(v: u32) -> Result<(), ValidationError> {
    at_least_one(Field::WaitTime, v)?;
    if v > WAIT_TIME_MAX {
        return Err(err(
            Field::WaitTime,
            format!(
                "{v} is above {WAIT_TIME_MAX}: Asterisk computes WaitTime * 1000 as a C int, \
                 which overflows (the call would ring without a limit, or for a wrong time)"
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use dialout_testkit::fake_asterisk::{LineMode, read_call_file};
    use proptest::prelude::*;

    /// The fake Asterisk's reading of a `Callerid:` line (its own port of the same C code).
    fn fake(v: &str) -> (String, String) {
        let text = format!("Callerid: {v}\n");
        let c = read_call_file(text.as_bytes(), LineMode::Modern)
            .caller_id
            .unwrap();
        (c.name, c.number)
    }

    fn ours(v: &str) -> (String, String) {
        let seen = asterisk_callerid(v.as_bytes());
        let cut =
            |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(CALLERID_PART_MAX)]).into_owned();
        (cut(&seen.name), cut(&seen.number))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Two ports of `ast_callerid_split`, written apart, read every value alike.
        #[test]
        fn the_validator_and_the_fake_split_alike(
            v in prop::collection::vec(
                prop::sample::select(&[
                    'a', 'B', '1', '5', '+', '*', ' ', ' ', '\t', '"', '"', '<', '<', '>', '>',
                    '\\', '\'', '(', ')', '-', '.', '[', ']', 'é', '\u{a0}', '\u{3000}',
                ][..]),
                0..24,
            ),
            pad in prop_oneof![Just(0usize), 70usize..90],
        ) {
            let mut v = v;
            let mid = v.len() / 2;
            v.splice(mid..mid, std::iter::repeat_n('7', pad));
            let v: String = v.into_iter().collect();
            prop_assert_eq!(ours(&v), fake(&v), "{:?}", v);
        }
    }
}
