//! `dialout call` and `dialout callfile show`, run as the built binary.

mod runner;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use runner::{BIN, Dialout, Run};

/// `dialout` with `DIALOUT_SPOOL_DIR=spool`, at the binary's own log level as a user runs it.
fn with_spool(spool: &Path) -> Dialout {
    Dialout::new().default_log().env("DIALOUT_SPOOL_DIR", spool)
}

fn dialout(spool: &Path, args: &[&str]) -> Run {
    with_spool(spool).args(args).run()
}

/// Every file under the spool dir, the staging subdirectory included.
fn all_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(all_files(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

const HELLO: &[&str] = &[
    "call",
    "--channel",
    "SIP/flowroute/18002223333",
    "--application",
    "Playback",
    "--data",
    "hello-world",
];

#[test]
fn print_writes_the_file_to_stdout_and_spools_nothing() {
    let spool = tempfile::tempdir().unwrap();
    let mut args = HELLO.to_vec();
    args.push("--print");
    let o = dialout(spool.path(), &args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "Channel: SIP/flowroute/18002223333\nApplication: Playback\nData: hello-world\n"
    );
    assert!(all_files(spool.path()).is_empty());
}

#[test]
fn every_option_of_the_guide_renders_in_pycalls_order() {
    let spool = tempfile::tempdir().unwrap();
    let o = dialout(
        spool.path(),
        &[
            "call",
            "--channel",
            "SIP/flowroute/18002223333",
            "--callerid",
            "\"Test User\" <5555555555>",
            "--var",
            "greeting=tt-monkeys",
            "--var",
            "__ID=42",
            "--var",
            "a=b=c",
            "--account",
            "randall",
            "--wait-time",
            "10",
            "--retry-time",
            "60",
            "--max-retries",
            "2",
            "--codecs",
            "ulaw,alaw",
            "--always-delete",
            "no",
            "--early-media",
            "--context",
            "survey",
            "--extension",
            "s",
            "--priority",
            "1",
            "--archive",
            "--print",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "Channel: SIP/flowroute/18002223333\nCallerid: \"Test User\" <5555555555>\nSet: greeting=tt-monkeys\n\
         Set: __ID=42\nSet: a=b=c\nAccount: randall\nWaitTime: 10\nRetryTime: 60\nMaxretries: 2\nCodecs: ulaw,alaw\n\
         AlwaysDelete: no\nearly_media: yes\nContext: survey\nExtension: s\nPriority: 1\nArchive: yes\n"
    );
}

#[test]
fn spools_into_the_spool_dir_from_the_environment() {
    let spool = tempfile::tempdir().unwrap();
    let o = dialout(spool.path(), HELLO);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let path = o.stdout.trim_end().to_string();
    assert_eq!(Path::new(&path).parent().unwrap(), spool.path());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "Channel: SIP/flowroute/18002223333\nApplication: Playback\nData: hello-world\n"
    );
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    assert_eq!(all_files(spool.path()), vec![path]);
}

#[test]
fn at_and_in_set_the_mtime() {
    let spool = tempfile::tempdir().unwrap();
    let mut args = HELLO.to_vec();
    args.extend([
        "--at",
        "2030-12-01T01:00:00+01:00",
        "--filename",
        "fixed.call",
    ]);
    let o = dialout(spool.path(), &args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mtime = Timestamp::try_from(
        fs::metadata(spool.path().join("fixed.call"))
            .unwrap()
            .modified()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(mtime, "2030-12-01T00:00:00Z".parse().unwrap());

    let before = Timestamp::now() + SignedDuration::from_secs(90);
    let mut args = HELLO.to_vec();
    args.extend(["--in", "90s", "--json"]);
    let o = dialout(spool.path(), &args);
    let after = Timestamp::now() + SignedDuration::from_secs(90);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = o.json();
    let path = v["path"].as_str().unwrap();
    let at: Timestamp = v["at"].as_str().unwrap().parse().unwrap();
    let mtime = Timestamp::try_from(fs::metadata(path).unwrap().modified().unwrap()).unwrap();
    assert_eq!(mtime, at);
    assert!(before <= at && at <= after);
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_option_and_writes_nothing() {
    let spool = tempfile::tempdir().unwrap();
    let shm = tempfile::tempdir_in("/dev/shm")
        .expect("/dev/shm (tmpfs) is needed for the cross-filesystem case");
    let shm_path = shm.path().to_str().unwrap().to_string();
    let long_data = "d".repeat(300);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--callerid", "Bob\nApplication: System"], "--callerid"),
        (vec!["--var", "GREETING"], "--var"),
        (vec!["--var", "FILE(/etc/x)=1"], "--var"),
        (vec!["--var", "A=x #y"], "--var"),
        (vec!["--account", " pad"], "--account"),
        (vec!["--wait-time", "0"], "--wait-time"),
        (vec!["--retry-time", "soon"], "--retry-time"),
        (vec!["--max-retries", "-1"], "--max-retries"),
        (vec!["--codecs", "ulaw alaw"], "--codecs"),
        (vec!["--always-delete", "maybe"], "--always-delete"),
        (vec!["--early-media"], "--early-media"),
        (vec!["--at", "2030-12-01T01:00:00"], "--at"),
        (vec!["--at", "2010-12-01T01:00:00+01:00"], "--at"),
        (vec!["--in", "-5m"], "--in"),
        (vec!["--in", "soon"], "--in"),
        (vec!["--in", "1 month"], "--in"),
        (vec!["--user", "dialout-no-such-user"], "--user"),
        (vec!["--group", "dialout-no-such-group"], "--group"),
        (vec!["--mode", "644"], "--mode"),
        (vec!["--filename", ".hidden.call"], "--filename"),
        (vec!["--filename", "../x.call"], "--filename"),
        (vec!["--max-line", "512"], "--max-line"),
        (vec!["--tempdir", &shm_path], "--tempdir"),
        (vec!["--account", &long_data], "--account"),
        (vec!["--context", "survey"], "--application"),
    ];
    for (extra, option) in cases {
        let mut args = HELLO.to_vec();
        args.extend(extra.iter().copied());
        let o = dialout(spool.path(), &args);
        let err = o.stderr;
        assert_eq!(o.code, 2, "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(
            err.starts_with(&format!("dialout: {option}")),
            "{extra:?}: {err}"
        );
        assert!(o.stdout.is_empty(), "{extra:?}");
        assert!(
            all_files(spool.path()).is_empty(),
            "{extra:?} left {:?}",
            all_files(spool.path())
        );
        assert!(all_files(shm.path()).is_empty(), "{extra:?}");
    }
    let no_channel = dialout(spool.path(), &["call", "--application", "Playback"]);
    assert_eq!(no_channel.code, 2);
    assert_eq!(no_channel.stderr, "dialout: --channel: required\n");
    let amp = dialout(
        spool.path(),
        &[
            "call",
            "--channel",
            "Local/1000@internal&SIP/x/1",
            "--application",
            "Playback",
        ],
    );
    assert_eq!(amp.code, 2);
    assert!(amp.stderr.contains("Local channel") && amp.stderr.contains("Dial(A&B)"));
    let missing = dialout(&spool.path().join("nope"), HELLO);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.starts_with("dialout: --spool-dir: "),
        "{}",
        missing.stderr
    );
}

/// Runs the binary as `nobody` when we are root, so that permission errors are real. The
/// binary is linked (or copied) beside the spool dir first: the build directory may not be reachable by
/// `nobody` (a checkout under /root, say). `spool` is `<dir>/outgoing`, `<dir>` mode 0755.
fn as_unprivileged(spool: &Path, args: &[&str]) -> Run {
    let mut cmd = with_spool(spool).dir("/").args(args);
    if nix::unistd::geteuid().is_root() {
        let bin = spool.parent().unwrap().join("dialout");
        // A hard link opens nothing for writing (a copy's write handle, inherited by a child
        // another test thread forks meanwhile, makes exec fail with ETXTBSY; `run` retries
        // briefly if the copy fallback meets it).
        if fs::hard_link(BIN, &bin).is_err() {
            fs::copy(BIN, &bin).unwrap();
        }
        let nobody = nix::unistd::User::from_name("nobody")
            .unwrap()
            .expect("user nobody must exist");
        cmd = cmd
            .program(bin)
            .user(nobody.uid.as_raw(), nobody.gid.as_raw());
    }
    cmd.run()
}

#[test]
fn without_chown_permission_the_error_says_so_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let spool = dir.path().join("outgoing");
    fs::create_dir(&spool).unwrap();
    fs::set_permissions(&spool, fs::Permissions::from_mode(0o777)).unwrap();
    let mut args = HELLO.to_vec();
    args.extend(["--user", "root"]);
    let o = as_unprivileged(&spool, &args);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .starts_with("dialout: --user: no permission to give "),
        "{}",
        o.stderr
    );
    assert!(all_files(&spool).is_empty(), "{:?}", all_files(&spool));
}

#[test]
fn an_unwritable_spool_dir_is_reported_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let spool = dir.path().join("outgoing");
    fs::create_dir(&spool).unwrap();
    fs::set_permissions(&spool, fs::Permissions::from_mode(0o755)).unwrap();
    if !nix::unistd::geteuid().is_root() {
        fs::set_permissions(&spool, fs::Permissions::from_mode(0o555)).unwrap();
    }
    let o = as_unprivileged(&spool, HELLO);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .starts_with("dialout: --spool-dir: no permission to create the staging directory"),
        "{}",
        o.stderr
    );
    assert!(all_files(&spool).is_empty());
}

