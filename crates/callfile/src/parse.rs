//! Reading a call file back, pending or archived, with Asterisk's own line grammar.

use crate::action::Action;
use crate::call::{Call, CallBuilder};
use crate::error::{BuildError, Field};

/// Longest line Asterisk (13.15 and later) reads; longer lines are skipped.
const MAX_LINE: usize = 1022;

/// How a finished call file ended, from the `Status:` line Asterisk appends to archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Outcome {
    /// The callee answered (nothing more: the dialplan may still have failed).
    Completed,
    /// Every attempt failed (busy, no answer, congestion, unreachable...).
    Expired,
    /// The file could not be read or was invalid.
    Failed,
}

/// Which attempt line Asterisk appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum AttemptKind {
    StartRetry,
    EndRetry,
    DelayedRetry,
    AbortRetry,
}

/// One `StartRetry: <pid> <attempt> (<unix time>)` style line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    pub kind: AttemptKind,
    pub pid: i64,
    pub attempt: i64,
    pub at: jiff::Timestamp,
}

/// A parsed call file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Parsed {
    pub call: Call,
    pub action: Action,
    pub archive: bool,
    /// Attempt lines appended by Asterisk, in file order.
    pub attempts: Vec<Attempt>,
    /// `Some` once Asterisk has archived the file and appended its `Status:` line.
    pub status: Option<Outcome>,
    /// Lines Asterisk ignores (unknown keys, lines without `:`, overlong lines), with their number.
    pub ignored: Vec<(usize, String)>,
}

impl Parsed {
    /// Finished: the `Status:` line is there. An archive without it is still being written.
    pub fn is_finished(&self) -> bool {
        self.status.is_some()
    }
}

/// Why a file could not be read as a call file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{0}: missing (Asterisk would refuse the file as invalid)")]
    Missing(Field),
    #[error("line {line}: {key}: {reason}")]
    Invalid {
        line: usize,
        key: String,
        reason: String,
    },
}

/// One line as Asterisk reads it: comments cut, `\;` unescaped, blanks trimmed.
/// Returns `None` for lines that carry nothing.
pub(crate) fn read_line(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    // '#' starts a comment at the line start or after a blank (no escape).
    let mut end = b.len();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
            end = i;
            break;
        }
    }
    // ';' starts a comment unless written '\;', which becomes ';'.
    // Like Asterisk, the byte right after an unescaped `\;` is not examined.
    let mut out: Vec<u8> = Vec::with_capacity(end);
    let mut skip = false;
    for &c in &b[..end] {
        if c == b';' && !skip {
            if out.last() == Some(&b'\\') {
                out.pop();
                out.push(b';');
                skip = true;
                continue;
            }
            break;
        }
        skip = false;
        out.push(c);
    }
    while out.last().is_some_and(|&c| c < 33) {
        out.pop();
    }
    if out.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Asterisk's `ast_true`.
