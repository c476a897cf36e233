//! Standard Webhooks signatures: `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`,
//! keyed with the bytes the secret's base64 part (after `whsec_`) decodes to.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use dialout_store::webhooks::Secret;

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid webhook secret: expected whsec_ followed by base64 of at least 24 bytes")]
pub struct InvalidSecret;

/// The key bytes of a secret.
pub fn key(secret: &Secret) -> Result<Vec<u8>, InvalidSecret> {
    let b64 = secret.0.strip_prefix(PREFIX).ok_or(InvalidSecret)?;
    let key = STANDARD.decode(b64).map_err(|_| InvalidSecret)?;
    if key.len() < 24 {
        return Err(InvalidSecret);
    }
    Ok(key)
}

/// The `webhook-signature` header's value for one request.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Whether one of the space-separated signatures in `header` is this body's (what a
/// receiver checks; constant-time comparison through the HMAC's own verify).
pub fn verify(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    header.split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(given) = STANDARD.decode(b64) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_specs_example() {
        // The example of the Standard Webhooks specification.
        let secret = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        // That example's key is 24 bytes.
        let key = key(&secret).unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
            &sig
        ));
        assert!(!verify(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265331,
            body,
            &sig
        ));
    }

    #[test]
    fn new_secrets_are_long_enough_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(key(&a).unwrap().len(), 32);
        assert!(key(&Secret("whsec_c2hvcnQ=".into())).is_err());
        assert!(key(&Secret("nope".into())).is_err());
    }
}
