//! Spools N call files (default 10,000) four ways in one process and prints files per second:
//! a raw `std::fs::write` + `rename` loop (no fsync, the limit), `Durability::None` (pycall's
//! durability), `Durability::EachFile` and `spool_batch` with `Durability::GroupCommit`.
//!
//! `cargo run --release -p dialout-callfile --example spool_bench [-- N [BASE_DIR]]`
//!
//! Each series writes into a fresh directory under BASE_DIR (default: a new temp dir), and
//! nothing is deleted while a series runs (deleting many files slows file creation on this
//! disk). The directories are removed at the end.

use std::fs;
use std::path::Path;
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

fn fresh(base: &Path, name: &str) -> std::path::PathBuf {
    let dir = base.join(name);
    fs::create_dir(&dir).unwrap();
    fs::create_dir(dir.join(".staging")).unwrap();
    dir
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse().expect("N is a number")).unwrap_or(10_000);
    let tmp;
    let base = match args.next() {
        Some(b) => std::path::PathBuf::from(b),
        None => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_path_buf()
        }
    };
    println!("spooling {n} call files per series into {}", base.display());
    let mut results: Vec<(&str, f64)> = Vec::new();

    // 1. Raw limit: the same bytes, write + rename, nothing else.
    let dir = fresh(&base, "raw");
    let texts: Vec<String> = (0..n).map(|i| callfile(&dir, Durability::None, i).render()).collect();
    let t = Instant::now();
    for (i, text) in texts.iter().enumerate() {
        let staged = dir.join(".staging").join(format!("{i}.call"));
        fs::write(&staged, text).unwrap();
        fs::rename(&staged, dir.join(format!("{i}.call"))).unwrap();
    }
    results.push(("raw write+rename (no fsync)", n as f64 / t.elapsed().as_secs_f64()));

    // 2. pycall's durability: no fsync, but validated, owner-only mode, unique names, staged.
    let dir = fresh(&base, "none");
    let files: Vec<CallFile> = (0..n).map(|i| callfile(&dir, Durability::None, i)).collect();
    let t = Instant::now();
    for cf in &files {
        cf.spool(None).unwrap();
    }
    results.push(("spool, Durability::None", n as f64 / t.elapsed().as_secs_f64()));

    // 3a. The batch path without any flush, to show what the flush itself costs.
    let dir = fresh(&base, "batch-none");
    let items: Vec<(CallFile, Option<jiff::Timestamp>)> =
        (0..n).map(|i| (callfile(&dir, Durability::None, i), None)).collect();
    let t = Instant::now();
    let r = spool_batch(&items, Durability::None);
    let secs = t.elapsed().as_secs_f64();
    assert!(r.is_ok() && r.spooled.len() == n, "{:?}", r.error);
    results.push(("spool_batch, Durability::None", n as f64 / secs));

    // 3. Group commit: stage all, one syncfs, rename all, one directory fsync.
    let dir = fresh(&base, "batch");
    let items: Vec<(CallFile, Option<jiff::Timestamp>)> =
        (0..n).map(|i| (callfile(&dir, Durability::GroupCommit, i), None)).collect();
    let t = Instant::now();
    let r = spool_batch(&items, Durability::GroupCommit);
    let secs = t.elapsed().as_secs_f64();
    assert!(r.is_ok() && r.spooled.len() == n, "{:?}", r.error);
    results.push(("spool_batch, Durability::GroupCommit", n as f64 / secs));

    // 4. Durable one by one: fsync of each file and of the directory after each rename.
    let dir = fresh(&base, "each");
    let files: Vec<CallFile> = (0..n).map(|i| callfile(&dir, Durability::EachFile, i)).collect();
    let t = Instant::now();
    for cf in &files {
        cf.spool(None).unwrap();
    }
    results.push(("spool, Durability::EachFile", n as f64 / t.elapsed().as_secs_f64()));

    let raw = results[0].1;
    println!("{:<40} {:>12} {:>10}", "series", "files/s", "× raw");
    for (name, rate) in &results {
        println!("{name:<40} {rate:>12.0} {:>10.3}", rate / raw);
    }
    let none = results[1].1;
    let batch = results[3].1;
    println!(
        "goals: Durability::None ≥ 0.8 × raw: {} ({:.3}); durable batch ≥ 10,000 files/s: {} ({batch:.0})",
        if none >= 0.8 * raw { "met" } else { "NOT met" },
        none / raw,
        if batch >= 10_000.0 { "met" } else { "NOT met" },
    );
}
