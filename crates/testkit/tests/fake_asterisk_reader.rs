//! The fake's reading of call files, one test per fact of the reference's "Line grammar".

mod fake_asterisk_support;

use dialout_testkit::fake_asterisk::{CallFile, Invalid, LineMode, read_call_file};
use fake_asterisk_support::{Spool, app_call};

fn read(text: &str) -> CallFile {
    read_call_file(text.as_bytes(), LineMode::Modern)
}

#[test]
fn first_colon_separates_key_and_value() {
    let cf = read("Channel: PJSIP/100\nApplication: Playback\nData: a:b:c\n");
    assert_eq!(cf.data, "a:b:c");
    assert_eq!(cf.tech, "PJSIP");
}

#[test]
fn keys_are_case_insensitive() {
    let cf = read("cHaNnEl: SIP/1\nAPPLICATION: Wait\ndata: 3\nmaxretries: 2\n");
    assert_eq!(cf.channel(), "SIP/1");
    assert_eq!(cf.application, "Wait");
    assert_eq!(cf.max_retries, 2);
}

#[test]
fn keys_are_not_trimmed() {
    let cf = read(" Channel: SIP/1\nChannel : SIP/2\nApplication: NoOp\n");
    assert_eq!(cf.tech, "", "neither line is a Channel");
    assert_eq!(cf.validate(), Err(Invalid::NoChannel));
    assert!(
        cf.warnings
            .iter()
            .any(|w| w.contains("unknown keyword ' Channel'"))
    );
    assert!(
        cf.warnings
            .iter()
            .any(|w| w.contains("unknown keyword 'Channel '"))
    );
}

#[test]
fn line_without_colon_is_ignored() {
    let cf = read("Channel: SIP/1\nthis line has no separator\nApplication: NoOp\n");
    assert!(cf.validate().is_ok());
    assert!(
        cf.warnings
            .iter()
            .any(|w| w.contains("syntax error at line 2"))
    );
}

#[test]
fn value_blanks_and_control_bytes_are_trimmed() {
    let cf = read("Channel:\t  SIP/1 \x01\x1f \nApplication: NoOp\nData: \x02\x03 x y \t\n");
    assert_eq!(cf.channel(), "SIP/1");
    assert_eq!(
        cf.data, "x y",
        "leading and trailing bytes below 33 go, inner blanks stay"
    );
}

#[test]
fn crlf_files_work() {
    let cf = read(
        "Channel: PJSIP/7\r\nApplication: Playback\r\nData: hello\r\nMaxRetries: 2\r\nArchive: yes\r\n",
    );
    assert_eq!(cf.channel(), "PJSIP/7");
    assert_eq!(cf.data, "hello");
    assert_eq!(cf.max_retries, 2);
    assert!(cf.archive);
}

#[test]
fn semicolon_starts_a_comment_unless_escaped() {
    let cf = read("Channel: SIP/1 ; the phone\nApplication: NoOp\nData: a\\;b;c\n");
    assert_eq!(cf.channel(), "SIP/1");
    assert_eq!(
        cf.data, "a;b",
        "`\\;` becomes `;`, the next `;` starts a comment"
    );
    let cf = read("; Channel: SIP/9\nChannel: SIP/1\nApplication: NoOp\n");
    assert_eq!(cf.channel(), "SIP/1");
}

#[test]
fn hash_comment_rules() {
    let cf = read("Channel: SIP/1\nApplication: NoOp\nData: a#b\n");
    assert_eq!(cf.data, "a#b", "`a#b` is kept");
    let cf = read("Channel: SIP/1\nApplication: NoOp\nData: a #b\n");
    assert_eq!(cf.data, "a", "`a #b` becomes `a`");
    let cf = read("Channel: SIP/1\nApplication: NoOp\nData: a\t#b\n");
    assert_eq!(cf.data, "a", "a tab before # starts a comment too");
    let cf = read("#Channel: SIP/2\nChannel: SIP/1\nApplication: NoOp\nData: x\\#y\n");
    assert_eq!(cf.channel(), "SIP/1", "# at line start comments the line");
    assert_eq!(cf.data, "x\\#y", "there is no escape for #");
}

#[test]
fn line_of_1022_is_read_1023_is_skipped() {
    let ok = format!(
        "Channel: SIP/1\nApplication: NoOp\nData: {}\n",
        "x".repeat(1022 - 6)
    );
    assert_eq!(read(&ok).data.len(), 1016);
    let long = format!(
        "Channel: SIP/1\nApplication: NoOp\nData: short\nData: {}\n",
        "x".repeat(1023 - 6)
    );
    let cf = read(&long);
    assert_eq!(cf.data, "short", "the 1023-byte line is skipped whole");
    assert!(cf.warnings.iter().any(|w| w.contains("too long")));
    // A modern Asterisk cannot be injected through a long value.
    let inject = format!(
        "Channel: SIP/1\nApplication: NoOp\nData: {}Application: System\n",
        "y".repeat(1100)
    );
    assert_eq!(read(&inject).application, "NoOp");
}

