//! Start-up checks and `dialout doctor`: the configuration against this machine.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::config::AsteriskConfig;
use crate::shared::check::{Check, fail, pass};
use crate::tts::Tts;

/// Whether a `rename()` from `staging` into `spool` works, tried with an empty directory
/// (Asterisk skips directories in its spool, so the probe is never dialed).
pub fn probe_rename(staging: &Path, spool: &Path) -> Result<(), String> {
    let probe = format!(".dialout-probe-{}", uuid::Uuid::now_v7().simple());
    let from = staging.join(&probe);
    let to = spool.join(&probe);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&from)
        .map_err(|e| format!("cannot create {}: {e}", from.display()))?;
    let renamed = fs::rename(&from, &to);
    let _ = fs::remove_dir(&from);
    let _ = fs::remove_dir(&to);
    match renamed {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc_exdev()) => Err(format!(
            "{} is on another filesystem than {} (rename gives EXDEV): Asterisk would see half-written files if dialout copied them; put staging_dir on the spool's filesystem (the default, a subdirectory of spool_dir, always is)",
            staging.display(),
            spool.display()
        )),
        Err(e) => Err(format!(
            "cannot rename from {} into {}: {e}",
            staging.display(),
            spool.display()
        )),
    }
}

fn libc_exdev() -> i32 {
    nix::errno::Errno::EXDEV as i32
}

/// Removes call files a crash left half-staged (Asterisk never sees the staging dir, so they
/// are clutter, not calls). Only ours, and only old ones: another process may be staging now.
pub fn sweep_staging(staging: &Path, older_than: std::time::Duration) -> usize {
    let Ok(rd) = fs::read_dir(staging) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.contains("-dialout-") && name.ends_with(".call")) {
            continue;
        }
        let old = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|a| a >= older_than);
        if old && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The directories dialout creates at start-up when they are missing, with their modes:
/// staging is dialout's own; Asterisk's group reads the audio and archives, and the
/// dialplan writes the reports.
pub fn created_dirs(config: &AsteriskConfig) -> [(&'static str, &Path, u32); 4] {
    [
        ("staging_dir", &config.staging_dir, 0o700),
        ("done_dir", &config.done_dir, 0o750),
        ("audio_dir", &config.audio_dir, 0o750),
        ("report_dir", &config.report_dir, 0o770),
    ]
}

/// Creates a directory (and its missing parents) with `mode`, each given to user/group, so
/// that Asterisk can reach it: a parent left to root with mode 0750 would lock it out.
pub fn ensure_dir(dir: &Path, mode: u32, config: &AsteriskConfig) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = vec![];
    let mut p = Some(dir);
    while let Some(d) = p {
        if d.exists() {
            break;
        }
        missing.push(d);
        p = d.parent();
    }
    let (uid, gid) = owner_ids(config)?;
    for d in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(mode).create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", d.display())),
        }
        // The umask may have narrowed the mode.
        fs::set_permissions(d, fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", d.display()))?;
        if uid.is_some() || gid.is_some() {
            nix::unistd::chown(d, uid, gid)
                .map_err(|e| format!("cannot give {} to the Asterisk user: {e}", d.display()))?;
        }
    }
    Ok(())
}

/// The configured user and group as ids (the group defaults to the user's primary group).
pub fn owner_ids(
    config: &AsteriskConfig,
) -> Result<(Option<nix::unistd::Uid>, Option<nix::unistd::Gid>), String> {
    let mut uid = None;
    let mut gid = None;
    if let Some(u) = &config.user {
        let user = nix::unistd::User::from_name(u)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no such user {u:?}"))?;
        uid = Some(user.uid);
        gid = Some(user.gid);
    }
    if let Some(g) = &config.group {
        let group = nix::unistd::Group::from_name(g)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no such group {g:?}"))?;
        gid = Some(group.gid);
    }
    Ok((uid, gid))
}

/// Writes and removes a file in `dir`.
fn probe_write(dir: &Path) -> io::Result<()> {
    let p = dir.join(format!(".dialout-probe-{}", uuid::Uuid::now_v7().simple()));
    fs::write(&p, b"")?;
    fs::remove_file(&p)
}

fn dir_check(key: &str, dir: &Path, fix_missing: &str) -> Check {
    if !dir.is_dir() {
        return fail(format!("{key} {} exists", dir.display()), fix_missing);
    }
    match probe_write(dir) {
        Ok(()) => pass(format!("{key} {} exists and is writable", dir.display())),
        Err(e) => fail(
            format!("{key} {} is writable ({e})", dir.display()),
            format!("give this user write access to {}", dir.display()),
        ),
    }
}

