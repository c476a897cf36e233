//! One test per example of pycall's usage guide (the seed guide), by intent. Where the guide's
//! example is itself wrong, the test shows the clear error instead.
//!
//! The README's Rust snippets are mirrored here between `README:` markers; the last test checks
//! that every README line still appears, in order, in its mirror (the tests only add lines that
//! point the spool at a temporary directory and check the result).

use std::error::Error;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use dialout_callfile::{Action, Call, CallFile, Outcome, SpoolError, parse};
use jiff::Timestamp;

type R = Result<(), Box<dyn Error>>;

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

#[test]
fn hello_world() -> R {
    let spool = tempfile::tempdir()?;
    // README: hello
    use dialout_callfile::{Action, Call, CallFile};

    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .build()?;
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "hello-world"))
        .spool_dir(spool.path())
        .build()?;
    let path = cf.spool(None)?; // dialed at once
    // README end
    assert_eq!(
        read(&path),
        "Channel: SIP/flowroute/18002223333\nApplication: Playback\nData: hello-world\n"
    );
    Ok(())
}

fn hello(spool: &Path) -> CallFile {
    CallFile::builder()
        .call(
            Call::builder()
                .channel("SIP/flowroute/18002223333")
                .build()
                .unwrap(),
        )
        .action(Action::application("Playback", "hello-world"))
        .spool_dir(spool)
        .build()
        .unwrap()
}

fn mtime(path: &Path) -> Timestamp {
    Timestamp::try_from(fs::metadata(path).unwrap().modified().unwrap()).unwrap()
}

#[test]
fn scheduling_one_hour_ahead() -> R {
    let spool = tempfile::tempdir()?;
    let cf = hello(spool.path());
    // README: in-one-hour
    use jiff::{SignedDuration, Timestamp};

    let at = Timestamp::now() + SignedDuration::from_hours(1);
    let path = cf.spool(Some(at))?; // the file's mtime is its schedule
    // README end
    assert_eq!(mtime(&path), at);
    Ok(())
}

#[test]
fn scheduling_at_a_fixed_date_is_exact_across_dst() -> R {
    let spool = tempfile::tempdir()?;
    let cf = hello(spool.path());
    // README: fixed-date
    // An instant with its offset is exact:
    let at: Timestamp = "2030-12-01T01:00:00+01:00".parse()?;
    // or a wall-clock time in a named zone, resolved with the tz database (DST included):
    let same = jiff::civil::date(2030, 12, 1)
        .at(1, 0, 0, 0)
        .in_tz("Europe/Prague")?
        .timestamp();
    assert_eq!(at, same);
    let path = cf.spool(Some(at))?;
    // README end
    assert_eq!(mtime(&path), at);
    // In summer the same wall-clock hour is another offset: 01:00 in July is 23:00 UTC.
    let july = jiff::civil::date(2030, 7, 1)
        .at(1, 0, 0, 0)
        .in_tz("Europe/Prague")?
        .timestamp();
    assert_eq!(july.to_string(), "2030-06-30T23:00:00Z");
    Ok(())
}

#[test]
fn the_guides_naive_2010_date_is_refused_not_dialed_at_once() -> R {
    let spool = tempfile::tempdir()?;
    // pycall: cf.spool(datetime(2010, 12, 1, 1, 0, 0)) dials at once, silently.
    let at = jiff::civil::date(2010, 12, 1)
        .at(1, 0, 0, 0)
        .in_tz("Europe/Prague")?
        .timestamp();
    let e = hello(spool.path()).spool(Some(at)).unwrap_err();
    assert!(matches!(e, SpoolError::InvalidTime { .. }), "{e}");
    assert!(e.to_string().contains("in the past"), "{e}");
    assert_eq!(fs::read_dir(spool.path())?.count(), 0);
    Ok(())
}

#[test]
fn permissions_user_asterisk() -> R {
    let spool = tempfile::tempdir()?;
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .build()?;
    let action = Action::application("Playback", "hello-world");
    // README: user
    let cf = CallFile::builder()
        .call(call)
        .action(action)
        .user("asterisk") // chown to the Asterisk user (needs root or CAP_CHOWN)
        .spool_dir(spool.path())
        .build()?;
    let result = cf.spool(None);
    // README end
    match nix::unistd::User::from_name("asterisk")? {
        // As the guide warns, a machine without Asterisk has no such user.
        None => assert!(
            matches!(result, Err(SpoolError::NoSuchUser { ref user }) if user == "asterisk"),
            "{result:?}"
        ),
        Some(u) if nix::unistd::geteuid().is_root() => {
            assert_eq!(fs::metadata(result?)?.uid(), u.uid.as_raw())
        }
        Some(_) => assert!(
            matches!(result, Err(SpoolError::NoPermissionToChown { .. })),
            "{result:?}"
        ),
    }
    Ok(())
}

