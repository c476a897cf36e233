//! Helpers shared by the fake Asterisk's tests.
#![allow(dead_code)]

use std::fs::{self, File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use dialout_testkit::fake_asterisk::{Callees, FakeAsterisk};

/// The dialplan dialout ships (roughly), as the brief gives it.
pub const SHIPPED: &str = "\
[dialout-message]
exten => s,1,Answer()
 same => n,Set(FILE(${DIALOUT_REPORT},,,al,u)=${EPOCH} ${DIALOUT_ID} answered ${AST_OUTGOING_ATTEMPT})
 same => n,Playback(${DIALOUT_AUDIO})
 same => n,Set(FILE(${DIALOUT_REPORT},,,al,u)=${EPOCH} ${DIALOUT_ID} complete ${AST_OUTGOING_ATTEMPT})
 same => n,Hangup()
exten => failed,1,Set(FILE(${DIALOUT_REPORT},,,al,u)=${EPOCH} ${DIALOUT_ID} failed ${AST_OUTGOING_ATTEMPT} ${REASON})
exten => h,1,NoOp(hangup ${DIALOUT_ID})
";

/// Fake start time: a round number so expected timestamps are readable.
pub const T0: i64 = 1_800_000_000;

pub struct Spool {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub outgoing: PathBuf,
    pub done: PathBuf,
    pub staging: PathBuf,
}

impl Spool {
    pub fn new() -> Spool {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        let outgoing = root.join("outgoing");
        let staging = root.join("staging");
        fs::create_dir_all(&outgoing).unwrap();
        fs::create_dir_all(&staging).unwrap();
        Spool {
            done: root.join("outgoing_done"),
            _tmp: tmp,
            root,
            outgoing,
            staging,
        }
    }

    /// Stage, set the mtime, rename into `outgoing` (the right way to spool).
    pub fn spool_at(&self, name: &str, content: &[u8], mtime_unix: i64) {
        let staged = self.staging.join(name);
        fs::write(&staged, content).unwrap();
        set_mtime(&staged, mtime_unix);
        fs::rename(&staged, self.outgoing.join(name)).unwrap();
    }

    /// Spool with mtime T0 (due at once for a fake started at T0).
    pub fn spool(&self, name: &str, content: &str) {
        self.spool_at(name, content.as_bytes(), T0);
    }

    pub fn fake(&self) -> FakeAsterisk {
        self.fake_with(Callees::default())
    }

    pub fn fake_with(&self, callees: Callees) -> FakeAsterisk {
        FakeAsterisk::builder(&self.outgoing)
            .start_at_unix(T0)
            .callees(callees)
            .build()
            .unwrap()
    }

    pub fn archived(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.done.join(name)).ok()
    }

    pub fn in_spool(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.outgoing.join(name)).ok()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

pub fn set_mtime(path: &Path, unix: i64) {
    let t = UNIX_EPOCH + Duration::from_secs(unix as u64);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(t))
        .unwrap();
}

pub fn mtime(path: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().mtime()
}

/// A WAV file of `secs` seconds at `rate` Hz, mono 16-bit.
pub fn wav(path: &Path, secs: f64, rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for _ in 0..((secs * f64::from(rate)) as usize) {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
}

/// A minimal Application-form call file.
pub fn app_call(channel: &str, extra: &str) -> String {
    format!("Channel: {channel}\nApplication: NoOp\nData: hello\n{extra}")
}

/// A Context-form call file into the shipped dialplan.
pub fn message_call(channel: &str, id: &str, report: &Path, audio: &Path, extra: &str) -> String {
    format!(
        "Channel: {channel}\nContext: dialout-message\nExtension: s\nPriority: 1\n\
         Set: DIALOUT_ID={id}\nSet: DIALOUT_REPORT={}\nSet: DIALOUT_AUDIO={}\n{extra}",
        report.display(),
        audio.display()
    )
}
