//! Spools N call files (default 10,000) per series, in one process, and prints files per
//! second: a raw `std::fs::write` + `rename` loop (no fsync: the limit), `CallFile::spool`
//! with `Durability::None` (pycall's durability), `spool_batch` with `Durability::None` and
//! with `Durability::GroupCommit` (durable batch), and `Durability::EachFile` (durable one by
//! one). The raw loop and `Durability::None` run twice, interleaved, and the best of each is
//! compared, so that a burst of disk activity from elsewhere does not decide the ratio.
//!
//! `cargo run --release -p dialout-callfile --example spool_bench [-- N [BASE_DIR]]`
//!
//! Each series writes into a fresh directory under BASE_DIR (default: a new temp dir on /tmp).
//! Nothing is deleted, during or after the run: deleting many files slows file creation on
//! this disk for a minute. Remove BASE_DIR yourself, and not right before another run.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dialout_callfile::{Action, Call, CallFile, Durability, spool_batch};

fn callfile(spool: &Path, durability: Durability, i: usize) -> CallFile {
    let call = Call::builder()
        .channel(format!("SIP/flowroute/1800222{i:04}"))
        .callerid("\"Dialout\" <5555555555>")
        .var("MESSAGE_ID", i.to_string())
        .max_retries(2)
        .build()
        .unwrap();
    CallFile::builder()
        .call(call)
        .action(Action::application("Playback", "hello-world"))
        .archive(true)
        .spool_dir(spool)
        .durability(durability)
        .build()
        .unwrap()
}

fn fresh(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    fs::create_dir(&dir).unwrap();
    fs::create_dir(dir.join(".dialout-staging")).unwrap();
    dir
}

/// Dirty page cache of the whole machine (MiB): other writers slow file creation and syncfs.
fn dirty_mib() -> u64 {
    let info = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = info
        .lines()
        .find_map(|l| l.strip_prefix("Dirty:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    kib / 1024
}

/// Files per second of one series; `prepare` runs before the clock starts.
fn series<T>(
    base: &Path,
    name: &str,
    n: usize,
    prepare: impl Fn(&Path) -> T,
    run: impl Fn(&Path, &T),
) -> f64 {
    let dir = fresh(base, name);
    let input = prepare(&dir);
    let dirty_before = dirty_mib();
    let t = Instant::now();
    run(&dir, &input);
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let dirty_after = dirty_mib();
    let count = fs::read_dir(&dir).unwrap().count() - 1; // minus the staging dir
    assert_eq!(count, n, "{name}: every file is in the spool dir");
    println!(
        "  {name:<40} {rate:>8.0} files/s   (dirty page cache before/after: {dirty_before}/{dirty_after} MiB)"
    );
    rate
}

fn raw(base: &Path, name: &str, n: usize) -> f64 {
    series(
        base,
        name,
        n,
        |dir| {
            (0..n)
                .map(|i| callfile(dir, Durability::None, i).render())
                .collect::<Vec<_>>()
        },
        |dir, texts| {
            for (i, text) in texts.iter().enumerate() {
                let staged = dir.join(".dialout-staging").join(format!("{i}.call"));
                fs::write(&staged, text).unwrap();
                fs::rename(&staged, dir.join(format!("{i}.call"))).unwrap();
            }
        },
    )
}

/// The durable limit: the raw loop, then one `syncfs` (data, inodes and directory at once).
fn raw_synced(base: &Path, name: &str, n: usize) -> f64 {
    series(
        base,
        name,
        n,
        |dir| {
            (0..n)
                .map(|i| callfile(dir, Durability::None, i).render())
                .collect::<Vec<_>>()
        },
        |dir, texts| {
            for (i, text) in texts.iter().enumerate() {
                let staged = dir.join(".dialout-staging").join(format!("{i}.call"));
                fs::write(&staged, text).unwrap();
                fs::rename(&staged, dir.join(format!("{i}.call"))).unwrap();
            }
            nix::unistd::syncfs(fs::File::open(dir).unwrap()).unwrap();
        },
    )
}

fn one_by_one(base: &Path, name: &str, n: usize, d: Durability) -> f64 {
    series(
        base,
        name,
        n,
        |dir| (0..n).map(|i| callfile(dir, d, i)).collect::<Vec<_>>(),
        |_, files| {
            for cf in files {
                cf.spool(None).unwrap();
            }
        },
    )
}

fn batch(base: &Path, name: &str, n: usize, d: Durability) -> f64 {
    series(
        base,
        name,
        n,
        |dir| {
            (0..n)
                .map(|i| (callfile(dir, d, i), None))
                .collect::<Vec<_>>()
        },
        |_, items| {
            let r = spool_batch(items, d);
            assert!(r.is_ok() && r.spooled.len() == n, "{:?}", r.error);
        },
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse().expect("N is a number"))
        .unwrap_or(10_000);
    // Kept afterwards: deleting ~80,000 files would slow file creation (this run's next
    // series, or anyone's) for a minute.
    let base = match args.next() {
        Some(b) => PathBuf::from(b),
        None => tempfile::Builder::new()
            .prefix("spool-bench-")
            .tempdir()
            .unwrap()
            .keep(),
    };
    // A BASE_DIR that does not exist yet is made (with its parents).
    fs::create_dir_all(&base).unwrap_or_else(|e| panic!("cannot create {}: {e}", base.display()));
    println!("spooling {n} call files per series into {}", base.display());
    let raw1 = raw(&base, "raw write+rename #1", n);
    let none1 = one_by_one(&base, "spool, Durability::None #1", n, Durability::None);
    let raw2 = raw(&base, "raw write+rename #2", n);
    let none2 = one_by_one(&base, "spool, Durability::None #2", n, Durability::None);
    let batch_none = batch(&base, "spool_batch, Durability::None", n, Durability::None);
    // syncfs also flushes whatever else is dirty on the filesystem: interleave, keep the best.
    let synced1 = raw_synced(&base, "raw write+rename, then one syncfs #1", n);
    let group1 = batch(
        &base,
        "spool_batch, GroupCommit #1",
        n,
        Durability::GroupCommit,
    );
    let group2 = batch(
        &base,
        "spool_batch, GroupCommit #2",
        n,
        Durability::GroupCommit,
    );
    let synced2 = raw_synced(&base, "raw write+rename, then one syncfs #2", n);
    let (synced, group) = (synced1.max(synced2), group1.max(group2));
    let each = one_by_one(
        &base,
        "spool, Durability::EachFile",
        n,
        Durability::EachFile,
    );

    let raw = raw1.max(raw2);
    let none = none1.max(none2);
    println!(
        "\n{:<40} {:>12} {:>8}",
        "series (best run)", "files/s", "× raw"
    );
    for (name, rate) in [
        ("raw write+rename (no fsync)", raw),
        ("spool, Durability::None (pycall)", none),
        ("spool_batch, Durability::None", batch_none),
        ("raw write+rename, then one syncfs", synced),
        ("spool_batch, Durability::GroupCommit", group),
        ("spool, Durability::EachFile", each),
    ] {
        println!("{name:<40} {rate:>12.0} {:>8.3}", rate / raw);
    }
    println!(
        "files left in {} (remove them when no benchmark runs)",
        base.display()
    );
    println!(
        "goals: Durability::None ≥ 0.8 × raw: {} ({:.3}); durable batch ≥ 10,000 files/s: {} ({group:.0}); \
         group commit = {:.1} × one-by-one durable",
        if none >= 0.8 * raw { "met" } else { "NOT met" },
        none / raw,
        if group >= 10_000.0 { "met" } else { "NOT met" },
        group / each,
    );
}