#[test]
fn context_survey() -> R {
    let spool = tempfile::tempdir()?;
    // README: context
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .build()?;
    let cf = CallFile::builder()
        .call(call)
        .action(Action::context("survey", "s", 1))
        .spool_dir(spool.path())
        .build()?;
    cf.spool(None)?;
    // README end
    assert_eq!(
        cf.render(),
        "Channel: SIP/flowroute/18002223333\nContext: survey\nExtension: s\nPriority: 1\n"
    );
    Ok(())
}

#[test]
fn callerid() -> R {
    // README: callerid
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .callerid("\"Test User\" <5555555555>")
        .build()?;
    // README end
    assert_eq!(call.callerid(), Some("\"Test User\" <5555555555>"));
    // The guide's own string has a stray quote: `'Test User' <5555555555>'`. Asterisk's
    // split keeps the single quotes in the name (it strips only double quotes) and drops the
    // `'` after the last '>', so the callee would see the name 'Test User', apostrophes
    // included, and the file would not say what Asterisk does: refused, saying so.
    let guide = "'Test User' <5555555555>'";
    let e = Call::builder()
        .channel("SIP/f/1")
        .callerid(guide)
        .build()
        .unwrap_err();
    assert_eq!(e.field(), dialout_callfile::Field::CallerId);
    assert!(
        e.to_string()
            .contains(r#"Asterisk would read name "'Test User'" and number "5555555555""#),
        "{e}"
    );
    // The fake Asterisk, which splits on its own, agrees on that reading.
    let fake = dialout_testkit::fake_asterisk::read_call_file(
        format!("Channel: SIP/f/1\nCallerid: {guide}\nApplication: NoOp\n").as_bytes(),
        dialout_testkit::fake_asterisk::LineMode::Modern,
    );
    let seen = fake.caller_id.unwrap();
    assert_eq!(
        (seen.name.as_str(), seen.number.as_str()),
        ("'Test User'", "5555555555")
    );
    // Without the stray quote it is accepted, and the apostrophes are part of the name.
    let apostrophes = Call::builder()
        .channel("SIP/f/1")
        .callerid("'Test User' <5555555555>")
        .build()?;
    assert_eq!(apostrophes.callerid(), Some("'Test User' <5555555555>"));
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "hello-world"))
        .build()?;
    assert!(
        cf.render()
            .contains("\nCallerid: \"Test User\" <5555555555>\n")
    );
    Ok(())
}

#[test]
fn variables_reach_the_dialplan() -> R {
    // README: variables
    let call = Call::builder()
        .channel("SIP/flowroute/18882223333")
        .var("greeting", "tt-monkeys") // ${greeting} in the dialplan
        .build()?;
    let cf = CallFile::builder()
        .call(call)
        .action(Action::context("survey", "s", 1))
        .build()?;
    // README end
    assert!(cf.render().contains("\nSet: greeting=tt-monkeys\n"));
    assert_eq!(
        parse(&cf.render())?.call.variables(),
        [("greeting".to_string(), "tt-monkeys".to_string())]
    );
    Ok(())
}

#[test]
fn account_code() -> R {
    // README: account
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .account("randall")
        .build()?;
    // README end
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "hello-world"))
        .build()?;
    assert!(cf.render().contains("\nAccount: randall\n"));
    Ok(())
}

#[test]
fn timing_values() -> R {
    // README: timing
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .wait_time(10) // seconds of ringing per attempt
        .retry_time(60) // seconds between attempts
        .max_retries(2) // retries after the first attempt: 3 attempts at most
        .build()?;
    // README end
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "hello-world"))
        .build()?;
    assert!(cf.render().ends_with(
        "WaitTime: 10\nRetryTime: 60\nMaxretries: 2\nApplication: Playback\nData: hello-world\n"
    ));
    Ok(())
}

#[test]
fn archive_keeps_the_result() -> R {
    let spool = tempfile::tempdir()?;
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .build()?;
    let action = Action::application("Playback", "hello-world");
    // README: archive
    let cf = CallFile::builder()
        .call(call)
        .action(action)
        .archive(true)
        .spool_dir(spool.path())
        .build()?;
    let path = cf.spool(None)?;
    // ... later, Asterisk has moved it to outgoing_done and appended its Status line:
    let done = fs::read_to_string(&path)? + "Status: Completed";
    assert_eq!(parse(&done)?.status, Some(Outcome::Completed));
    // README end
    assert!(read(&path).ends_with("\nArchive: yes\n"));
    Ok(())
}

