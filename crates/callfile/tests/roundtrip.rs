//! parse(render(x)) == x, and the archived forms Asterisk leaves behind.

mod common;

use common::{Reader, asterisk_read, callfile};
use dialout_callfile::{Action, AttemptKind, Call, CallFile, Outcome, ParseError, parse};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_render_gives_the_same_file(cf in callfile()) {
        let text = cf.render();
        let p = parse(&text).unwrap();
        prop_assert_eq!(&p.call, cf.call());
        prop_assert_eq!(&p.action, cf.action());
        prop_assert_eq!(p.archive, cf.archive());
        prop_assert!(p.attempts.is_empty());
        prop_assert_eq!(p.status, None);
        prop_assert!(p.ignored.is_empty(), "ignored: {:?}", p.ignored);
        // And Asterisk (the independent reader) sees the same number of lines as were written.
        prop_assert_eq!(asterisk_read(&text, Reader::Legacy).len(), text.lines().count());
    }

    #[test]
    fn archived_file_parses_with_attempts_and_status(cf in callfile(), n in 1usize..4, outcome in 0..3) {
        let mut text = cf.render();
        for i in 1..=n {
            text.push_str(&format!("\nStartRetry: 4242 {i} (1763700000)\n"));
            text.push_str(&format!("EndRetry: 4242 {i} (1763700060)\n"));
        }
        let word = ["Completed", "Expired", "Failed"][outcome as usize];
        text.push_str(&format!("Status: {word}"));
        let p = parse(&text).unwrap();
        prop_assert_eq!(&p.call, cf.call());
        prop_assert_eq!(p.attempts.len(), 2 * n);
        prop_assert_eq!(p.attempts[0].kind, AttemptKind::StartRetry);
        prop_assert_eq!(p.attempts[1].kind, AttemptKind::EndRetry);
        prop_assert_eq!(p.attempts[2 * n - 1].attempt, n as i64);
        let expected = [Outcome::Completed, Outcome::Expired, Outcome::Failed][outcome as usize];
        prop_assert_eq!(p.status, Some(expected));
        prop_assert!(p.is_finished());
    }
}

#[test]
fn archive_without_status_is_not_finished() {
    let text = "Channel: SIP/x/1\nApplication: Playback\nData: hello-world\nArchive: yes\n\nStartRetry: 77 1 (1763700000)\n";
    let p = parse(text).unwrap();
    assert!(p.archive);
    assert_eq!(p.status, None);
    assert!(!p.is_finished());
    assert_eq!(p.attempts.len(), 1);
    assert_eq!(p.attempts[0].pid, 77);
    assert_eq!(
        p.attempts[0].at,
        jiff::Timestamp::from_second(1763700000).unwrap()
    );
}

#[test]
fn delayed_and_abort_retry_lines_are_typed() {
    let text = "Channel: SIP/x/1\nContext: survey\nExtension: s\nPriority: 1\n\nStartRetry: 1 1 (10)\n\nDelayedRetry: 1 1 (20)\n\nAbortRetry: 2 1 (30)\nStatus: Expired";
    let p = parse(text).unwrap();
    let kinds: Vec<_> = p.attempts.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            AttemptKind::StartRetry,
            AttemptKind::DelayedRetry,
            AttemptKind::AbortRetry
        ]
    );
    assert_eq!(p.status, Some(Outcome::Expired));
}

#[test]
fn parser_reads_like_asterisk() {
    // Comments, escapes, CRLF, case-insensitive keys, last key wins, Application beats Context.
    let text = "# a comment\r\nchannel: SIP/old/1\r\nCHANNEL:   SIP/a/1 ; trailing comment\r\n\
                Set: A=b\\;c #x\r\nSetVar: B=#kept\r\nContext: c\r\nExtension: s\r\n\
                Application: Playback\r\nData: a#b\r\nEarlyMedia: yes\r\nno colon here\r\n";
    let p = parse(text).unwrap();
    assert_eq!(p.call.channel(), "SIP/a/1");
    assert_eq!(
        p.call.variables(),
        [("A".into(), "b;c".into()), ("B".into(), "#kept".into())]
    );
    assert_eq!(p.action, Action::application("Playback", "a#b"));
    assert_eq!(p.call.early_media(), None, "EarlyMedia is not early_media");
    assert_eq!(
        p.ignored.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [10, 11]
    );
}

#[test]
fn parse_errors_name_the_line_and_key() {
    assert_eq!(
        parse("Application: Playback\n").unwrap_err(),
        ParseError::Missing(dialout_callfile::Field::Channel)
    );
    assert_eq!(
        parse("Channel: SIP/a/1\nData: x\n").unwrap_err(),
        ParseError::Missing(dialout_callfile::Field::Action)
    );
    let e = parse("Channel: SIP/a/1\nWaitTime: soon\nApplication: Playback\n").unwrap_err();
    assert!(
        matches!(&e, ParseError::Invalid { line: 2, key, .. } if key == "WaitTime"),
        "{e:?}"
    );
    let e = parse("Channel: SIP/a/1\nApplication: Playback\nStatus: Done").unwrap_err();
    assert!(matches!(&e, ParseError::Invalid { line: 3, .. }), "{e:?}");
    let e = parse("Channel: nochannel\nApplication: Playback\n").unwrap_err();
    assert!(
        matches!(&e, ParseError::Invalid { line: 1, key, .. } if key == "channel"),
        "{e:?}"
    );
}

#[test]
fn status_follows_a_last_line_without_newline_only_when_the_file_ends_in_newline() {
    // Asterisk appends "Status: ..." with no newline before it: our files end with '\n'.
    let cf = CallFile::builder()
        .call(Call::builder().channel("SIP/a/1").build().unwrap())
        .action(Action::application("Playback", "x"))
        .archive(true)
        .build()
        .unwrap();
    let text = cf.render() + "Status: Completed";
    assert_eq!(parse(&text).unwrap().status, Some(Outcome::Completed));
}

#[test]
fn status_line_caught_half_written_is_not_finished_yet() {
    let base = "Channel: SIP/x/1\nApplication: Playback\nData: hello-world\nArchive: yes\n\nStartRetry: 77 1 (1763700000)\n";
    for tail in ["Status: ", "Status: Comp", "Status: Ex", "Status: F"] {
        let p = parse(&format!("{base}{tail}")).unwrap();
        assert_eq!(p.status, None, "{tail:?}");
        assert!(!p.is_finished(), "{tail:?}");
    }
    // Complete words count with or without their newline; junk is still an error.
    assert_eq!(
        parse(&format!("{base}Status: Completed")).unwrap().status,
        Some(Outcome::Completed)
    );
    assert_eq!(
        parse(&format!("{base}Status: Failed\n")).unwrap().status,
        Some(Outcome::Failed)
    );
    assert!(parse(&format!("{base}Status: \n")).is_err());
    assert!(parse(&format!("{base}Status: Bogus")).is_err());
}
