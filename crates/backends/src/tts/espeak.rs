//! espeak-ng, run as a program. The text goes through stdin, never the command line, so a
//! message starting with `-` cannot become an option.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{Audio, Tts, TtsError};

pub struct EspeakNg {
    program: PathBuf,
}

impl EspeakNg {
    /// `espeak-ng` from PATH.
    pub fn new() -> Self {
        Self::with_program("espeak-ng")
    }

    pub fn with_program(program: impl Into<PathBuf>) -> Self {
        EspeakNg {
            program: program.into(),
        }
    }

    fn missing(&self, reason: String) -> TtsError {
        TtsError::Missing {
            engine: format!("espeak-ng ({})", self.program.display()),
            package: "espeak-ng".into(),
            reason,
        }
    }

    fn run(&self, args: &[&str], text: &str) -> Result<std::process::Output, TtsError> {
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.missing(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| TtsError::Engine(format!("writing the text to espeak-ng: {e}")))?;
        }
        child
            .wait_with_output()
            .map_err(|e| TtsError::Engine(e.to_string()))
    }
}

impl Default for EspeakNg {
    fn default() -> Self {
        Self::new()
    }
}

fn stderr_line(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    // `ExitStatus` displays as "exit status: 1" (or "signal: 9") on its own.
    format!("{}: {line}", out.status)
}

impl Tts for EspeakNg {
    fn name(&self) -> &str {
        "espeak-ng"
    }

    fn check(&self, voice: &str) -> Result<String, TtsError> {
        let out = self.run(&["--version"], "")?;
        if !out.status.success() {
            return Err(self.missing(stderr_line(&out)));
        }
        let version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        // Only with --stdout does an unknown voice fail; -q and -w fall back to the default.
        let probe = self.run(&["-v", voice, "--stdout", "ok"], "")?;
        if !probe.status.success() {
            return Err(TtsError::UnknownVoice {
                engine: "espeak-ng".into(),
                voice: voice.into(),
                reason: stderr_line(&probe),
            });
        }
        Ok(version)
    }

    fn speak(&self, text: &str, voice: &str) -> Result<Audio, TtsError> {
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        // --stdout, because only there an unknown voice fails (with -w it falls back silently).
        let out = self.run(&["--stdin", "-v", voice, "--stdout"], text)?;
        if !out.status.success() {
            return Err(TtsError::Engine(format!(
                "espeak-ng -v {voice}: {}",
                stderr_line(&out)
            )));
        }
        parse_streamed_wav(&out.stdout)
    }
}

/// Reads the WAV espeak-ng streams to stdout: its RIFF and data sizes are placeholders
/// (0x7ffff000), so the data runs to the end of the output whatever the header says.
pub(crate) fn parse_streamed_wav(bytes: &[u8]) -> Result<Audio, TtsError> {
    let bad = |why: &str| TtsError::Convert(format!("espeak-ng output is not a WAV file: {why}"));
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut pos = 12;
    let mut format: Option<(u16, u32, u16, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(pos + 4) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            if body + 16 > bytes.len() {
                return Err(bad("short fmt chunk"));
            }
            format = Some((
                u16_at(body),
                u32_at(body + 4),
                u16_at(body + 2),
                u16_at(body + 14),
            ));
        } else if id == b"data" {
            let (tag, rate, channels, bits) = format.ok_or_else(|| bad("data before fmt"))?;
            if tag != 1 || bits != 16 || channels == 0 {
                return Err(bad(&format!(
                    "expected 16-bit PCM, got format {tag}, {bits} bits, {channels} channels"
                )));
            }
            let data = &bytes[body..bytes.len().min(body.saturating_add(size))];
            let frame = usize::from(channels) * 2;
            let samples = data
                .chunks_exact(frame)
                .map(|f| {
                    let sum: i32 = f
                        .chunks_exact(2)
                        .map(|s| i32::from(i16::from_le_bytes([s[0], s[1]])))
                        .sum();
                    (sum / i32::from(channels)) as i16
                })
                .collect();
            return Ok(Audio {
                sample_rate: rate,
                samples,
            });
        }
        pos = body.saturating_add(size + (size & 1));
    }
    Err(bad("no data chunk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_says_its_status_once() {
        let out = std::process::Command::new("sh")
            .args(["-c", "echo '  ' >&2; echo 'voice not found' >&2; exit 3"])
            .output()
            .unwrap();
        assert_eq!(stderr_line(&out), "exit status: 3: voice not found");
    }

    #[test]
    fn streamed_header_placeholders_are_tolerated_and_garbage_refused() {
        let mut wav = b"RIFF\x24\xf0\xff\x7fWAVEfmt \x10\0\0\0\x01\0\x01\0\x22\x56\0\0\x44\xac\0\0\x02\0\x10\0data\0\xf0\xff\x7f".to_vec();
        wav.extend_from_slice(&[1, 0, 2, 0, 0xff, 0xff]);
        let audio = parse_streamed_wav(&wav).unwrap();
        assert_eq!(
            audio,
            Audio {
                sample_rate: 22050,
                samples: vec![1, 2, -1]
            }
        );
        assert!(parse_streamed_wav(b"hello").is_err());
        let mut stereo8 = wav.clone();
        stereo8[34] = 8;
        assert!(parse_streamed_wav(&stereo8).is_err());
    }
}
