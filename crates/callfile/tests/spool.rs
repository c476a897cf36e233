//! Spooling: exact mtime, mode and owner; atomic rename; nothing left behind on errors.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use dialout_callfile::{
    Action, Call, CallFile, CallFileBuilder, Durability, Field, STAGING_SUBDIR, SpoolError,
    spool_batch,
};
use jiff::{SignedDuration, Timestamp};

fn builder(spool: &Path) -> CallFileBuilder {
    CallFile::builder()
        .call(
            Call::builder()
                .channel("SIP/flowroute/18002223333")
                .build()
                .unwrap(),
        )
        .action(Action::application("Playback", "hello-world"))
        .spool_dir(spool)
}

/// Regular files in a directory (the staging subdirectory is not a regular file).
fn files(dir: &Path) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn assert_nothing_left(spool: &Path) {
    assert_eq!(files(spool), Vec::<String>::new(), "spool dir");
    assert_eq!(
        files(&spool.join(STAGING_SUBDIR)),
        Vec::<String>::new(),
        "staging dir"
    );
}

#[test]
fn spools_an_exact_file_with_a_unique_name() {
    let dir = tempfile::tempdir().unwrap();
    let cf = builder(dir.path()).build().unwrap();
    let a = cf.spool(None).unwrap();
    let b = cf.spool(None).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.parent().unwrap(), dir.path());
    let name = a.file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with(".call") && !name.starts_with('.'), "{name}");
    assert_eq!(fs::read_to_string(&a).unwrap(), cf.render());
    assert_eq!(files(dir.path()).len(), 2);
    // Staging dir: a subdirectory (Asterisk skips those), owner-only, left empty.
    let staging = dir.path().join(STAGING_SUBDIR);
    assert!(staging.is_dir());
    assert_eq!(
        fs::metadata(&staging).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(files(&staging), Vec::<String>::new());
}

#[test]
fn mtime_is_the_scheduled_instant() {
    let dir = tempfile::tempdir().unwrap();
    let at = Timestamp::now() + SignedDuration::from_hours(1);
    let path = builder(dir.path())
        .build()
        .unwrap()
        .spool(Some(at))
        .unwrap();
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(Timestamp::try_from(mtime).unwrap(), at);
}

#[test]
fn mode_is_exact_and_never_world_readable() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o660, 0o640] {
        let path = builder(dir.path())
            .mode(mode)
            .build()
            .unwrap()
            .spool(None)
            .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            mode,
            "{mode:o}"
        );
    }
    let path = builder(dir.path()).build().unwrap().spool(None).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o600
    );
}

#[test]
fn owner_is_set_with_chown() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody must exist on the test machine");
    let result = builder(dir.path())
        .user("nobody")
        .build()
        .unwrap()
        .spool(None);
    if nix::unistd::geteuid().is_root() {
        let path = result.unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.uid(), nobody.uid.as_raw());
        assert_eq!(meta.gid(), nobody.gid.as_raw());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    } else {
        // Without CAP_CHOWN giving a file away is refused: the error says so (see also the CLI test run as nobody).
        assert!(
            matches!(result, Err(SpoolError::NoPermissionToChown { .. })),
            "{result:?}"
        );
        assert_nothing_left(dir.path());
    }
}

#[test]
fn unknown_user_or_group_spools_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = builder(dir.path())
        .user("dialout-no-such-user")
        .build()
        .unwrap()
        .spool(None)
        .unwrap_err();
    assert!(
        matches!(&e, SpoolError::NoSuchUser { user } if user == "dialout-no-such-user"),
        "{e}"
    );
    let e = builder(dir.path())
        .group("dialout-no-such-group")
        .build()
        .unwrap()
        .spool(None)
        .unwrap_err();
    assert!(matches!(&e, SpoolError::NoSuchGroup { .. }), "{e}");
    assert_nothing_left(dir.path());
}

#[test]
fn missing_spool_dir_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("outgoing");
    let e = builder(&spool).build().unwrap().spool(None).unwrap_err();
    assert!(
        matches!(&e, SpoolError::MissingDir { field: Field::SpoolDir, path } if *path == spool),
        "{e}"
    );
    assert!(!spool.exists());
    // A given staging dir that is missing is named too.
    fs::create_dir(&spool).unwrap();
    let e = builder(&spool)
        .staging_dir(dir.path().join("nope"))
        .build()
        .unwrap()
        .spool(None)
        .unwrap_err();
    assert!(
        matches!(
            &e,
            SpoolError::MissingDir {
                field: Field::StagingDir,
                ..
            }
        ),
        "{e}"
    );
    assert_nothing_left(&spool);
}

fn same_filesystem(a: &Path, b: &Path) -> bool {
    fs::metadata(a).unwrap().dev() == fs::metadata(b).unwrap().dev()
}

#[test]
fn staging_dir_on_another_filesystem_is_refused_never_copied() {
    let spool = tempfile::tempdir().unwrap();
    let shm = Path::new("/dev/shm");
    assert!(
        shm.is_dir(),
        "this test needs /dev/shm (a tmpfs) as a second filesystem"
    );
    assert!(
        !same_filesystem(spool.path(), shm),
        "this test needs /dev/shm on another filesystem than {}",
        spool.path().display()
    );
    let staging = tempfile::tempdir_in(shm).unwrap();
    let cf = builder(spool.path())
        .staging_dir(staging.path())
        .filename("test.call")
        .build()
        .unwrap();
    let e = cf.spool(None).unwrap_err();
    assert!(matches!(e, SpoolError::CrossFilesystem { .. }), "{e}");
    assert!(e.to_string().contains("EXDEV"));
    assert_eq!(files(spool.path()), Vec::<String>::new());
    assert_eq!(files(staging.path()), Vec::<String>::new());
}