/// A directory dialout creates at start-up. The doctor only looks: a missing one passes
/// when dialout will be able to create it, and nothing is created here (a check must not
/// mend what it flags: a typo in a path would become a wrong directory).
fn created_dir_check(key: &str, dir: &Path, mode: u32, config: &AsteriskConfig) -> Check {
    if dir.is_dir() {
        return dir_check(key, dir, "");
    }
    let what = format!("{key} {} can be created", dir.display());
    if !config.spool_dir.is_dir() && dir.starts_with(&config.spool_dir) {
        return fail(
            what,
            format!(
                "it lies inside spool_dir {}, which does not exist: fix spool_dir first",
                config.spool_dir.display()
            ),
        );
    }
    if let Err(e) = owner_ids(config) {
        return fail(
            what,
            format!("it would be given to the Asterisk user, but {e}: fix user/group first"),
        );
    }
    let Some(existing) = dir.ancestors().skip(1).find(|a| a.is_dir()) else {
        return fail(what, "no parent directory of it exists");
    };
    match probe_write(existing) {
        Ok(()) => pass(format!(
            "{key} {} does not exist yet; dialout creates it at start-up (mode {mode:o}) in {}",
            dir.display(),
            existing.display()
        )),
        Err(e) => fail(
            what,
            format!(
                "{} is not writable ({e}); create {} (mode {mode:o}) owned by the Asterisk user",
                existing.display(),
                dir.display()
            ),
        ),
    }
}

/// Where Asterisk's configuration lives on a standard install.
pub const ASTERISK_ETC: &str = "/etc/asterisk";

/// Whether `extensions.conf` (or a file it `#include`s) defines the context. Only a hint: a
/// dialplan held in a database or another PBX host cannot be checked from here.
pub fn dialplan_check(context: &str, etc: &Path) -> Check {
    let main = etc.join("extensions.conf");
    let Ok(text) = fs::read_to_string(&main) else {
        return pass(format!(
            "dialplan: {} is not on this machine; make sure the PBX has the [{context}] context (`dialout asterisk dialplan`)",
            main.display()
        ));
    };
    let header = format!("[{context}]");
    let mut files = vec![];
    for line in text.lines() {
        let l = line.trim();
        let rest = l
            .strip_prefix("#include")
            .or_else(|| l.strip_prefix("#tryinclude"));
        if let Some(rest) = rest {
            let name = rest
                .trim()
                .trim_matches('"')
                .trim_matches('<')
                .trim_matches('>');
            let p = if Path::new(name).is_absolute() {
                PathBuf::from(name)
            } else {
                etc.join(name)
            };
            if let Ok(t) = fs::read_to_string(&p) {
                files.push((p, t));
            }
        }
    }
    files.insert(0, (main.clone(), text));
    for (path, text) in &files {
        if text.lines().any(|l| {
            l.trim()
                .split(';')
                .next()
                .unwrap_or("")
                .trim_end()
                .starts_with(&header)
        }) {
            return pass(format!(
                "dialplan: [{context}] is defined in {}",
                path.display()
            ));
        }
    }
    fail(
        format!(
            "dialplan: [{context}] is defined in {} or a file it includes",
            main.display()
        ),
        format!(
            "dialout asterisk dialplan > {0}/dialout.conf; add `#include dialout.conf` to {0}/extensions.conf; asterisk -rx \"dialplan reload\"",
            etc.display()
        ),
    )
}

/// Whether `app_amd` can load: it declines to without `amd.conf`, and `AMD()` is then "No
/// application" (the call hangs up right after the answer). Only messages with a machine
/// policy run `AMD()`; a plain message never needs it.
pub fn amd_check(etc: &Path) -> Check {
    if !etc.join("extensions.conf").is_file() {
        return pass(format!(
            "machine detection: {} is not on this machine; messages with a machine policy need {}/amd.conf on the PBX (app_amd does not load without it)",
            etc.display(),
            etc.display()
        ));
    }
    let conf = etc.join("amd.conf");
    if conf.is_file() {
        pass(format!(
            "machine detection: {} exists (app_amd loads)",
            conf.display()
        ))
    } else {
        fail(
            format!(
                "machine detection: {} exists (app_amd does not load without it; messages with a machine policy would hang up at AMD())",
                conf.display()
            ),
            format!(
                "copy Asterisk's configs/samples/amd.conf.sample to {}, then asterisk -rx \"module load app_amd.so\" (or send no message with a machine policy through this backend)",
                conf.display()
            ),
        )
    }
}