#[test]
fn callfile_show_reads_pending_and_archived_files() {
    let dir = tempfile::tempdir().unwrap();
    let pending = dir.path().join("p.call");
    fs::write(
        &pending,
        "Channel: SIP/x/1\nSet: A=b\\;c\nApplication: Playback\nData: hello-world\nArchive: yes\n",
    )
    .unwrap();
    let o = dialout(dir.path(), &["callfile", "show", pending.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out = o.stdout;
    assert!(
        out.contains("channel       SIP/x/1\n") && out.contains("set           A=b;c\n"),
        "{out}"
    );
    assert!(out.contains("status        pending\n"), "{out}");

    let running = dir.path().join("r.call");
    fs::write(
        &running,
        fs::read_to_string(&pending).unwrap() + "\nStartRetry: 99 1 (1763700000)\n",
    )
    .unwrap();
    let o = dialout(
        dir.path(),
        &["--json", "callfile", "show", running.to_str().unwrap()],
    );
    let v = o.json();
    assert_eq!(v["finished"], false);
    assert_eq!(v["status"], serde_json::Value::Null);
    assert_eq!(v["attempts"][0]["kind"], "StartRetry");
    assert_eq!(v["call"]["variables"][0][1], "b;c");

    let done = dir.path().join("d.call");
    fs::write(
        &done,
        fs::read_to_string(&running).unwrap() + "\nEndRetry: 99 1 (1763700045)\nStatus: Expired",
    )
    .unwrap();
    let o = dialout(
        dir.path(),
        &["callfile", "show", "--json", done.to_str().unwrap()],
    );
    let v = o.json();
    assert_eq!(v["finished"], true);
    assert_eq!(v["status"], "Expired");
    assert_eq!(v["action"]["app"], "Playback");

    let bad = dir.path().join("bad.call");
    fs::write(&bad, "Application: Playback\n").unwrap();
    let o = dialout(dir.path(), &["callfile", "show", bad.to_str().unwrap()]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("channel: missing"), "{}", o.stderr);
}

/// Splits a shell line into words: blanks separate, single quotes group (all the README uses).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(cur);
    }
    words
}

