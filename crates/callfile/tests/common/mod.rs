//! Shared test helpers: an independent reader that follows the Asterisk reference line by
//! line (not the crate's parser), and proptest strategies.
#![allow(dead_code)]

use dialout_callfile::{Action, Call, CallFile, LineLimit};
use proptest::prelude::*;

/// How the Asterisk being imitated reads lines.
#[derive(Clone, Copy, Debug)]
pub enum Reader {
    /// Before 13.15: `fgets` into a 256-byte buffer, so a longer line is read in 255-byte chunks.
    Legacy,
    /// 13.15 and later: lines of more than 1022 bytes are skipped.
    Modern,
}

fn chunks(text: &[u8], reader: Reader) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match reader {
        Reader::Legacy => {
            let mut i = 0;
            while i < text.len() {
                let mut j = i;
                while j < text.len() && j - i < 255 {
                    j += 1;
                    if text[j - 1] == b'\n' {
                        break;
                    }
                }
                out.push(text[i..j].to_vec());
                i = j;
            }
        }
        Reader::Modern => {
            for line in text.split(|&b| b == b'\n') {
                if line.len() <= 1022 {
                    out.push(line.to_vec());
                }
            }
        }
    }
    out
}

/// `(key, value)` of every line Asterisk would act on, in file order.
pub fn asterisk_read(text: &str, reader: Reader) -> Vec<(String, String)> {
    let mut result = Vec::new();
    for mut buf in chunks(text.as_bytes(), reader) {
        // '#' at the start or after a space or tab ends the line.
        if let Some(i) = (0..buf.len())
            .find(|&i| buf[i] == b'#' && (i == 0 || buf[i - 1] == b' ' || buf[i - 1] == b'\t'))
        {
            buf.truncate(i);
        }
        // ';' ends the line unless preceded by '\', which is then removed; as in the C loop,
        // the search resumes one byte after the (moved) ';'.
        let mut c = 0;
        while c < buf.len() {
            let Some(p) = buf[c..].iter().position(|&b| b == b';') else {
                break;
            };
            let i = c + p;
            if i > 0 && buf[i - 1] == b'\\' {
                buf.remove(i - 1);
                c = i + 1;
            } else {
                buf.truncate(i);
                break;
            }
        }
        while buf.last().is_some_and(|&b| b < 33) {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        let Some(colon) = buf.iter().position(|&b| b == b':') else {
            continue;
        };
        let key = String::from_utf8_lossy(&buf[..colon]).into_owned();
        let mut v = colon + 1;
        while v < buf.len() && buf[v] < 33 {
            v += 1;
        }
        result.push((key, String::from_utf8_lossy(&buf[v..]).into_owned()));
    }
    result
}

/// Characters that break naive call-file writers, plus ordinary ones.
pub fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => prop::char::range('0', '9'),
        1 => Just('\n'),
        1 => Just('\r'),
        1 => Just('\0'),
        1 => Just('\t'),
        2 => Just(' '),
        2 => Just(';'),
        2 => Just('#'),
        2 => Just('\\'),
        1 => Just('='),
        1 => Just(':'),
        1 => Just('&'),
        1 => Just('/'),
        1 => Just('<'),
        1 => Just('>'),
        1 => Just('"'),
        1 => Just('('),
        1 => Just(')'),
        1 => Just('_'),
        1 => Just('é'),
        1 => Just('\u{7f}'),
        1 => any::<char>(),
    ]
}

pub fn nasty_string(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(nasty_char(), 0..max).prop_map(|v| v.into_iter().collect()),
        1 => prop::collection::vec(nasty_char(), 240..1100).prop_map(|v| v.into_iter().collect()),
    ]
}

/// A value Asterisk keeps exactly: no control bytes, no blank at the ends, no `#` after a blank.
pub fn clean_value(start_hash_ok: bool) -> impl Strategy<Value = String> {
    let inner = prop::collection::vec(
        prop_oneof![
            6 => prop::char::range('a', 'z'),
            2 => prop::char::range('A', 'Z'),
            2 => prop::char::range('0', '9'),
            2 => Just(' '),
            1 => Just('\t'),
            2 => Just(';'),
            2 => Just('\\'),
            1 => Just('#'),
            1 => Just('='),
            1 => Just(':'),
            1 => Just('é'),
            1 => Just('"'),
        ],
        0..12,
    );
    (
        prop::char::range('a', 'z'),
        inner,
        prop::char::range('0', '9'),
        any::<bool>(),
    )
        .prop_map(move |(first, inner, last, hash_first)| {
            let mut s = String::new();
            if start_hash_ok && hash_first {
                s.push('#');
            }
            s.push(first);
            let mut prev = first;
            for c in inner {
                // '#' after a blank is refused by design; keep generated values valid.
                if c == '#' && (prev == ' ' || prev == '\t') {
                    continue;
                }
                s.push(c);
                prev = c;
            }
            s.push(last);
            s
        })
}