#[test]
fn old_asterisk_long_line_injects_a_key() {
    // 249 bytes of value + "Data: " = 255: the next chunk starts a new "line".
    let text = format!(
        "Channel: SIP/1\nApplication: NoOp\nData: {}Application: System\n",
        "y".repeat(249)
    );
    let old = read_call_file(text.as_bytes(), LineMode::Old);
    assert_eq!(
        old.application, "System",
        "the rest of the long line became a key"
    );
    assert_eq!(old.data.len(), 249);
    let modern = read_call_file(text.as_bytes(), LineMode::Modern);
    assert_eq!(modern.application, "NoOp");
}

#[test]
fn last_line_without_newline_is_read() {
    let cf = read("Channel: SIP/1\nApplication: NoOp\nData: tail");
    assert_eq!(cf.data, "tail");
}

#[test]
fn unknown_keys_are_ignored() {
    let cf = read("Channel: SIP/1\nFoo: bar\nApplication: NoOp\n");
    assert!(cf.validate().is_ok());
    assert!(
        cf.warnings
            .iter()
            .any(|w| w.contains("unknown keyword 'Foo'"))
    );
}

#[test]
fn ami_only_keys_are_unknown() {
    let cf = read(
        "Channel: SIP/1\nApplication: NoOp\nTimeout: 5\nVariable: A=1\nAsync: true\nChannelId: x\nPredialCallee: y\nPredialCaller: z\n",
    );
    assert!(cf.variables.is_empty(), "Variable is not Set");
    assert_eq!(cf.wait_time, 45, "Timeout is not WaitTime");
    for key in [
        "Timeout",
        "Variable",
        "Async",
        "ChannelId",
        "PredialCallee",
        "PredialCaller",
    ] {
        assert!(
            cf.warnings.iter().any(|w| w.contains(&format!("'{key}'"))),
            "{key} should be unknown"
        );
    }
}

#[test]
fn repeated_key_last_wins() {
    let cf = read("Channel: SIP/1\nChannel: SIP/2\nApplication: NoOp\nData: a\nData: b\n");
    assert_eq!(cf.channel(), "SIP/2");
    assert_eq!(cf.data, "b");
}

#[test]
fn channel_splits_at_first_slash() {
    let cf = read("Channel: Local/1000@internal&SIP/x/123\nApplication: NoOp\n");
    assert_eq!(cf.tech, "Local");
    assert_eq!(cf.dest, "1000@internal&SIP/x/123");
    let cf = read("Channel: nothing-here\nApplication: NoOp\n");
    assert_eq!(
        cf.validate(),
        Err(Invalid::NoChannel),
        "a channel without / is not read"
    );
}

#[test]
fn caller_id_forms() {
    let id = |v: &str| read(&format!("CallerID: {v}\n")).caller_id.unwrap();
    let q = id("\"Shop Desk\" <+1 (555) 000-0005>");
    assert_eq!(
        (q.name.as_str(), q.number.as_str()),
        ("Shop Desk", "+15550000005")
    );
    let p = id("Shop <123>");
    assert_eq!((p.name.as_str(), p.number.as_str()), ("Shop", "123"));
    let n = id("+420 777 123 456");
    assert_eq!((n.name.as_str(), n.number.as_str()), ("", "+420777123456"));
    let b = id("Reception");
    assert_eq!((b.name.as_str(), b.number.as_str()), ("Reception", ""));
    let long = id(&format!("\"{}\" <{}>", "n".repeat(100), "1".repeat(100)));
    assert_eq!((long.name.len(), long.number.len()), (79, 79));
}

