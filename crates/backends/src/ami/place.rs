//! Placing a call, step by step: the link must be up and the pacer allow it; the audio is
//! rendered; the trace is written to AstDB (so a crash after the Originate is found again);
//! then the Originate. No step panics: each failure is an outcome.

use std::time::Instant;

use serde_json::Value;

use super::audio;
use super::calls::Call;
use super::config::AudioPlace;
use super::session::Link;
use super::{Inner, SETTLE, action_id, channel_id, lock, now_ms};
use crate::backend::{Accepted, Publish};
use crate::shared::ivr;
use crate::tts::{AudioCache, AudioFile, TtsError};
use dialout_model::message::{JsonMap, Message};

impl Inner {
    pub(super) async fn place(&self, m: &Message, attempt: u32, extra: JsonMap) -> Publish {
        match self.steps(m, attempt, extra).await {
            Ok(p) | Err(p) => p,
        }
    }

    /// The steps in order; the first that does not go through decides the outcome.
    async fn steps(
        &self,
        m: &Message,
        attempt: u32,
        mut extra: JsonMap,
    ) -> Result<Publish, Publish> {
        self.ready_to_dial().await?;
        let file = self.render(&m.content).await?;
        // The prompt is spoken by the same voice as the message.
        let prompt = match m.interactive.gather.as_ref().and_then(|g| g.prompt()) {
            Some(text) => Some(self.render(text).await?),
            None => None,
        };
        let at = now_ms();
        self.write_trace(m, attempt, at / 1000).await?;
        let (aid, chan) = (action_id(m.id, attempt), channel_id(m.id, attempt));
        let mut call = Call::dialing(attempt, chan.clone(), at);
        call.audio = Some(file.key.clone());
        call.interactive = !m.interactive.is_plain();
        lock(&self.calls).insert(m.id, call);
        let target = self.audio_target(m, &file, false);
        let prompt_target = prompt.as_ref().map(|p| self.audio_target(m, p, true));
        let vars = ivr::variables(&m.interactive, prompt_target.as_deref());
        self.originate(m, (&aid, &chan), &target, &vars).await?;
        if let Some(p) = prompt {
            extra.insert("prompt_audio".into(), Value::String(p.key));
        }
        extra.insert("ami_attempt".into(), Value::from(attempt));
        extra.insert("ami_placed_at_ms".into(), Value::from(at));
        extra.insert("ami_action_id".into(), Value::String(aid.clone()));
        extra.insert("ami_channel_id".into(), Value::String(chan));
        extra.insert("audio".into(), Value::String(file.key));
        let reason = format!(
            "attempt {attempt} queued on {} (ActionID {aid})",
            self.config.host
        );
        Ok(Publish::Accepted(Accepted::ready(extra, reason)))
    }

    /// The session is up and the pacer has room; otherwise the call waits (or pauses on a
    /// refused login).
    async fn ready_to_dial(&self) -> Result<(), Publish> {
        match self.session.settled(SETTLE).await {
            Link::Up => {}
            Link::AuthFailed(why) => return Err(self.paused(&why)),
            Link::Down(_) | Link::ShuttingDown | Link::Starting => return Err(Publish::Deferred),
        }
        if lock(&self.pacer).take(Instant::now()).is_err() {
            return Err(Publish::Deferred);
        }
        Ok(())
    }

    /// The message spoken into the audio cache (blocking work, off the executor).
    async fn render(&self, text: &str) -> Result<AudioFile, Publish> {
        let (text, voice, audio) = (text.to_string(), self.config.voice.clone(), &self.audio);
        let cache = AudioCache::new(audio.dir().to_path_buf(), audio.tts().clone(), None, None);
        let rendered = crate::shared::blocking::run(move || cache.ensure(&text, &voice))
            .await
            .map_err(|e| Publish::Retry {
                error: format!("audio rendering stopped: {e}"),
                ambiguous: false,
            })?;
        rendered.map_err(|e| match e {
            TtsError::EmptyText => Publish::Failed {
                error: "the message has no text to speak".into(),
            },
            e @ (TtsError::Missing { .. } | TtsError::UnknownVoice { .. }) => Publish::Paused {
                reason: e.to_string(),
            },
            e => Publish::Retry {
                error: e.to_string(),
                ambiguous: false,
            },
        })
    }