pub fn word() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,10}"
}

/// Application names around Asterisk's 31-byte limit as well as short ones.
pub fn app_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => word(),
        1 => "[A-Za-z][A-Za-z0-9_]{28,34}",
    ]
}

/// A context or extension, sometimes around Asterisk's 79-byte limit (with multibyte
/// characters, so a cut can fall inside one).
pub fn dialplan_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => clean_value(false),
        1 => ("[a-z]{1,3}", 0usize..3, 70usize..84).prop_map(|(a, e, n)| {
            let mut s = a;
            s.push_str(&"é".repeat(e));
            while s.len() < n {
                s.push('x');
            }
            s
        }),
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (
            app_name(),
            prop_oneof![Just(String::new()), clean_value(false)]
        )
            .prop_map(|(a, d)| Action::application(a, d)),
        (dialplan_name(), dialplan_name(), 1u32..100)
            .prop_map(|(c, e, p)| Action::context(c, e, p)),
    ]
}

/// A caller id written from its parts in one of the accepted forms: the value, and the name
/// and number it means. Parts hold what trips a naive split: quotes, `<`, `>`, backslashes,
/// Unicode spaces, shrinkable number characters, lengths around 79 bytes.
#[derive(Clone, Debug)]
pub struct CallerIdCase {
    pub value: String,
    pub name: String,
    pub number: String,
}

fn callerid_part(chars: &'static [char], max: usize) -> impl Strategy<Value = String> {
    let pick = prop::sample::select(chars);
    // Long parts are mostly the first character, so some survive the other rules.
    let mostly_plain = prop_oneof![30 => Just(chars[0]), 1 => pick.clone()];
    prop_oneof![
        6 => prop::collection::vec(pick, 0..max),
        2 => prop::collection::vec(mostly_plain, 76..83),
    ]
    .prop_map(|v| v.into_iter().collect())
}

const NAME_CHARS: &[char] = &[
    'a', 'b', 'T', 'z', '1', '5', ' ', ' ', '"', '<', '>', '\\', '\'', 'é', '\u{a0}', '\u{3000}',
    '(', ')', '-', '.', ';', '#', '\t', '[', ']', '*', '+',
];
const NUMBER_CHARS: &[char] = &[
    '5', '1', '2', '5', '9', '0', '1', '+', '*', '#', ' ', '-', '(', ')', '.', '[', ']', 'a', '>',
    '"', '\\',
];

pub fn callerid_case() -> impl Strategy<Value = CallerIdCase> {
    (
        0u8..7,
        callerid_part(NAME_CHARS, 12),
        callerid_part(NUMBER_CHARS, 14),
    )
        .prop_filter_map(
            "forms that mean another split whatever the reader",
            |(form, name, number)| {
                let number_like = |s: &str| s.chars().all(|c| "0123456789*#+()-. ".contains(c));
                let blank_end = |s: &str| {
                    s.bytes().next().is_some_and(|b| b < 33)
                        || s.bytes().last().is_some_and(|b| b < 33)
                };
                let quoted = |s: &str| s.len() >= 2 && s.starts_with('"') && s.ends_with('"');
                // The number of a `<number>` is what follows the last '<'.
                if number.contains('<') && (2..=6).contains(&form) {
                    return None;
                }
                let (value, name, number) = match form {
                    // A bare number: number characters, a digit, `*`, `#` or `+` among them, and
                    // not ending in '.' (which Asterisk keeps, making it a name). Others are names.
                    0 if number_like(&number)
                        && number.contains(|c: char| "0123456789*#+".contains(c))
                        && !number.ends_with('.') =>
                    {
                        (number.clone(), String::new(), number)
                    }
                    // A bare name: not one that reads as a number, nor one with a <number>.
                    1 if !number_like(&name) && !name.contains('<') && !quoted(&name) => {
                        (name.clone(), name, String::new())
                    }
                    2 => (format!("\"{name}\""), name, String::new()),
                    3 => (format!("\"{name}\" <{number}>"), name, number),
                    4 if !blank_end(&name) && !quoted(&name) => {
                        (format!("{name} <{number}>"), name, number)
                    }
                    5 => (format!("<{number}>"), String::new(), number),
                    6 if !blank_end(&name) && !quoted(&name) => {
                        (format!("{name}<{number}>"), name, number)
                    }
                    _ => return None,
                };
                Some(CallerIdCase {
                    value,
                    name,
                    number,
                })
            },
        )
}

