//! Asterisk's own reading of a call file (`apply_outgoing` in `pbx/pbx_spool.c`), byte by byte.
//!
//! Independent of dialout's parser on purpose: see the module docs.

use std::fmt;

/// How long lines are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LineMode {
    /// Asterisk ≥ 13.15 / 14.4: at most 1022 bytes plus the newline; a longer line is skipped.
    #[default]
    Modern,
    /// Older Asterisk: `fgets` into 256 bytes, so a long line is cut into 255-byte chunks and
    /// every chunk after the first is parsed as a line of its own.
    Old,
}

/// Longest line content (without its newline) a modern Asterisk accepts.
pub const MAX_LINE: usize = 1022;
const OLD_CHUNK: usize = 255;

/// Caller id as `ast_callerid_split` leaves it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerId {
    pub name: String,
    pub number: String,
}

/// Everything the fake understood from one call file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFile {
    /// Channel technology (before the first `/`), empty when no valid `Channel` line.
    pub tech: String,
    /// Channel destination (after the first `/`).
    pub dest: String,
    pub caller_id: Option<CallerId>,
    pub application: String,
    pub data: String,
    pub context: String,
    pub extension: String,
    pub priority: i32,
    pub wait_time: i32,
    pub max_retries: i32,
    pub retry_time: i32,
    pub account: String,
    pub codecs: String,
    /// `Set`/`SetVar` lines in file order: (name as written, value).
    pub variables: Vec<(String, String)>,
    pub always_delete: bool,
    pub archive: bool,
    pub early_media: bool,
    /// Attempts already finished, counted from `EndRetry`/`AbortRetry`/`Retry` lines.
    pub retries: i32,
    /// Pid of the last `StartRetry` not followed by `EndRetry`/`AbortRetry` (0: none).
    pub calling_pid: i64,
    /// Every accepted `key: value` line, key as written (untrimmed), in order.
    pub lines: Vec<(String, String)>,
    /// Warnings Asterisk would log: unknown keys, syntax errors, skipped long lines, bad numbers.
    pub warnings: Vec<String>,
}

impl Default for CallFile {
    fn default() -> Self {
        // init_outgoing's defaults.
        CallFile {
            tech: String::new(),
            dest: String::new(),
            caller_id: None,
            application: String::new(),
            data: String::new(),
            context: String::new(),
            extension: String::new(),
            priority: 1,
            wait_time: 45,
            max_retries: 0,
            retry_time: 300,
            account: String::new(),
            codecs: String::new(),
            variables: Vec::new(),
            always_delete: true,
            archive: false,
            early_media: false,
            retries: 0,
            calling_pid: 0,
            lines: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Why Asterisk calls a file invalid (it is then deleted, archived `Failed` if `Archive` was read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    NoChannel,
    NoApplicationOrExtension,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::NoChannel => f.write_str("no valid Channel (Tech/Dest) line"),
            Invalid::NoApplicationOrExtension => f.write_str("neither Application nor Extension"),
        }
    }
}

impl CallFile {
    /// The validity rule: Channel, and Application or Extension.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.tech.is_empty() || self.dest.is_empty() {
            return Err(Invalid::NoChannel);
        }
        if self.application.is_empty() && self.extension.is_empty() {
            return Err(Invalid::NoApplicationOrExtension);
        }
        Ok(())
    }

    /// `Tech/Dest` as dialed.
    pub fn channel(&self) -> String {
        format!("{}/{}", self.tech, self.dest)
    }

    /// The Application form wins over the Context form when both are given.
    pub fn uses_application(&self) -> bool {
        !self.application.is_empty()
    }

    /// Value of the last `Set`/`SetVar` of this exact name, if any.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Read a call file's bytes as Asterisk does.
pub fn read_call_file(bytes: &[u8], mode: LineMode) -> CallFile {
    let mut cf = CallFile::default();
    for (lineno, line) in split_lines(bytes, mode).into_iter().enumerate() {
        match line {
            RawLine::TooLong(len) => cf.warnings.push(format!(
                "line {} is too long ({len} bytes), skipped",
                lineno + 1
            )),
            RawLine::Text(text) => apply_line(&mut cf, text, lineno + 1),
        }
    }
    cf
}

