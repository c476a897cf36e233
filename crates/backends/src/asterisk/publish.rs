//! Messages into call files: naming, building, spooling, pacing, finding and withdrawing.

use std::path::{Path, PathBuf};

use dialout_callfile::{Action, Call, CallFile, SpoolError};

use super::config::AsteriskConfig;
use crate::shared::ivr;
use dialout_model::id::MessageId;
use dialout_model::message::Message;

const PREFIX: &str = "dialout-";
const SUFFIX: &str = ".call";

/// The call file's name: the message's global id, so that installations sharing a PBX never
/// collide (Asterisk's archive overwrites a file of the same name).
pub fn file_name(id: MessageId) -> String {
    format!("{PREFIX}{id}{SUFFIX}")
}

/// The call-file name a path in the spool, done or report directory belongs to.
pub fn name_from_path(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".report").unwrap_or(name);
    (name.starts_with(PREFIX) && name.ends_with(SUFFIX)).then(|| name.to_string())
}

/// The message id of one of our call-file names.
pub fn id_from_name(name: &str) -> Option<MessageId> {
    name.strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .parse()
        .ok()
}

pub struct Paths {
    pub spooled: PathBuf,
    pub archived: PathBuf,
    pub report: PathBuf,
}

impl AsteriskConfig {
    pub fn paths(&self, name: &str) -> Paths {
        Paths {
            spooled: self.spool_dir.join(name),
            archived: self.done_dir.join(name),
            report: self.report_path(name),
        }
    }

    /// The call file of one message. `audio` is the playback name (no extension).
    pub fn call_file(&self, message: &Message, audio: &Path) -> Result<CallFile, String> {
        let retries = self.max_retries_for(message, jiff::Timestamp::now());
        self.call_file_retrying(message, audio, None, retries)
    }

    /// Asterisk's own retries for `message` spooled at `now`: those that start before the
    /// recipient's calling window closes (`calling_hours_end`, set by the delivery), at most
    /// `max_retries`. Retry k starts about k × (wait_time + retry_time) after the first dial.
    pub fn max_retries_for(&self, message: &Message, now: jiff::Timestamp) -> u32 {
        let end = message
            .extra_sender_data
            .get(dialout_model::hours::CALLING_HOURS_END)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<jiff::Timestamp>().ok());
        let Some(end) = end else {
            return self.max_retries;
        };
        let cycle = i64::from(self.wait_time) + i64::from(self.retry_time);
        let left = now.duration_until(end).as_secs();
        let fit = if left <= 0 {
            0
        } else {
            (left - 1) / cycle.max(1)
        };
        u32::try_from(fit).unwrap_or(u32::MAX).min(self.max_retries)
    }

    /// The call file with `retries` for MaxRetries; `prompt` is the gather prompt's
    /// playback name, for an interactive message that has one.
    pub fn call_file_retrying(
        &self,
        message: &Message,
        audio: &Path,
        prompt: Option<&Path>,
        retries: u32,
    ) -> Result<CallFile, String> {
        let name = file_name(message.id);
        let mut call = Call::builder()
            .channel(self.channel.render(&message.recipient))
            .var("DIALOUT_ID", message.id.to_string())
            .var("DIALOUT_AUDIO", audio.to_string_lossy().into_owned())
            .var(
                "DIALOUT_REPORT",
                self.report_path(&name).to_string_lossy().into_owned(),
            )
            .wait_time(self.wait_time)
            .retry_time(self.retry_time)
            .max_retries(retries);
        if let Some(c) = &self.callerid {
            call = call.callerid(c.clone());
        }
        let prompt = prompt.map(|p| p.to_string_lossy().into_owned());
        for (k, v) in ivr::variables(&message.interactive, prompt.as_deref()) {
            call = call.var(k, v);
        }
        let call = call.build().map_err(|e| e.to_string())?;
        let mut file = CallFile::builder()
            .call(call)
            .action(Action::context(
                self.context.clone(),
                ivr::exten(&message.interactive),
                1,
            ))
            .archive(true)
            .filename(name)
            .spool_dir(self.spool_dir.clone())
            .staging_dir(self.staging_dir.clone());
        if let Some(u) = &self.user {
            file = file.user(u.clone());
        }
        if let Some(g) = &self.group {
            file = file.group(g.clone());
        }
        // Asterisk appends to the file: without owning it, it needs group write.
        if self.user.is_none() && self.group.is_some() {
            file = file.mode(0o660);
        }
        file.build().map_err(|e| e.to_string())
    }
}

/// What spooling said, sorted by what the delivery machinery should do.
pub enum Spooled {
    Done(PathBuf),
    /// A file of that name is already in the spool: this message was spooled before.
    AlreadyThere(PathBuf),
    /// The set-up is wrong (directories, owner, filesystem): every message would fail alike.
    SetUp(String),
    /// May work next time.
    Transient(String),
}

pub fn spool(file: &CallFile) -> Spooled {
    match file.spool(None) {
        Ok(p) => Spooled::Done(p),
        Err(SpoolError::NotDurable { path, source }) => {
            tracing::warn!(path = %path.display(), error = %source, "spooled, but the directory sync failed");
            Spooled::Done(path)
        }
        Err(SpoolError::AlreadyExists { path }) => Spooled::AlreadyThere(path),
        Err(
            e @ (SpoolError::NoSuchUser { .. }
            | SpoolError::NoSuchGroup { .. }
            | SpoolError::NoPermissionToChown { .. }
            | SpoolError::SpoolDirPermission { .. }
            | SpoolError::MissingDir { .. }
            | SpoolError::CrossFilesystem { .. }),
        ) => Spooled::SetUp(e.to_string()),
        Err(e) => Spooled::Transient(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_foreign_files_are_not_ours() {
        let id = MessageId::new();
        let name = file_name(id);
        assert_eq!(id_from_name(&name), Some(id));
        assert_eq!(
            name_from_path(&Path::new("/r").join(format!("{name}.report"))),
            Some(name.clone())
        );
        assert_eq!(name_from_path(&Path::new("/s").join(&name)), Some(name));
        assert_eq!(name_from_path(Path::new("/s/other.call")), None);
    }

    #[test]
    fn asterisk_retries_stay_inside_the_calling_window() {
        let c = AsteriskConfig::from_table(
            "pbx",
            &toml::from_str("channel = \"PJSIP/{number}@trunk\"").unwrap(),
        )
        .unwrap();
        // 45 s ringing + 300 s between: retry k starts k × 345 s after the first dial.
        assert_eq!((c.wait_time, c.retry_time, c.max_retries), (45, 300, 2));
        let now: jiff::Timestamp = "2026-03-09T23:40:00Z".parse().unwrap();
        let mut m = dialout_model::message::Message::waiting(
            &dialout_model::message::NewMessage::new(
                dialout_model::phone::PhoneNumber::from_e164("+12125550100").unwrap(),
                "hi",
                "pbx",
            ),
            now,
        );
        assert_eq!(c.max_retries_for(&m, now), 2, "no window: as configured");
        for (left_secs, retries) in [(3600, 2), (700, 2), (690, 1), (400, 1), (345, 0), (10, 0)] {
            let end = now + jiff::SignedDuration::from_secs(left_secs);
            m.extra_sender_data.insert(
                dialout_model::hours::CALLING_HOURS_END.into(),
                end.to_string().into(),
            );
            assert_eq!(c.max_retries_for(&m, now), retries, "{left_secs} s left");
        }
        let file = c
            .call_file_retrying(&m, Path::new("dialout/x"), None, 0)
            .unwrap()
            .render();
        assert!(file.contains("Maxretries: 0"), "{file}");
    }
}