#[test]
fn filename_and_staging_dir() -> R {
    let spool = tempfile::tempdir()?;
    let staging = tempfile::tempdir()?; // same filesystem as the spool dir
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .build()?;
    let action = Action::application("Playback", "hello-world");
    // README: filename
    let cf = CallFile::builder()
        .call(call)
        .action(action)
        .filename("test.call")
        .staging_dir(staging.path()) // must be on the spool dir's filesystem
        .spool_dir(spool.path())
        .build()?;
    let path = cf.spool(None)?;
    // README end
    assert_eq!(path, spool.path().join("test.call"));
    assert_eq!(fs::read_dir(staging.path())?.count(), 0);
    Ok(())
}

#[test]
fn the_guides_tempdir_on_another_filesystem_is_refused() -> R {
    // pycall: CallFile(..., filename='test.call', tempdir='/tmp') copies across filesystems when
    // /tmp is a tmpfs, and Asterisk may read the half-copied file. /dev/shm is a tmpfs here.
    let spool = tempfile::tempdir()?;
    let shm = Path::new("/dev/shm");
    assert_ne!(
        fs::metadata(shm)?.dev(),
        fs::metadata(spool.path())?.dev(),
        "this test needs /dev/shm on a filesystem other than the temp dir's"
    );
    let staging = tempfile::tempdir_in(shm)?;
    let cf = CallFile::builder()
        .call(
            Call::builder()
                .channel("SIP/flowroute/18002223333")
                .build()?,
        )
        .action(Action::application("Playback", "hello-world"))
        .filename("test.call")
        .staging_dir(staging.path())
        .spool_dir(spool.path())
        .build()?;
    let e = cf.spool(None).unwrap_err();
    assert!(matches!(e, SpoolError::CrossFilesystem { .. }), "{e}");
    assert_eq!(fs::read_dir(spool.path())?.count(), 0);
    assert_eq!(fs::read_dir(staging.path())?.count(), 0);
    Ok(())
}

#[test]
fn custom_spool_dir() -> R {
    let tmp = tempfile::tempdir()?;
    fs::create_dir(tmp.path().join("outgoing"))?;
    let call = Call::builder()
        .channel("SIP/flowroute/18002223333")
        .build()?;
    let action = Action::application("Playback", "hello-world");
    let outgoing = tmp.path().join("outgoing");
    // README: spool-dir
    let cf = CallFile::builder()
        .call(call)
        .action(action)
        .spool_dir(&outgoing)
        .build()?;
    let path = cf.spool(None)?;
    // README end
    assert_eq!(path.parent(), Some(outgoing.as_path()));
    Ok(())
}

#[test]
fn several_numbers_at_once_need_a_local_channel_not_ampersand() -> R {
    // The guide's `Local/1000@internal&SIP/flowroute/18002223333` expires undialed on a real Asterisk.
    let e = Call::builder()
        .channel("Local/1000@internal&SIP/flowroute/18002223333")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("Dial(A&B)"), "{e}");
    // README: ring-both
    // extensions.conf:  [ring-both]
    //                   exten => s,1,Dial(SIP/1000&SIP/flowroute/18002223333)
    let call = Call::builder().channel("Local/s@ring-both").build()?;
    let cf = CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "hello-world"))
        .build()?;
    // README end
    assert!(cf.render().starts_with("Channel: Local/s@ring-both\n"));
    Ok(())
}

/// Every Rust snippet of the README's call-file section, line by line, in its mirror above.
#[test]
fn readme_snippets_are_mirrored_here() {
    let readme =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme
        .split("<!-- SECTION: callfile -->")
        .nth(1)
        .and_then(|s| s.split("<!-- SECTION:").next())
        .expect("README has a callfile section");
    let me = include_str!("guide.rs");
    let mut checked = 0;
    for block in section.split("```rust").skip(1) {
        let block = block.split("```").next().unwrap().trim_start_matches('\n');
        let name = block.lines().next().unwrap_or("").trim();
        let body: Vec<&str> = block
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let name = name
            .strip_prefix("// ")
            .unwrap_or_else(|| panic!("README rust block must start with `// <name>`: {block}"));
        let marker = format!("// README: {name}\n");
        let start = me
            .find(&marker)
            .unwrap_or_else(|| panic!("no mirror for README snippet {name}"))
            + marker.len();
        // The mirrors may point the spool at a temp dir, inline: `.spool_dir(spool.path())`;
        // rustfmt may wrap lines differently, so whitespace is ignored.
        let squash = |t: &str| t.split_whitespace().collect::<String>();
        let mirror_text = me[start..].split("// README end").next().unwrap();
        let mirror = squash(mirror_text).replace(".spool_dir(spool.path())", "");
        let mut pos = 0;
        for line in &body {
            let l = squash(line);
            match mirror[pos..].find(&l) {
                Some(at) => pos += at + l.len(),
                None => {
                    panic!("README snippet {name}: line {line:?} is not in its mirror (in order)")
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} README snippets found");
}