enum RawLine<'a> {
    Text(&'a [u8]),
    TooLong(usize),
}

/// What `fgets` hands over, without the newline.
fn split_lines(bytes: &[u8], mode: LineMode) -> Vec<RawLine<'_>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let nl = rest.iter().position(|&b| b == b'\n');
        match mode {
            LineMode::Modern => {
                let (line, next) = match nl {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => (rest, &rest[rest.len()..]),
                };
                out.push(if line.len() > MAX_LINE {
                    RawLine::TooLong(line.len())
                } else {
                    RawLine::Text(line)
                });
                rest = next;
            }
            LineMode::Old => {
                // fgets(buf, 256): up to 255 bytes, stopping after a newline.
                let take = match nl {
                    Some(i) if i < OLD_CHUNK => i + 1,
                    _ => rest.len().min(OLD_CHUNK),
                };
                let chunk = &rest[..take];
                let text = chunk.strip_suffix(b"\n").unwrap_or(chunk);
                out.push(RawLine::Text(text));
                rest = &rest[take..];
            }
        }
    }
    out
}

/// Comment handling, trimming and key dispatch for one line.
fn apply_line(cf: &mut CallFile, raw: &[u8], lineno: usize) {
    // C strings end at the first NUL.
    let raw = match raw.iter().position(|&b| b == 0) {
        Some(i) => &raw[..i],
        None => raw,
    };
    let mut buf = strip_comments(raw);
    while buf.last().is_some_and(|&b| b < 33) {
        buf.pop();
    }
    if buf.is_empty() {
        return;
    }
    let Some(colon) = buf.iter().position(|&b| b == b':') else {
        cf.warnings
            .push(format!("syntax error at line {lineno}: no ':'"));
        return;
    };
    let key = String::from_utf8_lossy(&buf[..colon]).into_owned();
    let mut v = &buf[colon + 1..];
    while v.first().is_some_and(|&b| b < 33) {
        v = &v[1..];
    }
    let value = String::from_utf8_lossy(v).into_owned();
    apply_key(cf, &key, &value, lineno);
    cf.lines.push((key, value));
}

/// `#` comments (at line start or after a blank or tab, no escape), then `;` comments with `\;`.
fn strip_comments(raw: &[u8]) -> Vec<u8> {
    let mut buf = raw.to_vec();
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'#' && (i == 0 || buf[i - 1] == b' ' || buf[i - 1] == b'\t') {
            buf.truncate(i);
            break;
        }
        i += 1;
    }
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b';') {
        let c = i + off;
        if c > 0 && buf[c - 1] == b'\\' {
            // The backslash goes; the search resumes one past the `;`'s new place + 1,
            // exactly as Asterisk's memmove-then-increment does.
            buf.remove(c - 1);
            i = c + 1;
            if i > buf.len() {
                break;
            }
        } else {
            buf.truncate(c);
            break;
        }
    }
    buf
}

