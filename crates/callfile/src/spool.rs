//! Atomic spooling: stage on the spool directory's filesystem, then `rename()` into it.
//!
//! Asterisk takes every regular file directly in `outgoing` as soon as it appears (rename) or
//! is first closed (write in place), and a file's mtime is its schedule. So the file is fully
//! written, owned, moded and timed in a staging directory Asterisk does not read, then renamed.

use std::collections::HashMap;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use jiff::Timestamp;
use nix::unistd::{Gid, Group, Uid, User};

use crate::callfile::{CallFile, Durability};
use crate::error::{Field, SpoolError};

/// How far in the past a schedule may be (clock steps between computing and spooling).
const PAST_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_secs(1);

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses instants in the past: Asterisk would dial at once, which is never what a schedule meant
/// (pycall's naive `datetime(2010, 12, 1, 1, 0)` example does exactly that).
pub(crate) fn check_time(at: Option<Timestamp>) -> Result<Option<SystemTime>, SpoolError> {
    let Some(at) = at else { return Ok(None) };
    let now = Timestamp::now();
    if at < now - PAST_SLACK {
        return Err(SpoolError::InvalidTime {
            at,
            reason: format!(
                "it is in the past (now is {now}); Asterisk would dial at once. Pass no time to dial now"
            ),
        });
    }
    Ok(Some(SystemTime::from(at)))
}

type Owner = (Option<Uid>, Option<Gid>);

fn resolve_owner(user: Option<&str>, group: Option<&str>) -> Result<Owner, SpoolError> {
    let mut uid = None;
    let mut gid = None;
    if let Some(u) = user {
        let found = User::from_name(u).map_err(|e| SpoolError::Io {
            action: "look up user",
            path: PathBuf::from("/etc/passwd"),
            source: e.into(),
        })?;
        let found = found.ok_or_else(|| SpoolError::NoSuchUser {
            user: u.to_string(),
        })?;
        uid = Some(found.uid);
        gid = Some(found.gid);
    }
    if let Some(g) = group {
        let found = Group::from_name(g).map_err(|e| SpoolError::Io {
            action: "look up group",
            path: PathBuf::from("/etc/group"),
            source: e.into(),
        })?;
        gid = Some(
            found
                .ok_or_else(|| SpoolError::NoSuchGroup {
                    group: g.to_string(),
                })?
                .gid,
        );
    }
    Ok((uid, gid))
}

/// The process umask, read once (Linux ≥ 4.7 shows it in /proc/self/status); `None` if unknown.
fn umask() -> Option<u32> {
    static UMASK: OnceLock<Option<u32>> = OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("Umask:"))?;
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
    })
}

/// A file written in the staging directory, not yet renamed.
pub(crate) struct Staged {
    pub(crate) staged: PathBuf,
    pub(crate) target: PathBuf,
}

impl Staged {
    fn discard(&self) {
        let _ = fs::remove_file(&self.staged);
    }
}

fn open_staged(cf: &CallFile, staging: &Path, path: &Path) -> Result<File, SpoolError> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(cf.mode)
            .open(path)
    };
    match open() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if !cf.spool_dir.is_dir() {
                return Err(SpoolError::MissingDir {
                    field: Field::SpoolDir,
                    path: cf.spool_dir.clone(),
                });
            }
            if !cf.staging_is_default() {
                return Err(SpoolError::MissingDir {
                    field: Field::StagingDir,
                    path: staging.to_path_buf(),
                });
            }
            match fs::DirBuilder::new().mode(0o700).create(staging) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                    return Err(SpoolError::SpoolDirPermission {
                        field: Field::SpoolDir,
                        path: cf.spool_dir.clone(),
                        action: "create the staging directory",
                    });
                }
                Err(e) => return Err(io_err("create staging directory", staging)(e)),
            }
            open().map_err(|e| open_error(e, staging, path))
        }
        Err(e) => Err(open_error(e, staging, path)),
    }
}

fn open_error(e: io::Error, staging: &Path, path: &Path) -> SpoolError {
    if e.kind() == ErrorKind::PermissionDenied {
        SpoolError::SpoolDirPermission {
            field: Field::StagingDir,
            path: staging.to_path_buf(),
            action: "create files",
        }
    } else {
        io_err("create", path)(e)
    }
}

