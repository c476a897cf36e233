//! Issue 20: values Asterisk 22 reads otherwise than written, or cuts after reading. One test
//! per numbered case: the builder refuses the value, naming the field and what Asterisk would
//! make of it; the fake Asterisk (its own split, not the crate's) shows that reading; and the
//! nearest value Asterisk keeps intact is accepted and read back exactly.

use dialout_callfile::{
    APPLICATION_MAX, Action, BuildError, CALLERID_PART_MAX, CONTEXT_MAX, Call, CallFile, Field,
    LineLimit, WAIT_TIME_MAX,
};
use dialout_testkit::fake_asterisk::{CallFile as Seen, LineMode, read_call_file};

fn with_callerid(v: &str) -> Result<Call, BuildError> {
    Call::builder().channel("SIP/t/1").callerid(v).build()
}

/// The builder's refusal of a caller id: the field is named, the reason returned.
fn refused(v: &str) -> String {
    let e = with_callerid(v).expect_err(v);
    assert_eq!(e.field(), Field::CallerId, "{v:?}: {e}");
    e.to_string()
}

/// What the fake Asterisk reads from a hand-written `Callerid:` line: (name, number).
fn fake_reads(v: &str) -> (String, String) {
    let text = format!("Channel: SIP/t/1\nCallerid: {v}\nApplication: NoOp\n");
    let c = read_call_file(text.as_bytes(), LineMode::Modern)
        .caller_id
        .unwrap();
    (c.name, c.number)
}

/// Accepted, rendered, and read back by the fake as exactly this name and number.
fn kept(v: &str, name: &str, number: &str) {
    let call = with_callerid(v).unwrap_or_else(|e| panic!("{v:?} refused: {e}"));
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("NoOp", ""))
        .line_limit(LineLimit::Modern)
        .build()
        .unwrap();
    let seen = read_call_file(cf.render().as_bytes(), LineMode::Modern);
    let c = seen.caller_id.unwrap();
    assert_eq!(
        (c.name.as_str(), c.number.as_str()),
        (name, number),
        "{v:?}"
    );
}

