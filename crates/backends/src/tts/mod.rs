//! Text-to-speech: a message's content rendered to audio Asterisk can play (8 kHz mono
//! 16-bit WAV), cached by a hash of text and voice. The content never goes into a call file.

mod cache;
mod espeak;
mod resample;

pub use cache::{AudioCache, AudioFile};
pub use espeak::EspeakNg;
pub use resample::to_telephony;

/// Sample rate Asterisk's `.wav` format plays.
pub const TELEPHONY_RATE: u32 = 8000;

/// Mono 16-bit audio as an engine produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

impl Audio {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// A speech engine. Another one (a cloud API, piper, ...) plugs in here.
pub trait Tts: Send + Sync {
    /// A short stable name; part of the cache key, so engines never share audio.
    fn name(&self) -> &str;

    /// Checks that the engine is installed and knows `voice`; called at start-up so that a
    /// missing engine is a clear error before any message is taken. Returns a version line.
    fn check(&self, voice: &str) -> Result<String, TtsError>;

    /// Speaks `text` with `voice`: mono 16-bit samples at the engine's own rate.
    fn speak(&self, text: &str, voice: &str) -> Result<Audio, TtsError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TtsError {
    #[error(
        "text-to-speech engine {engine} is not installed ({reason}); on Debian: apt-get install -y {package}"
    )]
    Missing {
        engine: String,
        package: String,
        reason: String,
    },
    #[error("text-to-speech voice {voice:?} is not known to {engine}: {reason}")]
    UnknownVoice {
        engine: String,
        voice: String,
        reason: String,
    },
    #[error("text-to-speech failed: {0}")]
    Engine(String),
    #[error("nothing to speak: the text is empty")]
    EmptyText,
    #[error("audio conversion failed: {0}")]
    Convert(String),
    #[error("audio file {path}: {reason}")]
    Io { path: String, reason: String },
}