/// Writes the staged file completely (content, owner, mode, mtime, optional fsync).
pub(crate) fn stage(
    cf: &CallFile,
    content: &str,
    mtime: Option<SystemTime>,
    owner: Owner,
    fsync: bool,
) -> Result<Staged, SpoolError> {
    let id = uuid::Uuid::now_v7();
    let (name, staged_name) = match &cf.filename {
        Some(f) => (f.clone(), format!("{id}-{f}")),
        None => {
            let n = format!("{id}.call");
            (n.clone(), n)
        }
    };
    let staging = cf.staging_dir();
    let staged = Staged {
        staged: staging.join(staged_name),
        target: cf.spool_dir.join(name),
    };
    let mut file = open_staged(cf, &staging, &staged.staged)?;
    let result = finish_staged(cf, &mut file, &staged.staged, content, mtime, owner, fsync);
    drop(file);
    match result {
        Ok(()) => Ok(staged),
        Err(e) => {
            staged.discard();
            Err(e)
        }
    }
}

fn finish_staged(
    cf: &CallFile,
    file: &mut File,
    path: &Path,
    content: &str,
    mtime: Option<SystemTime>,
    owner: Owner,
    fsync: bool,
) -> Result<(), SpoolError> {
    file.write_all(content.as_bytes())
        .map_err(io_err("write", path))?;
    if owner.0.is_some() || owner.1.is_some() {
        nix::unistd::fchown(&*file, owner.0, owner.1).map_err(|e| match e {
            nix::errno::Errno::EPERM => SpoolError::NoPermissionToChown {
                path: path.to_path_buf(),
                uid: owner.0.map(|u| u.as_raw()),
                gid: owner.1.map(|g| g.as_raw()),
            },
            e => io_err("chown", path)(e.into()),
        })?;
    }
    // The umask may have removed bits of the mode; chown may clear some too.
    if owner.0.is_some() || owner.1.is_some() || umask().is_none_or(|m| m & cf.mode != 0) {
        file.set_permissions(fs::Permissions::from_mode(cf.mode))
            .map_err(io_err("chmod", path))?;
    }
    if let Some(t) = mtime {
        file.set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .map_err(io_err("set the mtime of", path))?;
    }
    if fsync {
        file.sync_all().map_err(io_err("fsync", path))?;
    }
    Ok(())
}

/// Renames without replacing: an existing file of that name may be a call Asterisk is dialing.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => return Ok(()),
            // Filesystems without RENAME_NOREPLACE: fall back below.
            Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::from(ErrorKind::AlreadyExists));
    }
    fs::rename(from, to)
}