fn s(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

/// Case 1: Asterisk strips one matching pair of quotes, not every leading or trailing `"`.
#[test]
fn case_1_one_pair_of_quotes_is_stripped_not_every_quote() {
    let a79 = "a".repeat(79);
    let a78 = "a".repeat(78);
    let v = format!("\"{a79}");
    assert_eq!(
        fake_reads(&v),
        s(&format!("\"{a78}"), ""),
        "the lone quote stays"
    );
    let msg = refused(&v);
    assert!(
        msg.contains("name is 80 bytes, Asterisk keeps 79")
            && msg.contains(&format!("name \"\\\"{a78}\"")),
        "{msg}"
    );
    // A lone quote within 79 bytes is part of the name; a pair around it is not.
    kept(&format!("\"{a78}"), &format!("\"{a78}"), "");
    kept(&format!("\"{a79}\""), &a79, "");
    kept(&format!("\"{a79}\" <1>"), &a79, "1");
    // Quotes around the whole value, then around the name: a `<number>` inside them is not
    // the form written.
    assert_eq!(fake_reads("\"Bob <1>\""), s("Bob", "1"));
    assert!(refused("\"Bob <1>\"").contains("name \"Bob\" and number \"1\", not what is written"));
    assert_eq!(fake_reads("\"\"Bob\"\""), s("Bob", ""));
    refused("\"\"Bob\"\"");
}

/// Case 2: the number ends at the **last** `>` after the `<`; what follows it is dropped.
#[test]
fn case_2_the_number_ends_at_the_last_gt() {
    let a79 = "a".repeat(79);
    let v = format!("<{a79}>>");
    assert_eq!(fake_reads(&v), s("", &a79), "80 bytes `a…a>`, cut to 79");
    let msg = refused(&v);
    assert!(
        msg.contains("number is 80 bytes, Asterisk keeps 79"),
        "{msg}"
    );
    // Within 79 bytes the '>' is simply part of the number, as Asterisk reads it.
    kept("<1>>", "", "1>");
    // Anything after the last '>' is lost: refused, saying what is left.
    assert_eq!(fake_reads("Bob <1> ext"), s("Bob", "1"));
    let msg = refused("Bob <1> ext");
    assert!(
        msg.contains("Asterisk would read name \"Bob\" and number \"1\", not what is written"),
        "{msg}"
    );
}

/// Case 3: the number starts after the **last** `<`, with or without a `>` after it.
#[test]
fn case_3_the_number_starts_after_the_last_lt() {
    let a77 = "a".repeat(77);
    let v = format!("{a77}<1><");
    assert_eq!(fake_reads(&v), s(&format!("{a77}<1"), ""));
    let msg = refused(&v);
    assert!(
        msg.contains(&format!("name \"{a77}<1\" and number \"\"")),
        "{msg}"
    );
    let v = format!("<1> <{}", "5".repeat(80));
    assert_eq!(fake_reads(&v), s("<1>", &"5".repeat(79)));
    let msg = refused(&v);
    assert!(
        msg.contains(&format!("name \"<1>\" and number \"{}\"", "5".repeat(79))),
        "{msg}"
    );
    // An earlier '<' belongs to the name, and that is what is written.
    kept("a<b <1>", "a<b", "1");
    kept(&format!("{a77} <1>"), &a77, "1");
}

/// Case 4: only bytes below 33 are blanks to Asterisk; U+00A0, U+2028, U+3000 stay, and a
/// 79-byte cut can split them.
#[test]
fn case_4_only_bytes_below_33_are_blanks() {
    let a78 = "a".repeat(78);
    let v = format!("{a78}\u{a0} <1>");
    // The name is 78 'a' + C2 A0 = 80 bytes: the cut leaves a lone 0xC2 (shown as U+FFFD).
    assert_eq!(fake_reads(&v), s(&format!("{a78}\u{fffd}"), "1"));
    let msg = refused(&v);
    assert!(
        msg.contains("name is 80 bytes") && msg.contains("invalid UTF-8"),
        "{msg}"
    );
    // Within the limit these characters are kept, so the value is accepted as written.
    kept("Bob\u{a0} <1>", "Bob\u{a0}", "1");
    kept("\u{3000}Bob\u{2028} <1>", "\u{3000}Bob\u{2028}", "1");
    kept("Bob\u{a0}", "Bob\u{a0}", "");
}

/// Case 5: pbx.c copies the application name into 32 bytes with the NUL.
#[test]
fn case_5_application_names_over_31_bytes_are_refused() {
    assert_eq!(APPLICATION_MAX, 31);
    let call = || Call::builder().channel("SIP/t/1").build().unwrap();
    let long = format!("Playback{}", "x".repeat(24)); // 32 bytes
    let e = CallFile::builder()
        .call(call())
        .action(Action::application(long.clone(), "hello"))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), Field::Application);
    assert!(
        e.to_string().contains(&format!(
            "32 bytes, Asterisk keeps 31 of an application name: it would run {:?}",
            &long[..31]
        )),
        "{e}"
    );
    let seen = read_call_file(
        format!("Channel: SIP/t/1\nApplication: {long}\n").as_bytes(),
        LineMode::Modern,
    );
    assert_eq!(seen.dialed_application(), long[..31]);
    let ok = CallFile::builder()
        .call(call())
        .action(Action::application(&long[..31], "hello"))
        .build()
        .unwrap();
    let seen = read_call_file(ok.render().as_bytes(), LineMode::Modern);
    assert_eq!(seen.dialed_application(), long[..31]);
}

/// Case 6: context and extension are copied into 80 bytes with the NUL.
#[test]
fn case_6_context_and_extension_over_79_bytes_are_refused() {
    assert_eq!(CONTEXT_MAX, 79);
    let build = |c: &str, e: &str| {
        CallFile::builder()
            .call(Call::builder().channel("SIP/t/1").build().unwrap())
            .action(Action::context(c, e, 1))
            .line_limit(LineLimit::Modern)
            .build()
    };
    let c80 = "c".repeat(80);
    let c79 = "c".repeat(79);
    let e = build(&c80, "s").unwrap_err();
    assert_eq!(e.field(), Field::Context);
    assert!(
        e.to_string().contains(&format!(
            "80 bytes, Asterisk keeps 79 of a context: it would use {c79:?}"
        )),
        "{e}"
    );
    let e = build("survey", &c80).unwrap_err();
    assert_eq!(e.field(), Field::Extension);
    // A cut inside a character: 78 bytes + 'é' (2 bytes).
    let split = format!("{}é", "x".repeat(78));
    let e = build("survey", &split).unwrap_err();
    assert!(e.to_string().contains("split character"), "{e}");
    let seen = read_call_file(
        format!("Context: {c80}\nExtension: {split}\n").as_bytes(),
        LineMode::Modern,
    );
    assert_eq!(seen.dialed_context(), c79);
    assert_eq!(
        seen.dialed_extension(),
        format!("{}\u{fffd}", "x".repeat(78))
    );
    let ok = build(&c79, &c79).unwrap();
    let seen = read_call_file(ok.render().as_bytes(), LineMode::Modern);
    assert_eq!(
        (seen.dialed_context(), seen.dialed_extension()),
        (c79.clone(), c79)
    );
}

