//! Tokens verified within the last second, so that a busy server does not read a token's
//! row for every request.
//!
//! Invariants:
//! - Keyed by the SHA-256 of the whole presented token: the secret itself is not kept, and
//!   a lookup compares digests, whose timing tells nothing about a secret.
//! - Only tokens found valid are kept, each for at most [`FRESH`] after its row was read:
//!   a token revoked by another process (`dialout token revoke`) is refused at the latest
//!   that long afterwards. Revoking through this `Dialer` empties the cache, and a row read
//!   that began before that is not cached, so the revocation holds from the next request.
//! - Bounded: at [`MOST`] entries it is emptied.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use dialout_store::tokens::Token;

/// How long a verified token is trusted without reading its row again.
pub const FRESH: Duration = Duration::from_secs(1);

/// Most tokens kept.
const MOST: usize = 1024;

pub(crate) type Key = [u8; 32];

pub(crate) fn key(presented: &str) -> Key {
    Sha256::digest(presented.as_bytes()).into()
}

pub(crate) struct TokenCache {
    inner: Mutex<Inner>,
}

struct Inner {
    tokens: HashMap<Key, (Token, Instant)>,
    cleared: Instant,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            inner: Mutex::new(Inner {
                tokens: HashMap::new(),
                cleared: Instant::now(),
            }),
        }
    }
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token, if it was verified less than [`FRESH`] ago.
    pub(crate) fn get(&self, key: &Key) -> Option<Token> {
        let inner = self.lock();
        let (token, read_at) = inner.tokens.get(key)?;
        (read_at.elapsed() < FRESH).then(|| token.clone())
    }

    /// Keeps `token`, valid as of its row read begun at `read_at`.
    pub(crate) fn put(&self, key: Key, token: Token, read_at: Instant) {
        let mut inner = self.lock();
        // A revocation since the read began: that row may be gone now.
        if read_at <= inner.cleared {
            return;
        }
        if inner.tokens.len() >= MOST {
            inner.tokens.clear();
        }
        inner.tokens.insert(key, (token, read_at));
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.tokens.clear();
        inner.cleared = Instant::now();
    }
}