fn apply_key(cf: &mut CallFile, key: &str, c: &str, lineno: usize) {
    let k = key.to_ascii_lowercase();
    match k.as_str() {
        "channel" => match c.split_once('/') {
            Some((tech, dest)) => {
                cf.tech = tech.to_string();
                cf.dest = dest.to_string();
            }
            None => cf.warnings.push(format!(
                "Channel should be in form Tech/Dest at line {lineno}"
            )),
        },
        "callerid" => cf.caller_id = Some(split_caller_id(c)),
        "application" => cf.application = c.to_string(),
        "data" => cf.data = c.to_string(),
        "maxretries" => {
            cf.max_retries = scan_int(c).unwrap_or_else(|| {
                cf.warnings
                    .push(format!("invalid MaxRetries at line {lineno}"));
                0
            })
        }
        "codecs" => cf.codecs = c.to_string(),
        "context" => cf.context = c.to_string(),
        "extension" => cf.extension = c.to_string(),
        "priority" => cf.priority = positive_or(cf, c, 1, "Priority", lineno),
        "retrytime" => cf.retry_time = positive_or(cf, c, 300, "RetryTime", lineno),
        "waittime" => cf.wait_time = positive_or(cf, c, 45, "WaitTime", lineno),
        "retry" => cf.retries += 1,
        "startretry" => {
            cf.calling_pid = scan_long(c).unwrap_or_else(|| {
                cf.warnings
                    .push("unable to retrieve calling PID".to_string());
                0
            })
        }
        "endretry" | "abortretry" => {
            cf.calling_pid = 0;
            cf.retries += 1;
        }
        "delayedretry" => {}
        "setvar" | "set" => match c.split_once('=') {
            Some((name, value)) => cf.variables.push((name.to_string(), value.to_string())),
            None => cf.warnings.push(format!(
                "malformed {key} at line {lineno}: should be {key}: variable=value"
            )),
        },
        "account" => cf.account = c.to_string(),
        "alwaysdelete" => cf.always_delete = ast_true(c),
        "archive" => cf.archive = ast_true(c),
        "early_media" => cf.early_media = ast_true(c),
        _ => cf
            .warnings
            .push(format!("unknown keyword '{key}' at line {lineno}")),
    }
}

fn positive_or(cf: &mut CallFile, c: &str, default: i32, name: &str, lineno: usize) -> i32 {
    match scan_int(c) {
        Some(n) if n >= 1 => n,
        _ => {
            cf.warnings.push(format!("invalid {name} at line {lineno}"));
            default
        }
    }
}

/// `sscanf("%30d")`: optional blanks, sign, digits; trailing garbage allowed.
pub fn scan_int(s: &str) -> Option<i32> {
    scan_long(s).map(|n| n as i32)
}

fn scan_long(s: &str) -> Option<i64> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let bytes = s.as_bytes();
    let mut i = 0;
    let neg = match bytes.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut n: i64 = 0;
    while i < bytes.len() && i < 30 && bytes[i].is_ascii_digit() {
        n = n
            .saturating_mul(10)
            .saturating_add(i64::from(bytes[i] - b'0'));
        i += 1;
    }
    if i == start {
        return None;
    }
    Some(if neg { -n } else { n })
}

/// `ast_true`: yes, true, y, t, 1, on (any case).
pub fn ast_true(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "yes" | "true" | "y" | "t" | "1" | "on"
    )
}

/// `ast_callerid_split`: `"Name" <number>`, `Name <number>`, a bare number or a bare name.
fn split_caller_id(s: &str) -> CallerId {
    let (name, number) = if let Some(lt) = s.rfind('<') {
        let after = &s[lt + 1..];
        let num = after.split('>').next().unwrap_or("");
        let name = s[..lt].trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name);
        (name.to_string(), num.trim().to_string())
    } else {
        let shrunk = shrink_number(s.trim());
        if !shrunk.is_empty() && is_phone_number(&shrunk) {
            (String::new(), s.trim().to_string())
        } else {
            let n = s.trim();
            let n = n
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .unwrap_or(n);
            (n.to_string(), String::new())
        }
    };
    CallerId {
        name: truncate_bytes(&name, 79),
        number: truncate_bytes(&shrink_number(&number), 79),
    }
}

fn is_phone_number(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
}

/// `ast_shrink_phone_number`: drop `( ) - .` and blanks.
fn shrink_number(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '(' | ')' | '-' | '.' | ' ' | '\t'))
        .collect()
}

fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_semicolon_skips_the_next_byte_like_asterisk() {
        assert_eq!(strip_comments(b"a\\;;b"), b"a;;b");
        assert_eq!(strip_comments(b"a\\;x;c"), b"a;x");
    }

    #[test]
    fn scan_int_reads_a_prefix() {
        assert_eq!(scan_int("10abc"), Some(10));
        assert_eq!(scan_int("-3"), Some(-3));
        assert_eq!(scan_int("x"), None);
    }
}
