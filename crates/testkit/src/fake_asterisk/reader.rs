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
/// Buffer sizes in pbx.c's `struct pbx_outgoing` (the NUL included).
const AST_MAX_APP: usize = 32;
const AST_MAX_CONTEXT: usize = 80;
const AST_MAX_EXTENSION: usize = 80;

/// Caller id as `ast_callerid_split` leaves it in pbx_spool's 80-byte buffers (at most 79
/// bytes each; a character split by that cut shows as U+FFFD).
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

    /// The application Asterisk runs: `pbx_outgoing_attempt` copies the name into
    /// `char app[AST_MAX_APP]` (32), so only its first 31 bytes are looked up.
    pub fn dialed_application(&self) -> String {
        copy_string(self.application.as_bytes(), AST_MAX_APP)
    }

    /// The context the answered call enters: copied into `char[AST_MAX_CONTEXT]` (80).
    pub fn dialed_context(&self) -> String {
        copy_string(self.context.as_bytes(), AST_MAX_CONTEXT)
    }

    /// The extension the answered call enters: copied into `char[AST_MAX_EXTENSION]` (80).
    pub fn dialed_extension(&self) -> String {
        copy_string(self.extension.as_bytes(), AST_MAX_EXTENSION)
    }

    /// The dial timeout pbx_spool passes on: `waittime * 1000` computed in a C `int`, which
    /// wraps for a WaitTime above 2,147,483. Zero or negative means no timeout at all
    /// (`ast_dial_set_global_timeout` ignores it).
    pub fn dial_timeout_ms(&self) -> i32 {
        self.wait_time.wrapping_mul(1000)
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

/// `ast_callerid_split` into pbx_spool's two `char[80]` buffers (main/callerid.c).
///
/// Byte for byte: blanks are bytes below 33 (not Unicode spaces), one pair of `"` is stripped,
/// the **last** `<` and the last `>` after it delimit the number (what follows that `>` is
/// lost), a quoted name loses its backslash escapes, the number is shrunk, and each part is
/// cut to 79 bytes even inside a UTF-8 character (shown here as U+FFFD).
fn split_caller_id(s: &str) -> CallerId {
    let mut buf = s.as_bytes().to_vec();
    let (name, location) = callerid_parse(&mut buf);
    let name = name.map(|(b, e)| buf[b..e].to_vec()).unwrap_or_default();
    let number = match location {
        Some((b, e)) => {
            let mut l = buf[b..e].to_vec();
            shrink_phone_number(&mut l);
            l
        }
        None => Vec::new(),
    };
    CallerId {
        name: copy_string(&name, 80),
        number: copy_string(&number, 80),
    }
}

/// `[begin, end)` of a string inside a buffer: the C code's pointers.
type Span = (usize, usize);

/// `ast_callerid_parse` on a C string held in `buf`: the name and the location as
/// `[begin, end)` ranges of `buf`, which it rewrites in place as the C code does.
fn callerid_parse(buf: &mut Vec<u8>) -> (Option<Span>, Option<Span>) {
    let len = buf.len();
    let input = strip(buf, 0, len);
    let instr = strip_quoted(buf, input.0, input.1);
    let quotes_stripped = instr.0 != input.0;
    let (b, e) = instr;
    // strrchr(instr, '<')
    let ls = strrchr(buf, b, e, b'<');
    let (name, location) = if let Some(ls) = ls {
        // strrchr(ls, '>'): the location ends there, or runs to the end.
        let le = strrchr(buf, ls, e, b'>').unwrap_or(e);
        let name = strip_quoted(buf, b, ls);
        (Some(name), Some((ls + 1, le)))
    } else {
        // ast_copy_string(tmp, instr, 256), shrink, and a number when only 0-9*#+ remain.
        let mut tmp = buf[b..e.min(b + 255)].to_vec();
        shrink_phone_number(&mut tmp);
        let phone = !tmp.is_empty() && tmp.iter().all(|c| b"0123456789*#+".contains(c));
        if !quotes_stripped && phone {
            let n = tmp.len();
            buf.splice(b..b + n, tmp);
            (None, Some((b, b + n)))
        } else {
            (Some(strip_quoted(buf, b, e)), None)
        }
    };
    let name = name.map(|(nb, ne)| unescape_quoted(buf, nb, ne));
    (name, location)
}

/// `strrchr` within `[b, e)`: index of the last `c`.
fn strrchr(buf: &[u8], b: usize, e: usize, c: u8) -> Option<usize> {
    let mut found = None;
    let mut i = b;
    while i < e {
        if buf[i] == c {
            found = Some(i);
        }
        i += 1;
    }
    found
}

/// `ast_strip`: skip bytes below 33 at the start, cut them at the end.
fn strip(buf: &[u8], mut b: usize, mut e: usize) -> (usize, usize) {
    while b < e && buf[b] < 33 {
        b += 1;
    }
    while e > b && buf[e - 1] < 33 {
        e -= 1;
    }
    (b, e)
}

/// `ast_strip_quoted(s, "\"", "\"")`: strip, then drop a `"` at each end when both are there
/// (a lone `"` counts as both).
fn strip_quoted(buf: &[u8], b: usize, e: usize) -> (usize, usize) {
    let (b, e) = strip(buf, b, e);
    if e > b && buf[b] == b'"' && buf[e - 1] == b'"' {
        if e - b == 1 {
            return (b + 1, b + 1);
        }
        return (b + 1, e - 1);
    }
    (b, e)
}

/// `ast_unescape_quoted` in place: `\x` becomes `x`, a trailing `\` goes. Returns the new range.
fn unescape_quoted(buf: &mut [u8], b: usize, e: usize) -> (usize, usize) {
    let mut esc = b;
    let mut unesc = b;
    while esc < e {
        if buf[esc] == b'\\' {
            esc += 1;
            if esc >= e {
                break;
            }
        }
        buf[unesc] = buf[esc];
        esc += 1;
        unesc += 1;
    }
    (b, unesc)
}

/// `ast_shrink_phone_number`: drop `(`, `)` and spaces, a `.` that is not last, and a `-`
/// outside `[...]`.
fn shrink_phone_number(n: &mut Vec<u8>) {
    let len = n.len();
    let mut y = 0;
    let mut bracketed = 0i32;
    for x in 0..len {
        let c = n[x];
        let keep = match c {
            b'[' => {
                bracketed += 1;
                true
            }
            b']' => {
                bracketed -= 1;
                true
            }
            b'-' => bracketed != 0,
            b'.' => x + 1 == len,
            b'(' | b' ' | b')' => false,
            _ => true,
        };
        if keep {
            n[y] = c;
            y += 1;
        }
    }
    n.truncate(y);
}

/// `ast_copy_string` into `char[size]`: at most `size - 1` bytes, cut anywhere.
fn copy_string(bytes: &[u8], size: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(size - 1)]).into_owned()
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