/// Renames a staged file into the spool directory; on error the staged file is removed.
pub(crate) fn commit(cf: &CallFile, s: &Staged) -> Result<(), SpoolError> {
    rename_noreplace(&s.staged, &s.target).map_err(|e| {
        s.discard();
        match e.raw_os_error() {
            Some(libc_exdev) if libc_exdev == nix::errno::Errno::EXDEV as i32 => {
                SpoolError::CrossFilesystem {
                    staging: cf.staging_dir(),
                    spool: cf.spool_dir.clone(),
                }
            }
            _ => match e.kind() {
                ErrorKind::AlreadyExists => SpoolError::AlreadyExists {
                    path: s.target.clone(),
                },
                ErrorKind::NotFound if !cf.spool_dir.is_dir() => SpoolError::MissingDir {
                    field: Field::SpoolDir,
                    path: cf.spool_dir.clone(),
                },
                ErrorKind::PermissionDenied => SpoolError::SpoolDirPermission {
                    field: Field::SpoolDir,
                    path: cf.spool_dir.clone(),
                    action: "rename files into",
                },
                _ => io_err("rename into", &s.target)(e),
            },
        }
    })
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl CallFile {
    /// Spools the file: dialed at `at` (an absolute instant), or now when `None`.
    /// Returns the path of the file in the spool directory. On error nothing is left behind,
    /// except for [`SpoolError::NotDurable`], where the file was spooled.
    ///
    /// An instant more than a second in the past is [`SpoolError::InvalidTime`]: a caller
    /// whose schedule may already have passed (catching up after a pause) passes `None` for
    /// those, e.g. `at.filter(|t| *t > Timestamp::now())`.
    pub fn spool(&self, at: Option<Timestamp>) -> Result<PathBuf, SpoolError> {
        let mtime = check_time(at)?;
        let owner = resolve_owner(self.user.as_deref(), self.group.as_deref())?;
        let durable = self.durability != Durability::None;
        let staged = stage(self, &self.render(), mtime, owner, durable)?;
        commit(self, &staged)?;
        if durable {
            sync_dir(&self.spool_dir).map_err(|source| SpoolError::NotDurable {
                path: staged.target.clone(),
                source,
            })?;
        }
        Ok(staged.target)
    }
}

/// What a batch spool did.
#[derive(Debug)]
pub struct BatchResult {
    /// Paths of the spooled files, in input order: `spooled[i]` is the file of `items[i]`.
    /// When `error` is set, the items from `spooled.len()` on were not spooled.
    pub spooled: Vec<PathBuf>,
    /// The first error, with the index of the item it concerns.
    pub error: Option<(usize, SpoolError)>,
}

impl BatchResult {
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Spools many files. Every file is staged first; an error then leaves nothing behind.
/// With [`Durability::GroupCommit`] the staged files are flushed with one `syncfs()` of each
/// staging filesystem, renamed, and each spool directory is synced once. With
/// [`Durability::EachFile`] every file is fsynced; with [`Durability::None`] nothing is.
pub fn spool_batch(items: &[(CallFile, Option<Timestamp>)], durability: Durability) -> BatchResult {
    let mut owners: HashMap<(Option<&str>, Option<&str>), Owner> = HashMap::new();
    let mut staged: Vec<Staged> = Vec::with_capacity(items.len());
    let fail = |staged: &[Staged], i: usize, e: SpoolError| {
        staged.iter().for_each(Staged::discard);
        BatchResult {
            spooled: Vec::new(),
            error: Some((i, e)),
        }
    };
    // Given names are checked up front, so that the common clash fails before any rename.
    let mut names = std::collections::HashSet::new();
    for (i, (cf, _)) in items.iter().enumerate() {
        if let Some(name) = &cf.filename {
            let target = cf.spool_dir.join(name);
            if !names.insert(target.clone()) || fs::symlink_metadata(&target).is_ok() {
                return fail(&[], i, SpoolError::AlreadyExists { path: target });
            }
        }
    }
    for (i, (cf, at)) in items.iter().enumerate() {
        let prepared = (|| {
            let mtime = check_time(*at)?;
            let key = (cf.user.as_deref(), cf.group.as_deref());
            let owner = match owners.get(&key) {
                Some(o) => *o,
                None => *owners.entry(key).or_insert(resolve_owner(key.0, key.1)?),
            };
            stage(
                cf,
                &cf.render(),
                mtime,
                owner,
                durability == Durability::EachFile,
            )
        })();
        match prepared {
            Ok(s) => staged.push(s),
            Err(e) => return fail(&staged, i, e),
        }
    }
    if durability == Durability::GroupCommit {
        let mut synced: Vec<PathBuf> = Vec::new();
        for (i, (cf, _)) in items.iter().enumerate() {
            let dir = cf.staging_dir();
            if synced.contains(&dir) {
                continue;
            }
            let r = File::open(&dir).and_then(|d| nix::unistd::syncfs(&d).map_err(io::Error::from));
            if let Err(e) = r {
                return fail(&staged, i, io_err("syncfs", &dir)(e));
            }
            synced.push(dir);
        }
    }
    let mut spooled = Vec::with_capacity(items.len());
    for (i, ((cf, _), s)) in items.iter().zip(&staged).enumerate() {
        if let Err(e) = commit(cf, s) {
            staged[i + 1..].iter().for_each(Staged::discard);
            return BatchResult {
                spooled,
                error: Some((i, e)),
            };
        }
        spooled.push(s.target.clone());
    }
    if durability != Durability::None {
        let mut synced: Vec<&Path> = Vec::new();
        for (i, (cf, _)) in items.iter().enumerate() {
            if synced.contains(&cf.spool_dir.as_path()) {
                continue;
            }
            if let Err(source) = sync_dir(&cf.spool_dir) {
                return BatchResult {
                    spooled,
                    error: Some((
                        i,
                        SpoolError::NotDurable {
                            path: cf.spool_dir.clone(),
                            source,
                        },
                    )),
                };
            }
            synced.push(&cf.spool_dir);
        }
    }
    BatchResult {
        spooled,
        error: None,
    }
}
