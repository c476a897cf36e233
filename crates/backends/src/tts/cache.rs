//! Audio files by hash of engine, voice and text: a text said a thousand times is rendered
//! once. Written atomically (temp file + rename), mode 0640, so the Asterisk group can read
//! it and nobody else can.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use nix::unistd::{Gid, Uid};
use sha2::{Digest, Sha256};

use super::{TELEPHONY_RATE, Tts, TtsError, to_telephony};

const EXT: &str = "wav";
const TMP_PREFIX: &str = ".tmp-";

/// A rendered message in the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFile {
    pub key: String,
    /// The `.wav` file.
    pub path: PathBuf,
}

impl AudioFile {
    /// What `Playback()` takes: the path without its extension.
    pub fn playback_name(&self) -> PathBuf {
        self.path.with_extension("")
    }

    /// How long it plays, from the WAV header (a cached file included).
    pub fn duration(&self) -> Result<std::time::Duration, TtsError> {
        let r = hound::WavReader::open(&self.path).map_err(|e| io_err(&self.path, e))?;
        let rate = r.spec().sample_rate.max(1);
        Ok(std::time::Duration::from_secs_f64(
            f64::from(r.duration()) / f64::from(rate),
        ))
    }
}

pub struct AudioCache {
    dir: PathBuf,
    tts: Arc<dyn Tts>,
    user: Option<Uid>,
    group: Option<Gid>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TtsError {
    TtsError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

impl AudioCache {
    /// `user`/`group`: owner to give the files (needs root for another user).
    pub fn new(
        dir: impl Into<PathBuf>,
        tts: Arc<dyn Tts>,
        user: Option<Uid>,
        group: Option<Gid>,
    ) -> Self {
        AudioCache {
            dir: dir.into(),
            tts,
            user,
            group,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn tts(&self) -> &Arc<dyn Tts> {
        &self.tts
    }

    /// The cache key: a hash of engine, voice and text (hex, 32 characters).
    pub fn key(&self, text: &str, voice: &str) -> String {
        let mut h = Sha256::new();
        for part in [self.tts.name(), voice, text] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.{EXT}"))
    }

    /// The audio of `text` spoken with `voice`, rendered now unless already cached.
    pub fn ensure(&self, text: &str, voice: &str) -> Result<AudioFile, TtsError> {
        let key = self.key(text, voice);
        let path = self.path_of(&key);
        if path.is_file() {
            // A fresh mtime keeps a cleanup running right now from removing it.
            if let Ok(f) = OpenOptions::new().write(true).open(&path) {
                let _ = f.set_modified(SystemTime::now());
            }
            return Ok(AudioFile { key, path });
        }
        let audio = to_telephony(&self.tts.speak(text, voice)?)?;
        let tmp = self.dir.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let written = self
            .write_wav(&tmp, &audio.samples)
            .and_then(|()| fs::rename(&tmp, &path).map_err(|e| io_err(&path, e)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map(|()| AudioFile { key, path })
    }

    fn write_wav(&self, tmp: &Path, samples: &[i16]) -> Result<(), TtsError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(tmp)
            .map_err(|e| io_err(tmp, e))?;
        if self.user.is_some() || self.group.is_some() {
            nix::unistd::fchown(&file, self.user, self.group)
                .map_err(|e| io_err(tmp, format!("cannot give the file to its owner: {e}")))?;
        }
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: TELEPHONY_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| io_err(tmp, e))?;
        for &s in samples {
            w.write_sample(s).map_err(|e| io_err(tmp, e))?;
        }
        w.finalize().map_err(|e| io_err(tmp, e))?;
        File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err(tmp, e))
    }

    /// Removes cached audio whose key is not in `keep` and that was not used for `min_age`
    /// (so audio rendered for a message being published right now stays), and temporary
    /// files left by a crash. Returns how many files were removed.
    pub fn cleanup(&self, keep: &HashSet<String>, min_age: Duration) -> Result<usize, TtsError> {
        let now = SystemTime::now();
        let mut removed = 0;
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_err(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with(TMP_PREFIX)
                || name
                    .strip_suffix(".wav")
                    .is_some_and(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()));
            let needed = name.strip_suffix(".wav").is_some_and(|k| keep.contains(k));
            if !ours || needed {
                continue;
            }
            let age = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|m| now.duration_since(m).ok());
            if age.is_some_and(|a| a >= min_age) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tts::{Audio, EspeakNg};
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fails with a message saying what to install, rather than skipping.
    fn espeak() -> Arc<dyn Tts> {
        let e = EspeakNg::new();
        if let Err(err) = e.check("en") {
            panic!("these tests need espeak-ng: {err}");
        }
        Arc::new(e)
    }

    fn wav_info(path: &Path) -> (hound::WavSpec, f64) {
        let r = hound::WavReader::open(path).unwrap();
        let spec = r.spec();
        let secs = f64::from(r.duration()) / f64::from(spec.sample_rate);
        (spec, secs)
    }

    #[test]
    fn espeak_output_is_asterisk_wav_and_grows_with_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AudioCache::new(dir.path(), espeak(), None, None);
        let short = cache.ensure("Hello.", "en").unwrap();
        let long = cache
            .ensure("Hello. Your order number four two seven has shipped and will arrive on Tuesday afternoon.", "en")
            .unwrap();
        let bytes = fs::read(&short.path).unwrap();
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 1, "PCM");
        assert_eq!(u16::from_le_bytes([bytes[22], bytes[23]]), 1, "mono");
        assert_eq!(
            u32::from_le_bytes(bytes[24..28].try_into().unwrap()),
            8000,
            "8 kHz"
        );
        assert_eq!(u16::from_le_bytes([bytes[34], bytes[35]]), 16, "16-bit");
        let (spec, short_secs) = wav_info(&short.path);
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (8000, 1, 16)
        );
        let (_, long_secs) = wav_info(&long.path);
        assert!(short_secs > 0.2, "short text lasts {short_secs}s");
        assert!(
            long_secs > 3.0 * short_secs,
            "long {long_secs}s vs short {short_secs}s"
        );
        let mode = fs::metadata(&short.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(short.playback_name(), dir.path().join(&short.key));
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            2,
            "only the two audio files: {leftovers:?}"
        );
    }

