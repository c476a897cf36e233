//! The interactive parts of request and response bodies (issue 29): a gather, a machine
//! policy, and who answered. Requests deserialize into the model's types; these structs
//! describe them in the OpenAPI document.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use dialout_dialer::{Gather, GatherSpec, Interactive, MachinePolicy};

use crate::problem::Problem;

/// Keys to gather after the message. Every field is optional.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = Gather)]
pub struct GatherSchema {
    /// Text read after the message (1 to 1000 characters); null: listen for keys right
    /// after the message.
    pub prompt: Option<String>,
    /// The keys that count (`12`), each of 0-9 * # once; default: every key but the finish
    /// key.
    pub keys: Option<String>,
    /// Most keys read for one answer, 1 to 20; default: the longest answer's keys, or 1.
    #[schema(minimum = 1, maximum = 20)]
    pub digits: Option<u64>,
    /// `#` or `*` ends a shorter entry; default `#`; null or "" for none.
    pub finish_key: Option<String>,
    /// Seconds to wait for a key after the prompt, 1 to 60 (default 5).
    #[schema(minimum = 1, maximum = 60)]
    pub timeout: Option<u64>,
    /// Extra plays of the prompt when nothing usable was pressed, 0 to 5 (default 1).
    #[schema(minimum = 0, maximum = 5)]
    pub repeat: Option<u64>,
    /// What each entry means: `{"1": "confirmed", "2": "cancelled"}` (labels up to 64
    /// characters).
    pub answers: Option<BTreeMap<String, String>>,
}

/// What to do when an answering machine picks up.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = MachinePolicy, rename_all = "snake_case")]
pub enum MachineSchema {
    /// Hang up at once: the message is not left.
    Hangup,
    /// Wait for the greeting to end, then play the message once.
    LeaveMessage,
    /// Record who answered and go on as with a person.
    Ignore,
}

/// Who picked up, as answering-machine detection judged it.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = AnsweredBy, rename_all = "snake_case")]
pub enum AnsweredBySchema {
    Human,
    Machine,
    Unknown,
}

/// A field that may be left out (None), set to null (Some(None)) or set (Some(Some)).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A template's gather, checked now (a message's is checked by `send`).
pub fn gather(spec: Option<GatherSpec>) -> Result<Option<Gather>, Problem> {
    spec.map(|s| {
        Gather::try_from(s).map_err(|e| Problem::invalid("gather", format!("invalid {e}")))
    })
    .transpose()
}

pub fn interactive(
    spec: Option<GatherSpec>,
    machine: Option<MachinePolicy>,
) -> Result<Interactive, Problem> {
    Ok(Interactive {
        gather: gather(spec)?,
        machine,
    })
}
