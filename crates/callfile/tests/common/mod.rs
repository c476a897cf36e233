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

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (word(), prop_oneof![Just(String::new()), clean_value(false)])
            .prop_map(|(a, d)| Action::application(a, d)),
        (clean_value(false), clean_value(false), 1u32..100)
            .prop_map(|(c, e, p)| Action::context(c, e, p)),
    ]
}

pub fn callerid() -> impl Strategy<Value = String> {
    prop_oneof![
        clean_value(false),
        (word(), "[0-9+]{1,15}").prop_map(|(n, d)| format!("\"{n}\" <{d}>"))
    ]
}

pub fn callfile() -> impl Strategy<Value = CallFile> {
    let call = (
        ("[A-Z][A-Za-z0-9]{1,5}", clean_value(false)),
        prop::option::of(callerid()),
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
            prop::option::of(1u32..1000),
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
        "early_media with an application is refused",
        |(
            (chan, cid, vars, account, (wait, retry, max), codecs, (always, early)),
            action,
            archive,
            modern,
        )| {
            let mut b = Call::builder().channel(format!("{}/{}", chan.0, chan.1));
            if let Some(c) = cid {
                b = b.callerid(c);
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
            let call = b.build().expect("generated call is valid");
            CallFile::builder()
                .call(call)
                .action(action)
                .archive(archive)
                .line_limit(if modern {
                    LineLimit::Modern
                } else {
                    LineLimit::Legacy
                })
                .build()
                .ok()
        },
    )
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