/// Every check, in the order an admin fixes things. Nothing is created or changed except
/// probe files that are removed at once.
pub fn doctor(config: &AsteriskConfig, tts: &dyn Tts, etc: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(dir_check(
        "spool_dir",
        &config.spool_dir,
        "is Asterisk installed? set spool_dir to <astspooldir>/outgoing (asterisk.conf)",
    ));
    // What dialout creates at start-up is checked for whether it can be, never created.
    let [staging, done, audio, report] =
        created_dirs(config).map(|(key, dir, mode)| created_dir_check(key, dir, mode, config));
    out.push(staging);
    if config.spool_dir.is_dir() && config.staging_dir.is_dir() {
        out.push(match probe_rename(&config.staging_dir, &config.spool_dir) {
            Ok(()) => pass(
                "staging_dir and spool_dir are on one filesystem (a rename between them works)",
            ),
            Err(e) => fail("staging_dir and spool_dir are on one filesystem", e),
        });
    }
    out.push(done);
    match owner_ids(config) {
        Ok((uid, _)) => {
            out.push(pass(match (&config.user, &config.group) {
                (None, None) => "no user/group set: spooled files belong to the user running dialout (run it as the Asterisk user)".to_string(),
                _ => "the user and group exist".to_string(),
            }));
            let me = nix::unistd::geteuid();
            if let Some(uid) = uid
                && uid != me
                && !me.is_root()
            {
                out.push(fail(
                    format!("this process (uid {me}) can give files to uid {uid}"),
                    "run dialout as root (or with CAP_CHOWN), or as the Asterisk user with no `user` set",
                ));
            }
        }
        Err(e) => out.push(fail(
            format!("user/group: {e}"),
            "set `user` (and `group`) to the account Asterisk runs as, e.g. asterisk",
        )),
    }
    out.push(match tts.check(&config.voice) {
        Ok(version) => pass(format!(
            "{} installed ({version}), voice {:?} known",
            tts.name(),
            config.voice
        )),
        Err(e) => fail(
            format!("{} with voice {:?}", tts.name(), config.voice),
            e.to_string(),
        ),
    });
    out.push(audio);
    out.push(dialplan_check(&config.context, etc));
    out.push(amd_check(etc));
    out.push(report);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd_needs_its_configuration_file() {
        let etc = tempfile::tempdir().unwrap();
        assert!(amd_check(etc.path()).ok, "not a PBX machine: only a hint");
        fs::write(etc.path().join("extensions.conf"), "").unwrap();
        let missing = amd_check(etc.path());
        assert!(!missing.ok && missing.fix.unwrap().contains("amd.conf.sample"));
        fs::write(etc.path().join("amd.conf"), "[general]\n").unwrap();
        assert!(amd_check(etc.path()).ok);
    }

    #[test]
    fn dialplan_is_found_through_an_include() {
        let etc = tempfile::tempdir().unwrap();
        assert!(
            dialplan_check("dialout-message", etc.path()).ok,
            "no extensions.conf: nothing to check here"
        );
        fs::write(
            etc.path().join("extensions.conf"),
            "[general]\n[default]\nexten => 1,1,NoOp()\n",
        )
        .unwrap();
        let missing = dialplan_check("dialout-message", etc.path());
        assert!(!missing.ok && missing.fix.unwrap().contains("#include dialout.conf"));
        fs::write(
            etc.path().join("extensions.conf"),
            "[general]\n#include \"dialout.conf\"\n",
        )
        .unwrap();
        fs::write(etc.path().join("dialout.conf"), super::super::DIALPLAN).unwrap();
        let found = dialplan_check("dialout-message", etc.path());
        assert!(
            found.ok && found.what.contains("dialout.conf"),
            "{}",
            found.what
        );
        assert!(!dialplan_check("other", etc.path()).ok);
    }

    #[test]
    fn missing_parents_are_created_with_the_mode() {
        let root = tempfile::tempdir().unwrap();
        let config = AsteriskConfig::from_table(
            "t",
            &toml::from_str("channel = \"PJSIP/{number}\"").unwrap(),
        )
        .unwrap();
        let leaf = root.path().join("a/b/c");
        ensure_dir(&leaf, 0o750, &config).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            let mode = fs::metadata(root.path().join(d))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o750, "{d}");
        }
        ensure_dir(&leaf, 0o750, &config).unwrap();
    }

    #[test]
    fn rename_probe_works_on_one_filesystem_and_leaves_nothing() {
        let spool = tempfile::tempdir().unwrap();
        let staging = spool.path().join(".stage");
        fs::create_dir(&staging).unwrap();
        probe_rename(&staging, spool.path()).unwrap();
        assert_eq!(
            fs::read_dir(spool.path()).unwrap().count(),
            1,
            "only the staging dir remains"
        );
        assert_eq!(fs::read_dir(&staging).unwrap().count(), 0);
    }
}
