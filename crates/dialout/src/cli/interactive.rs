//! The options of an interactive call (`--gather-*`, `--machine`), shared by `send`,
//! `send-template` and `template add|set`.

use std::collections::BTreeMap;

use dialout_dialer::{Gather, GatherError, GatherSpec, InvalidInput, MachinePolicy};

use super::Failure;

#[derive(Debug, Default, clap::Args)]
pub struct Ask {
    /// Keys the callee may press after the message (`12`: 1 or 2); default: every key but
    /// the finish key.
    #[arg(long = "gather-keys", value_name = "KEYS")]
    pub gather_keys: Option<String>,
    /// Text read after the message, before listening for keys (`Press 1 to confirm.`).
    #[arg(long = "gather-prompt", value_name = "TEXT")]
    pub gather_prompt: Option<String>,
    /// Most keys read for one answer (1 to 20); default: the longest `--gather-answer`, or 1.
    #[arg(long = "gather-digits", value_name = "N")]
    pub gather_digits: Option<u64>,
    /// Seconds to wait for a key after the prompt (1 to 60, default 5).
    #[arg(long = "gather-timeout", value_name = "S")]
    pub gather_timeout: Option<u64>,
    /// Extra plays of the prompt when nothing usable was pressed (0 to 5, default 1).
    #[arg(long = "gather-repeat", value_name = "N")]
    pub gather_repeat: Option<u64>,
    /// The key that ends a shorter entry: `#` (default), `*`, or `none`.
    #[arg(long = "gather-finish-key", value_name = "K")]
    pub gather_finish_key: Option<String>,
    /// What an entry means, as KEYS=LABEL (`1=confirmed`); repeat for more.
    #[arg(long = "gather-answer", value_name = "KEYS=LABEL")]
    pub gather_answers: Vec<String>,
    /// The whole gather as a JSON file (`{"prompt": ..., "keys": "12", "answers": {...}}`).
    #[arg(
        long = "gather-file",
        value_name = "FILE.json",
        conflicts_with_all = ["gather_keys", "gather_prompt", "gather_digits", "gather_timeout", "gather_repeat", "gather_finish_key", "gather_answers"]
    )]
    pub gather_file: Option<std::path::PathBuf>,
    /// When an answering machine picks up: hangup, leave_message or ignore.
    #[arg(long, value_name = "POLICY")]
    pub machine: Option<MachinePolicy>,
}

impl Ask {
    fn any_gather(&self) -> bool {
        self.gather_keys.is_some()
            || self.gather_prompt.is_some()
            || self.gather_digits.is_some()
            || self.gather_timeout.is_some()
            || self.gather_repeat.is_some()
            || self.gather_finish_key.is_some()
            || !self.gather_answers.is_empty()
    }

    /// The gather as written (None: no gather option given), checked by `send`.
    pub fn spec(&self) -> Result<Option<GatherSpec>, Failure> {
        if let Some(path) = &self.gather_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                field(
                    Failure::usage(format!("--gather-file {}: {e}", path.display())),
                    "--gather-file",
                )
            })?;
            let spec = serde_json::from_str::<GatherSpec>(&text).map_err(|e| {
                field(
                    Failure::usage(format!("--gather-file {}: {e}", path.display())),
                    "--gather-file",
                )
            })?;
            return Ok(Some(spec));
        }
        if !self.any_gather() {
            return Ok(None);
        }
        let mut answers = BTreeMap::new();
        for a in &self.gather_answers {
            let Some((keys, label)) = a.split_once('=') else {
                return Err(field(
                    Failure::usage(format!(
                        "--gather-answer {a:?}: expected KEYS=LABEL, such as 1=confirmed"
                    )),
                    "--gather-answer",
                ));
            };
            answers.insert(keys.to_string(), label.to_string());
        }
        let mut spec = GatherSpec {
            prompt: self.gather_prompt.clone(),
            keys: self.gather_keys.clone(),
            digits: self.gather_digits,
            timeout: self.gather_timeout,
            repeat: self.gather_repeat,
            answers,
            ..GatherSpec::default()
        };
        // GatherSpec's default finish key is `#`, as when the option is left out.
        spec.finish_key = match self.gather_finish_key.as_deref() {
            None => Some("#".into()),
            Some("none") => None,
            Some(k) => Some(k.to_string()),
        };
        Ok(Some(spec))
    }

    /// The gather checked (for a template, which is stored as given).
    pub fn gather(&self) -> Result<Option<Gather>, Failure> {
        self.spec()?
            .map(|s| {
                Gather::try_from(s).map_err(|e| gather_failure(&e, self.gather_file.is_some()))
            })
            .transpose()
    }
}

fn field(f: Failure, name: &str) -> Failure {
    f.with_field(Some(name.to_string()))
}

/// A refused gather, naming the option at fault.
pub fn gather_failure(e: &GatherError, from_file: bool) -> Failure {
    field(
        Failure::usage(format!("invalid {e}")),
        if from_file {
            "--gather-file"
        } else {
            gather_option(e)
        },
    )
}

/// The option a refused gather is about.
pub fn gather_option(e: &GatherError) -> &'static str {
    match e {
        GatherError::EmptyPrompt | GatherError::LongPrompt | GatherError::PromptControl(_) => {
            "--gather-prompt"
        }
        GatherError::Keys(_) | GatherError::FinishKeyAllowed(_) => "--gather-keys",
        GatherError::Digits(_) => "--gather-digits",
        GatherError::FinishKey(_) => "--gather-finish-key",
        GatherError::Timeout(_) => "--gather-timeout",
        GatherError::Repeat(_) => "--gather-repeat",
        GatherError::AnswerKeys(_) | GatherError::Label(_) => "--gather-answer",
    }
}

/// The option of an interactive refusal by `send`.
pub fn cli_field(e: &InvalidInput) -> Option<&'static str> {
    match e {
        InvalidInput::Gather(g) => Some(gather_option(g)),
        // The backend cannot make the call: choose another.
        InvalidInput::Interactive { .. } => Some("--backend"),
        _ => None,
    }
}
