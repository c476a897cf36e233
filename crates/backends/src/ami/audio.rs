//! Audio keys for `audio_url`: `<message id, 32 hex><token, 32 hex>`. The token is a hash
//! of the backend's secret and the id, so a key cannot be guessed from the id, and any
//! process with the same configuration (the worker, `dialout serve`) can check it.

use sha2::{Digest, Sha256};

use dialout_model::id::MessageId;

fn token(secret: &str, id: MessageId) -> String {
    token_for(b"dialout audio url", secret, id)
}

fn token_for(domain: &[u8], secret: &str, id: MessageId) -> String {
    let mut h = Sha256::new();
    for part in [domain, secret.as_bytes(), id.as_uuid().as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    hex(&h.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 64-hex-digit key of a message's audio.
pub fn url_key(secret: &str, id: MessageId) -> String {
    format!("{}{}", id.as_uuid().simple(), token(secret, id))
}

/// The 64-hex-digit key of a message's gather prompt (another token, same form).
pub fn prompt_key(secret: &str, id: MessageId) -> String {
    format!(
        "{}{}",
        id.as_uuid().simple(),
        token_for(b"dialout prompt url", secret, id)
    )
}

/// The message a key names, if the key is well formed (its token is checked by
/// [`key_matches`]).
pub fn key_message(key: &str) -> Option<MessageId> {
    if key.len() != 64
        || !key
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    uuid::Uuid::parse_str(&key[..32])
        .ok()
        .map(MessageId::from_uuid)
}

/// Compares in constant time.
pub fn key_matches(secret: &str, id: MessageId, key: &str) -> bool {
    same(&url_key(secret, id), key)
}

/// Whether `key` is the prompt key of message `id` (constant time).
pub fn prompt_key_matches(secret: &str, id: MessageId, key: &str) -> bool {
    same(&prompt_key(secret, id), key)
}

fn same(want: &str, key: &str) -> bool {
    want.len() == key.len()
        && want
            .bytes()
            .zip(key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_and_bound_to_secret_and_message() {
        let id = MessageId::new();
        let k = url_key("s", id);
        assert_eq!(k.len(), 64);
        assert_eq!(key_message(&k), Some(id));
        assert!(key_matches("s", id, &k));
        assert!(!key_matches("other", id, &k));
        assert!(!key_matches("s", MessageId::new(), &k));
        assert_eq!(key_message(&k[..63]), None);
        assert_eq!(key_message(&k.to_uppercase()), None);
    }
}