/// `ast_callerid_split`'s own rules, each a case where a naive split reads something else.
#[test]
fn caller_id_is_split_as_asterisk_does() {
    let id = |v: &str| {
        let c = read(&format!("CallerID: {v}\n")).caller_id.unwrap();
        (c.name, c.number)
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    // One matching pair of quotes, not every quote: an unmatched one stays, and counts.
    assert_eq!(
        id(&format!("\"{}", "a".repeat(79))),
        s(&format!("\"{}", "a".repeat(78)), "")
    );
    // One pair around the whole value, one around the name: a third stays.
    assert_eq!(id("\"\"Bob\"\""), s("Bob", ""));
    assert_eq!(id("\"\"\"Bob\"\"\""), s("\"Bob\"", ""));
    assert_eq!(id("\"Bob"), s("\"Bob", ""));
    // Quoted digits are a name; bare digits a number.
    assert_eq!(id("\"5551234\""), s("5551234", ""));
    assert_eq!(id("5551234"), s("", "5551234"));
    // The last '>' after the last '<': a second '>' becomes part of the number...
    let two = id(&format!("<{}>>", "a".repeat(79)));
    assert_eq!(two, s("", &"a".repeat(79)), "number {:?}", two.1);
    // ...and what follows the '>' is dropped.
    assert_eq!(id("Bob <1> trailing"), s("Bob", "1"));
    assert_eq!(
        id("'Test User' <5555555555>'"),
        s("'Test User'", "5555555555")
    );
    // The last '<': an earlier <...> is part of the name; no '>' after it, the number runs on.
    assert_eq!(
        id(&format!("{}<1><", "a".repeat(77))),
        s(&format!("{}<1", "a".repeat(77)), "")
    );
    assert_eq!(
        id(&format!("<1> <{}", "5".repeat(80))),
        s("<1>", &"5".repeat(79))
    );
    assert_eq!(id("a<b <1>"), s("a<b", "1"));
    // Only bytes below 33 are blanks: U+00A0 stays, and the 79-byte cut splits it.
    assert_eq!(id("Bob\u{a0} <1>"), s("Bob\u{a0}", "1"));
    assert_eq!(
        id(&format!("{}\u{a0} <1>", "a".repeat(78))),
        s(&format!("{}\u{fffd}", "a".repeat(78)), "1"),
        "a lone 0xC2 byte (shown as U+FFFD)"
    );
    // Backslash escapes of the name are undone; the number keeps its backslashes.
    assert_eq!(id("\"a\\\"b\" <1\\2>"), s("a\"b", "1\\2"));
    assert_eq!(id("a\\"), s("a", ""));
    // The number is shrunk: ( ) - . and spaces go, '-' stays inside [...], a final '.' stays.
    assert_eq!(id("Bob <[1-3]5>"), s("Bob", "[1-3]5"));
    assert_eq!(id("Bob <1.2.>"), s("Bob", "12."));
    assert_eq!(id("12-34"), s("", "1234"));
    // A lone quote or empty brackets: nothing.
    assert_eq!(id("\""), s("", ""));
    assert_eq!(id("<>"), s("", ""));
}

/// pbx.c copies the application into `char[32]`, context and extension into `char[80]`, and
/// pbx_spool passes `WaitTime * 1000` as an int.
#[test]
fn application_context_extension_are_cut_and_wait_time_overflows() {
    let app = format!("A{}", "b".repeat(40));
    let cf = read(&format!("Channel: SIP/1\nApplication: {app}\n"));
    assert_eq!(cf.application, app, "pbx_spool keeps it whole");
    assert_eq!(cf.dialed_application(), app[..31]);
    assert_eq!(
        read(&format!("Application: {}\n", &app[..31])).dialed_application(),
        app[..31]
    );
    let long = "c".repeat(100);
    let cf = read(&format!("Context: {long}\nExtension: {long}\n"));
    assert_eq!((cf.context.len(), cf.extension.len()), (100, 100));
    assert_eq!(cf.dialed_context(), "c".repeat(79));
    assert_eq!(cf.dialed_extension(), "c".repeat(79));
    let wait = |v: &str| read(&format!("WaitTime: {v}\n")).dial_timeout_ms();
    assert_eq!(wait("45"), 45_000);
    assert_eq!(wait("2147483"), 2_147_483_000);
    assert_eq!(wait("2147484"), 2_147_484_000u32 as i32, "wraps negative");
    assert!(wait("2147484") < 0);
    assert_eq!(wait("4294968"), 704, "wraps to 0.7 s");
}

#[test]
fn application_wins_over_context() {
    let cf = read("Channel: SIP/1\nContext: c\nExtension: s\nApplication: Playback\nData: x\n");
    assert!(cf.uses_application());
    assert_eq!(cf.context, "c", "context is read but not used");
}

#[test]
fn priority_defaults_to_1_and_must_be_a_positive_number() {
    assert_eq!(read("Priority: 3\n").priority, 3);
    assert_eq!(read("").priority, 1);
    for bad in ["0", "-2", "start", "n"] {
        assert_eq!(
            read(&format!("Priority: {bad}\n")).priority,
            1,
            "Priority {bad}"
        );
    }
}

#[test]
fn wait_time_default_and_replacement() {
    assert_eq!(read("").wait_time, 45);
    assert_eq!(read("WaitTime: 20\n").wait_time, 20);
    for bad in ["0", "-5", "soon"] {
        assert_eq!(
            read(&format!("WaitTime: {bad}\n")).wait_time,
            45,
            "WaitTime {bad}"
        );
    }
}

#[test]
fn retry_time_default_and_replacement() {
    assert_eq!(read("").retry_time, 300);
    assert_eq!(read("RetryTime: 60\n").retry_time, 60);
    for bad in ["0", "-1", "later"] {
        assert_eq!(
            read(&format!("RetryTime: {bad}\n")).retry_time,
            300,
            "RetryTime {bad}"
        );
    }
}

#[test]
fn max_retries_default_and_parsing() {
    assert_eq!(read("").max_retries, 0);
    assert_eq!(read("MaxRetries: 4\n").max_retries, 4);
    assert_eq!(
        read("MaxRetries: -1\n").max_retries,
        -1,
        "negative is kept (it expires the file)"
    );
    assert_eq!(read("MaxRetries: many\n").max_retries, 0);
    assert_eq!(
        read("MaxRetries: 3 times\n").max_retries,
        3,
        "sscanf reads a prefix"
    );
}

#[test]
fn account_and_codecs_are_read() {
    let cf = read("Account: shop-7\nCodecs: alaw,ulaw\n");
    assert_eq!(cf.account, "shop-7");
    assert_eq!(cf.codecs, "alaw,ulaw");
}

#[test]
fn set_and_setvar_split_at_first_equals() {
    let cf = read("Set: A=1=2\nSetVar: B =x\nset: __C=y\nSet: noequals\nSet: CDR(userfield)=u\n");
    assert_eq!(
        cf.variables,
        vec![
            ("A".into(), "1=2".into()),
            ("B ".into(), "x".into()),
            ("__C".into(), "y".into()),
            ("CDR(userfield)".into(), "u".into())
        ]
    );
    assert!(cf.warnings.iter().any(|w| w.contains("malformed Set")));
}

#[test]
fn always_delete_truthiness() {
    assert!(read("").always_delete, "default yes");
    for yes in ["yes", "TRUE", "y", "t", "1", "on", "On"] {
        assert!(
            read(&format!("AlwaysDelete: {yes}\n")).always_delete,
            "{yes}"
        );
    }
    for no in ["no", "0", "off", "yep", "2", ""] {
        assert!(
            !read(&format!("AlwaysDelete: {no}\n")).always_delete,
            "{no:?}"
        );
    }
    assert!(read("Archive: Yes\n").archive);
    assert!(!read("Archive: yess\n").archive);
}

#[test]
fn early_media_needs_the_underscore() {
    assert!(read("early_media: yes\n").early_media);
    let cf = read("EarlyMedia: yes\n");
    assert!(!cf.early_media);
    assert!(cf.warnings.iter().any(|w| w.contains("'EarlyMedia'")));
}

#[test]
fn validity_needs_channel_and_application_or_extension() {
    assert_eq!(
        read("Application: NoOp\n").validate(),
        Err(Invalid::NoChannel)
    );
    assert_eq!(
        read("Channel: SIP/1\nContext: c\n").validate(),
        Err(Invalid::NoApplicationOrExtension)
    );
    assert!(
        read("Channel: SIP/1\nExtension: s\n").validate().is_ok(),
        "Extension alone suffices (context default empty)"
    );
    assert!(read(&app_call("SIP/1", "")).validate().is_ok());
}

#[test]
fn retry_bookkeeping_lines_are_counted() {
    let cf = read("StartRetry: 77 1 (100)\nEndRetry: 77 1 (145)\nStartRetry: 77 2 (400)\n");
    assert_eq!(cf.retries, 1);
    assert_eq!(cf.calling_pid, 77);
    let cf = read(
        "StartRetry: 77 1 (100)\nAbortRetry: 78 1 (500)\nStartRetry: 78 1 (500)\nDelayedRetry: 78 0 (600)\n",
    );
    assert_eq!((cf.retries, cf.calling_pid), (1, 78));
}

#[test]
fn nul_byte_ends_the_line_as_in_c() {
    let cf = read_call_file(
        b"Channel: SIP/1\nApplication: NoOp\nData: ab\0cd\n",
        LineMode::Modern,
    );
    assert_eq!(cf.data, "ab");
}

#[test]
fn the_spooler_reads_with_the_same_rules() {
    // A file the spooler dials must be understood the same way as by read_call_file.
    let spool = Spool::new();
    spool.spool(
        "x.call",
        "channel: SIP/1 ; c\r\nAPPLICATION: Wait\r\nData: 2 #two\r\n",
    );
    let mut fake = spool.fake();
    fake.run_until_idle().unwrap();
    let a = &fake.observations().attempts[0];
    assert_eq!(
        (
            a.channel.as_str(),
            a.call_file.application.as_str(),
            a.call_file.data.as_str()
        ),
        ("SIP/1", "Wait", "2")
    );
    assert_eq!(
        a.apps[0].ended - a.apps[0].started,
        2000,
        "Wait(2) lasted two fake seconds"
    );
}
