//! Message audio a PBX fetches over HTTP (`dialout serve`'s `/audio/<key>.wav`).

use std::path::PathBuf;

use crate::api::errors::Error;
use crate::dialer::Dialer;
use dialout_backends::ami::audio::key_message;

impl Dialer {
    /// The audio file named by `key` (64 hex digits, the `<key>` of `/audio/<key>.wav`), only
    /// while its message is in flight and the key is the one its backend gave out. `None`
    /// for anything else, so that a guessed or old key reveals nothing.
    pub async fn audio(&self, key: &str) -> Result<Option<PathBuf>, Error> {
        let Some(id) = key_message(key) else {
            return Ok(None);
        };
        if id == dialout_backends::ami::doctor::test_id() {
            return Ok(self
                .backends()
                .iter()
                .find_map(|(_, b)| b.audio(&probe(), key)));
        }
        let Some(m) = self.message(id).await? else {
            return Ok(None);
        };
        if m.is_final_state {
            return Ok(None);
        }
        Ok(self
            .backends()
            .get(&m.backend)
            .and_then(|b| b.audio(&m, key)))
    }
}

/// Stands for "no message" when `dialout doctor` has Asterisk fetch its test audio.
fn probe() -> dialout_model::message::Message {
    let number =
        dialout_model::phone::PhoneNumber::from_e164("+420777000000").expect("a valid number");
    let mut m = dialout_model::message::Message::waiting(
        &dialout_model::message::NewMessage::new(number, "dialout doctor", ""),
        jiff::Timestamp::now(),
    );
    m.id = dialout_backends::ami::doctor::test_id();
    m
}