#[test]
fn a_given_filename_is_used_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let cf = builder(dir.path()).filename("test.call").build().unwrap();
    let path = cf.spool(None).unwrap();
    assert_eq!(path, dir.path().join("test.call"));
    fs::write(&path, "being dialed").unwrap();
    let e = cf.spool(None).unwrap_err();
    assert!(matches!(e, SpoolError::AlreadyExists { .. }), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "being dialed");
    assert_eq!(
        files(&dir.path().join(STAGING_SUBDIR)),
        Vec::<String>::new()
    );
}

#[test]
fn a_time_in_the_past_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let at = Timestamp::now() - SignedDuration::from_secs(120);
    let e = builder(dir.path())
        .build()
        .unwrap()
        .spool(Some(at))
        .unwrap_err();
    assert!(matches!(e, SpoolError::InvalidTime { .. }), "{e}");
    assert!(e.to_string().contains("past"));
    assert_nothing_left(dir.path());
}

#[test]
fn every_durability_spools_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    for d in [
        Durability::None,
        Durability::EachFile,
        Durability::GroupCommit,
    ] {
        let cf = builder(dir.path()).durability(d).build().unwrap();
        let p = cf.spool(None).unwrap();
        assert_eq!(fs::read_to_string(p).unwrap(), cf.render());
    }
    assert_eq!(files(dir.path()).len(), 3);
}

#[test]
fn batch_spools_all_files_with_their_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let base = Timestamp::now() + SignedDuration::from_mins(5);
    let items: Vec<_> = (0..50)
        .map(|i| {
            let call = Call::builder()
                .channel(format!("SIP/trunk/{i}"))
                .build()
                .unwrap();
            let cf = builder(dir.path()).call(call).build().unwrap();
            (cf, Some(base + SignedDuration::from_secs(i)))
        })
        .collect();
    for d in [
        Durability::GroupCommit,
        Durability::EachFile,
        Durability::None,
    ] {
        let r = spool_batch(&items, d);
        assert!(r.is_ok(), "{:?}", r.error);
        assert_eq!(r.spooled.len(), 50);
        for ((cf, at), path) in items.iter().zip(&r.spooled) {
            assert_eq!(fs::read_to_string(path).unwrap(), cf.render());
            let mtime = fs::metadata(path).unwrap().modified().unwrap();
            assert_eq!(Timestamp::try_from(mtime).unwrap(), at.unwrap());
        }
    }
    assert_eq!(files(dir.path()).len(), 150);
    assert_eq!(
        files(&dir.path().join(STAGING_SUBDIR)),
        Vec::<String>::new()
    );
}

#[test]
fn batch_error_before_the_first_rename_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut items: Vec<_> = (0..20)
        .map(|_| (builder(dir.path()).build().unwrap(), None))
        .collect();
    items[13].0 = builder(dir.path())
        .user("dialout-no-such-user")
        .build()
        .unwrap();
    let r = spool_batch(&items, Durability::GroupCommit);
    assert!(r.spooled.is_empty());
    let (i, e) = r.error.unwrap();
    assert_eq!(i, 13);
    assert!(matches!(e, SpoolError::NoSuchUser { .. }));
    assert_nothing_left(dir.path());
}

#[test]
fn batch_name_clashes_are_found_before_anything_is_spooled() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("taken.call"), "x").unwrap();
    let named = |n: &str| (builder(dir.path()).filename(n).build().unwrap(), None);
    for (items, bad) in [
        (vec![named("a.call"), named("b.call"), named("a.call")], 2),
        (vec![named("a.call"), named("taken.call")], 1),
    ] {
        let r = spool_batch(&items, Durability::GroupCommit);
        assert!(r.spooled.is_empty());
        let (i, e) = r.error.unwrap();
        assert_eq!(i, bad);
        assert!(matches!(e, SpoolError::AlreadyExists { .. }), "{e}");
        assert_eq!(files(dir.path()), vec!["taken.call".to_string()]);
        assert_eq!(
            files(&dir.path().join(STAGING_SUBDIR)),
            Vec::<String>::new()
        );
    }
}

#[test]
fn batch_error_after_renames_says_which_files_were_spooled() {
    // Item 6 stages on another filesystem: only its rename can fail (EXDEV), after 6 renames.
    let dir = tempfile::tempdir().unwrap();
    let shm = tempfile::tempdir_in("/dev/shm").expect("/dev/shm (tmpfs) is needed for this test");
    assert_ne!(
        fs::metadata(shm.path()).unwrap().dev(),
        fs::metadata(dir.path()).unwrap().dev()
    );
    let mut items: Vec<_> = (0..10)
        .map(|_| (builder(dir.path()).build().unwrap(), None))
        .collect();
    items[6].0 = builder(dir.path()).staging_dir(shm.path()).build().unwrap();
    let r = spool_batch(&items, Durability::GroupCommit);
    let (i, e) = r.error.unwrap();
    assert_eq!(i, 6);
    assert!(matches!(e, SpoolError::CrossFilesystem { .. }), "{e}");
    assert_eq!(r.spooled.len(), 6);
    assert!(r.spooled.iter().all(|p| p.exists()));
    // Exactly the 6 spooled; the rest were removed from both staging directories.
    assert_eq!(files(dir.path()).len(), 6);
    assert_eq!(
        files(&dir.path().join(STAGING_SUBDIR)),
        Vec::<String>::new()
    );
    assert_eq!(files(shm.path()), Vec::<String>::new());
}
