//! What the dashboard shows of a message on the PBX: its call file (spooled or archived),
//! the report lines the dialplan wrote, and the audio file.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::{Inner, sender_name};
use crate::backend::Details;
use dialout_model::message::Message;

/// Call files and reports are a few hundred bytes; anything bigger is cut.
const MAX_TEXT: u64 = 64 * 1024;

fn read_text(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_TEXT)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

impl Inner {
    pub(super) fn details(&self, message: &Message) -> Details {
        let name = sender_name(message);
        let paths = self.config.paths(&name);
        let mut documents = Vec::new();
        for (title, path) in [
            ("call file (spooled)", &paths.spooled),
            ("call file (archived)", &paths.archived),
            ("report", &paths.report),
        ] {
            if let Some(text) = read_text(path) {
                documents.push((format!("{title}: {}", path.display()), text));
            }
        }
        // The key is a hash in hex; anything else is not ours to open.
        let audio = match message.extra_sender_data.get("audio") {
            Some(Value::String(key)) if key.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Some(self.audio.path_of(key)).filter(|p| p.is_file())
            }
            _ => None,
        };
        Details { documents, audio }
    }
}