/// A call file the builder accepted, with the caller id's parts when it has one.
pub fn callfile_with_callerid() -> impl Strategy<Value = (CallFile, Option<CallerIdCase>)> {
    let call = (
        ("[A-Z][A-Za-z0-9]{1,5}", clean_value(false)),
        prop::option::of(callerid_case()),
        prop::collection::vec(
            (
                "_{0,2}",
                word(),
                prop_oneof![Just(String::new()), clean_value(true)],
            ),
            0..4,
        ),
        prop::option::of(clean_value(false)),
        (
            prop::option::of(prop_oneof![
                4 => 1u32..1000,
                1 => 2_147_480u32..2_147_490,
                1 => 1u32..=u32::MAX,
            ]),
            prop::option::of(1u32..1000),
            prop::option::of(0u32..10),
        ),
        prop::option::of(prop_oneof![Just("ulaw"), Just("alaw,ulaw"), Just("gsm")]),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
        ),
    );
    (call, action(), any::<bool>(), any::<bool>()).prop_filter_map(
        "refused by the builder (early_media with an application, a value Asterisk would change)",
        |(
            (chan, cid, vars, account, (wait, retry, max), codecs, (always, early)),
            action,
            archive,
            modern,
        )| {
            let mut b = Call::builder().channel(format!("{}/{}", chan.0, chan.1));
            if let Some(c) = &cid {
                b = b.callerid(c.value.clone());
            }
            for (p, n, v) in vars {
                b = b.var(format!("{p}{n}"), v);
            }
            if let Some(a) = account {
                b = b.account(a);
            }
            if let Some(w) = wait {
                b = b.wait_time(w);
            }
            if let Some(r) = retry {
                b = b.retry_time(r);
            }
            if let Some(m) = max {
                b = b.max_retries(m);
            }
            if let Some(c) = codecs {
                b = b.codecs(c);
            }
            if let Some(a) = always {
                b = b.always_delete(a);
            }
            if let Some(e) = early {
                b = b.early_media(e);
            }
            let call = b.build().ok()?;
            let cf = CallFile::builder()
                .call(call)
                .action(action)
                .archive(archive)
                .line_limit(if modern {
                    LineLimit::Modern
                } else {
                    LineLimit::Legacy
                })
                .build()
                .ok()?;
            Some((cf, cid))
        },
    )
}

pub fn callfile() -> impl Strategy<Value = CallFile> {
    callfile_with_callerid().prop_map(|(cf, _)| cf)
}

/// The lines the model means, computed from the getters (not from the renderer).
pub fn intended(cf: &CallFile) -> Vec<(String, String)> {
    let c = cf.call();
    let mut v: Vec<(String, String)> = vec![("channel".into(), c.channel().into())];
    if let Some(x) = c.callerid() {
        v.push(("callerid".into(), x.into()));
    }
    for (n, val) in c.variables() {
        v.push(("set".into(), format!("{n}={val}")));
    }
    if let Some(x) = c.account() {
        v.push(("account".into(), x.into()));
    }
    if let Some(x) = c.wait_time() {
        v.push(("waittime".into(), x.to_string()));
    }
    if let Some(x) = c.retry_time() {
        v.push(("retrytime".into(), x.to_string()));
    }
    if let Some(x) = c.max_retries() {
        v.push(("maxretries".into(), x.to_string()));
    }
    if let Some(x) = c.codecs() {
        v.push(("codecs".into(), x.into()));
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    if let Some(x) = c.always_delete() {
        v.push(("alwaysdelete".into(), yes_no(x)));
    }
    if let Some(x) = c.early_media() {
        v.push(("early_media".into(), yes_no(x)));
    }
    match cf.action() {
        Action::Application { app, data } => {
            v.push(("application".into(), app.clone()));
            v.push(("data".into(), data.clone()));
        }
        Action::Context {
            context,
            extension,
            priority,
        } => {
            v.push(("context".into(), context.clone()));
            v.push(("extension".into(), extension.clone()));
            v.push(("priority".into(), priority.to_string()));
        }
    }
    if cf.archive() {
        v.push(("archive".into(), "yes".into()));
    }
    v
}