/// Every complete `dialout call` line of the README's call-file section runs (with --print).
#[test]
fn readme_command_lines_work() {
    let readme =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme
        .split("<!-- SECTION: callfile -->")
        .nth(1)
        .unwrap()
        .split("<!-- SECTION:")
        .next()
        .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for block in section.split("```sh").skip(1) {
        let block = block.split("```").next().unwrap().replace("\\\n", " ");
        for line in block.lines().map(str::trim) {
            let line = line.trim_start_matches("sudo ");
            // Lines with "..." or optional [parts] are sketches, not complete commands.
            if !line.starts_with("dialout call ") || line.contains("...") || line.contains('[') {
                continue;
            }
            let line = line.split(" #").next().unwrap();
            let mut words = shell_words(line);
            words.remove(0);
            words.push("--print".into());
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let o = dialout(spool.path(), &args);
            assert_eq!(o.code, 0, "{line}: {}", o.stderr);
            assert!(o.stdout.starts_with("Channel: "), "{line}");
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} README command lines found");
}

#[test]
fn in_days_counts_24_hours() {
    let spool = tempfile::tempdir().unwrap();
    let before = Timestamp::now() + SignedDuration::from_hours(48);
    let mut args = HELLO.to_vec();
    args.extend(["--in", "2d"]);
    let o = dialout(spool.path(), &args);
    let after = Timestamp::now() + SignedDuration::from_hours(48);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let path = o.stdout.trim_end().to_string();
    let mtime = Timestamp::try_from(fs::metadata(path).unwrap().modified().unwrap()).unwrap();
    assert!(before <= mtime && mtime <= after, "{mtime}");
}