    /// Where Asterisk reads the audio: a URL of `dialout serve`, or a shared folder.
    fn audio_target(&self, m: &Message, file: &AudioFile, prompt: bool) -> String {
        let secret = self.config.secret.expose();
        match &self.config.audio {
            AudioPlace::Url(u) if prompt => {
                format!("{u}/{}.wav", audio::prompt_key(secret, m.id))
            }
            AudioPlace::Url(u) => format!("{u}/{}.wav", audio::url_key(secret, m.id)),
            AudioPlace::Shared(d) => d.join(&file.key).to_string_lossy().into_owned(),
        }
    }

    /// `dialout/<id> = originated <at> <attempt>` in AstDB, before the Originate.
    async fn write_trace(&self, m: &Message, attempt: u32, at: i64) -> Result<(), Publish> {
        let id = m.id.to_string();
        let put = self
            .session
            .request(&[
                ("Action", "DBPut"),
                ("Family", "dialout"),
                ("Key", &id),
                ("Val", &format!("originated {at} {attempt}")),
            ])
            .await;
        match put {
            Ok(r) if r.success() => Ok(()),
            Ok(r) => Err(Publish::Retry {
                error: format!("Asterisk refused DBPut dialout/{id}: {}", r.message()),
                ambiguous: false,
            }),
            Err(e) => Err(Publish::Retry {
                error: e.to_string(),
                ambiguous: false,
            }),
        }
    }

    /// The Async Originate, queued by Asterisk, or the outcome when it was not.
    async fn originate(
        &self,
        m: &Message,
        (aid, chan): (&str, &str),
        target: &str,
        ivr_vars: &[(&'static str, String)],
    ) -> Result<(), Publish> {
        let id = m.id.to_string();
        let dial = self.config.channel.render(&m.recipient);
        let timeout = self.config.wait_time.as_millis().to_string();
        let var_id = format!("DIALOUT_ID={id}");
        let var_audio = format!("DIALOUT_AUDIO={target}");
        let mut headers: Vec<(&str, &str)> = vec![
            ("Action", "Originate"),
            ("ActionID", aid),
            ("Channel", &dial),
            ("Context", &self.config.context),
            ("Exten", ivr::exten(&m.interactive)),
            ("Priority", "1"),
            ("Async", "true"),
            ("Timeout", &timeout),
            ("ChannelId", chan),
        ];
        if let Some(c) = &self.config.caller_id {
            headers.push(("CallerID", c));
        }
        headers.push(("Variable", &var_id));
        headers.push(("Variable", &var_audio));
        let more: Vec<String> = ivr_vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for v in &more {
            headers.push(("Variable", v));
        }
        match self.session.request_on(&headers).await {
            Ok((r, conn)) if r.success() => {
                if let Some(c) = lock(&self.calls).by_id.get_mut(&m.id) {
                    c.placed_conn = Some(conn);
                }
                Ok(())
            }
            Ok((r, _)) => {
                lock(&self.calls).remove(m.id);
                Err(Publish::Retry {
                    error: format!("Asterisk refused the Originate: {}", r.message()),
                    ambiguous: false,
                })
            }
            Err(e) => {
                // It may have been queued: `find` reads AstDB before any new attempt.
                if let Some(c) = lock(&self.calls).by_id.get_mut(&m.id) {
                    c.unsure = true;
                }
                Err(Publish::Retry {
                    error: format!("Originate: {e}"),
                    ambiguous: true,
                })
            }
        }
    }
}