fn ast_true(v: &str) -> bool {
    ["yes", "true", "y", "t", "1", "on"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
}

fn number(line: usize, key: &str, v: &str) -> Result<u32, ParseError> {
    // Digits only: `parse` alone would accept a leading '+'.
    match v.parse::<u32>() {
        Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => return Ok(n),
        _ => {}
    }
    Err(ParseError::Invalid {
        line,
        key: key.into(),
        reason: format!("{v:?} is not a non-negative number"),
    })
}

fn attempt(line: usize, key: &str, kind: AttemptKind, v: &str) -> Result<Attempt, ParseError> {
    let bad = || ParseError::Invalid {
        line,
        key: key.into(),
        reason: format!("{v:?} is not '<pid> <attempt> (<unix time>)'"),
    };
    let mut it = v.split_whitespace();
    let pid = it.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let attempt = it.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let t: i64 = it
        .next()
        .and_then(|s| s.strip_prefix('(')?.strip_suffix(')')?.parse().ok())
        .ok_or_else(bad)?;
    if it.next().is_some() {
        return Err(bad());
    }
    let at = jiff::Timestamp::from_second(t).map_err(|_| bad())?;
    Ok(Attempt {
        kind,
        pid,
        attempt,
        at,
    })
}

/// Parses a call file, pending or archived. Repeated keys: the last wins, as in Asterisk.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut b = CallBuilder::default();
    let (mut app, mut data, mut context, mut exten, mut prio) = (None, None, None, None, None);
    let mut channel: Option<String> = None;
    let mut archive = false;
    let mut attempts = Vec::new();
    let mut status = None;
    let mut ignored = Vec::new();
    let mut key_lines: Vec<(Field, usize)> = Vec::new();
    // Asterisk appends `Status:` after renaming the file into the archive, so a reader can
    // catch the last line half-written: such a tail means "not finished yet", not an error.
    let last_line = text.split('\n').count();
    let unterminated_tail = !text.ends_with('\n');

    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        if raw.len() > MAX_LINE {
            ignored.push((n, format!("line longer than {MAX_LINE} bytes")));
            continue;
        }
        let Some(line) = read_line(raw) else { continue };
        let Some((key, rest)) = line.split_once(':') else {
            ignored.push((n, line));
            continue;
        };
        let v = rest
            .trim_start_matches(|c: char| (c as u32) < 33)
            .to_string();
        let k = key.to_ascii_lowercase();
        let mut note = |f: Field| key_lines.push((f, n));
        match k.as_str() {
            "channel" => {
                note(Field::Channel);
                channel = Some(v)
            }
            "callerid" => {
                note(Field::CallerId);
                b = b.callerid(v)
            }
            "set" | "setvar" => match v.split_once('=') {
                Some((name, value)) => {
                    note(Field::Variable);
                    b = b.var(name, value)
                }
                None => ignored.push((n, line.clone())),
            },
            "account" => {
                note(Field::Account);
                b = b.account(v)
            }
            "waittime" => {
                note(Field::WaitTime);
                b = b.wait_time(number(n, key, &v)?)
            }
            "retrytime" => {
                note(Field::RetryTime);
                b = b.retry_time(number(n, key, &v)?)
            }
            "maxretries" => {
                note(Field::MaxRetries);
                b = b.max_retries(number(n, key, &v)?)
            }
            "codecs" => {
                note(Field::Codecs);
                b = b.codecs(v)
            }
            "alwaysdelete" => b = b.always_delete(ast_true(&v)),
            "early_media" => b = b.early_media(ast_true(&v)),
            "application" => {
                note(Field::Application);
                app = Some(v)
            }
            "data" => {
                note(Field::Data);
                data = Some(v)
            }
            "context" => {
                note(Field::Context);
                context = Some(v)
            }
            "extension" => {
                note(Field::Extension);
                exten = Some(v)
            }
            "priority" => {
                note(Field::Priority);
                prio = Some(number(n, key, &v)?)
            }
            "archive" => archive = ast_true(&v),
            "startretry" => attempts.push(attempt(n, key, AttemptKind::StartRetry, &v)?),
            "endretry" => attempts.push(attempt(n, key, AttemptKind::EndRetry, &v)?),
            "delayedretry" => attempts.push(attempt(n, key, AttemptKind::DelayedRetry, &v)?),
            "abortretry" => attempts.push(attempt(n, key, AttemptKind::AbortRetry, &v)?),
            "status" => {
                status = Some(match v.as_str() {
                    "Completed" => Outcome::Completed,
                    "Expired" => Outcome::Expired,
                    "Failed" => Outcome::Failed,
                    partial
                        if unterminated_tail
                            && n == last_line
                            && ["Completed", "Expired", "Failed"]
                                .iter()
                                .any(|w| w.starts_with(partial)) =>
                    {
                        continue;
                    }
                    _ => {
                        return Err(ParseError::Invalid {
                            line: n,
                            key: key.into(),
                            reason: format!("{v:?} is not Completed, Expired or Failed"),
                        });
                    }
                })
            }
            _ => ignored.push((n, line.clone())),
        }
    }

    let channel = channel.ok_or(ParseError::Missing(Field::Channel))?;
    let line_of = |f: Field| {
        key_lines
            .iter()
            .rev()
            .find(|(k, _)| *k == f)
            .map_or(0, |(_, n)| *n)
    };
    let invalid = |e: BuildError| {
        let f = e.field();
        let reason = match &e {
            BuildError::Invalid(v) => v.reason.clone(),
            BuildError::Missing(_) => "missing".into(),
        };
        ParseError::Invalid {
            line: line_of(f),
            key: f.name().into(),
            reason,
        }
    };
    let call: Call = b.channel(channel).build().map_err(invalid)?;
    // Asterisk: an Application wins over a Context.
    let action = match (app, exten) {
        (Some(app), _) => Action::application(app, data.unwrap_or_default()),
        (None, Some(exten)) => Action::context(
            context.ok_or(ParseError::Missing(Field::Context))?,
            exten,
            prio.unwrap_or(1),
        ),
        (None, None) => return Err(ParseError::Missing(Field::Action)),
    };
    action.validate().map_err(|e| invalid(e.into()))?;
    Ok(Parsed {
        call,
        action,
        archive,
        attempts,
        status,
        ignored,
    })
}