    #[test]
    fn missing_engine_and_unknown_voice_are_clear_errors() {
        let missing = EspeakNg::with_program("/nonexistent/espeak-ng");
        let err = missing.check("en").unwrap_err();
        assert!(matches!(err, TtsError::Missing { .. }), "{err}");
        assert!(
            err.to_string().contains("apt-get install -y espeak-ng"),
            "{err}"
        );
        let err = EspeakNg::new().check("zzz-unknown").unwrap_err();
        assert!(matches!(err, TtsError::UnknownVoice { .. }), "{err}");
    }

    struct Counting(AtomicUsize);
    impl Tts for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn check(&self, _voice: &str) -> Result<String, TtsError> {
            Ok("counting 1".into())
        }
        fn speak(&self, text: &str, _voice: &str) -> Result<Audio, TtsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Audio {
                sample_rate: 16000,
                samples: vec![100; 1600 * text.len()],
            })
        }
    }

    #[test]
    fn cache_renders_once_per_text_and_voice_and_cleanup_keeps_what_is_needed() {
        let dir = tempfile::tempdir().unwrap();
        let tts = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = AudioCache::new(dir.path(), tts.clone(), None, None);
        let a = cache.ensure("abc", "en").unwrap();
        let a2 = cache.ensure("abc", "en").unwrap();
        let b = cache.ensure("abc", "cs").unwrap();
        let c = cache.ensure("other", "en").unwrap();
        assert_eq!(a, a2);
        assert_ne!(a.key, b.key, "the voice is part of the key");
        assert_eq!(tts.0.load(Ordering::SeqCst), 3);
        let (spec, secs) = wav_info(&c.path);
        assert_eq!(spec.sample_rate, 8000);
        assert!((secs - 0.5).abs() < 0.01, "{secs}");
        fs::write(dir.path().join("unrelated.txt"), "x").unwrap();

        let keep = HashSet::from([a.key.clone()]);
        assert_eq!(
            cache.cleanup(&keep, Duration::from_secs(3600)).unwrap(),
            0,
            "recently used audio stays"
        );
        assert_eq!(cache.cleanup(&keep, Duration::ZERO).unwrap(), 2);
        assert!(a.path.exists());
        assert!(!b.path.exists() && !c.path.exists());
        assert!(
            dir.path().join("unrelated.txt").exists(),
            "files that are not ours stay"
        );
    }

    #[test]
    fn empty_text_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AudioCache::new(dir.path(), espeak(), None, None);
        assert_eq!(cache.ensure("  ", "en").unwrap_err(), TtsError::EmptyText);
    }
}