/// Case 7: pbx_spool passes `waittime * 1000` as a C int.
#[test]
fn case_7_wait_time_over_2147483_is_refused() {
    assert_eq!(WAIT_TIME_MAX, 2_147_483);
    let b = |w: u32| Call::builder().channel("SIP/t/1").wait_time(w).build();
    let e = b(2_147_484).unwrap_err();
    assert_eq!(e.field(), Field::WaitTime);
    assert!(
        e.to_string()
            .starts_with("wait_time: 2147484 is above 2147483")
            && e.to_string().contains("overflows"),
        "{e}"
    );
    assert_eq!(b(u32::MAX).unwrap_err().field(), Field::WaitTime);
    let seen = |w: u32| {
        read_call_file(format!("WaitTime: {w}\n").as_bytes(), LineMode::Modern).dial_timeout_ms()
    };
    assert!(
        seen(2_147_484) < 0,
        "Asterisk's timeout goes negative: no limit"
    );
    let ok = CallFile::builder()
        .call(b(2_147_483).unwrap())
        .action(Action::application("NoOp", ""))
        .build()
        .unwrap();
    let got: Seen = read_call_file(ok.render().as_bytes(), LineMode::Modern);
    assert_eq!(got.dial_timeout_ms(), 2_147_483_000);
}

/// The accepted forms, each read back exactly; anything Asterisk would read otherwise is
/// refused with its reading.
#[test]
fn callerid_forms_accepted_and_refused_with_asterisks_reading() {
    kept("\"Test User\" <5555555555>", "Test User", "5555555555");
    kept("Test User <5555555555>", "Test User", "5555555555");
    kept("\"Test User\"<5555555555>", "Test User", "5555555555");
    kept("<5555555555>", "", "5555555555");
    kept("+420777123456", "", "+420777123456");
    kept("*99#", "", "*99#");
    kept("Reception", "Reception", "");
    kept("\"Reception\"", "Reception", "");
    kept("\"5551234\"", "5551234", "");
    kept("'Test User' <5555555555>", "'Test User'", "5555555555");
    kept("\"a\"b\" <1>", "a\"b", "1");
    kept(
        &format!(
            "\"{}\" <{}>",
            "n".repeat(CALLERID_PART_MAX),
            "5".repeat(CALLERID_PART_MAX)
        ),
        &"n".repeat(79),
        &"5".repeat(79),
    );
    for (v, name, number) in [
        // Asterisk shrinks numbers: ( ) - . and spaces go.
        ("+1 (555) 000-0005", "", "+15550000005"),
        ("Shop <+1 555-0005>", "Shop", "+15550005"),
        ("555 1234", "", "5551234"),
        // Backslashes escape in a name.
        ("\"a\\\\b\" <1>", "a\\b", "1"),
        ("Bob\\", "Bob", ""),
        // Two blanks before '<' are trimmed from the name.
        ("Bob  <1>", "Bob", "1"),
    ] {
        assert_eq!(fake_reads(v), s(name, number), "{v:?}");
        let msg = refused(v);
        assert!(
            msg.contains(&format!(
                "Asterisk would read name {name:?} and number {number:?}, not what is written"
            )),
            "{v:?}: {msg}"
        );
    }
    for v in ["\"", "\"\"", "<>", "\"\" <>"] {
        assert_eq!(fake_reads(v), s("", ""), "{v:?}");
        assert!(refused(v).contains("neither a name nor a number"), "{v:?}");
    }
}
