//! API tokens and readiness, for the HTTP server (`dialout serve`) and `dialout token`.
//!
//! A token reads `dlo_<lookup>_<secret>`: 8 random bytes that find its row, then 32 random
//! bytes (256 bits) of which only the SHA-256 is stored. The presented secret's hash is
//! compared in constant time.

use std::time::Instant;

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::delivery::blocking;
use crate::dialer::Dialer;
use crate::send::request::SendError;
use dialout_store::StoreError;
use dialout_store::message_store::MessageFilter;
use dialout_store::tokens::{NewToken, Scope, Token};

use crate::api::errors::Error;
use crate::dialer::token_cache;

const PREFIX: &str = "dlo_";

/// A token just made: `secret` is the whole token, shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: Token,
    pub secret: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Letters, digits, `-`, `_`, `.`; 1 to 64 of them.
fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidTokenName(name.to_string()))
    }
}

/// The lookup and secret parts of a presented token, when it has the token's form.
fn split(presented: &str) -> Option<(&str, &str)> {
    let (lookup, secret) = presented.strip_prefix(PREFIX)?.split_once('_')?;
    let hexy = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hexy(lookup, 16) && hexy(secret, 64)).then_some((lookup, secret))
}

impl Dialer {
    /// Makes a token with these scopes (at least one); its secret is returned only here.
    pub async fn create_token(&self, name: &str, scopes: &[Scope]) -> Result<CreatedToken, Error> {
        check_name(name)?;
        if scopes.is_empty() {
            return Err(Error::NoScope);
        }
        let lookup = hex(&rand::random::<[u8; 8]>());
        let secret = hex(&rand::random::<[u8; 32]>());
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let new = NewToken {
            name: name.to_string(),
            lookup: lookup.clone(),
            hash: hash(&secret),
            scopes,
        };
        let token = blocking(self.store(), move |s| s.add_token(&new, Timestamp::now())).await?;
        Ok(CreatedToken {
            token,
            secret: format!("{PREFIX}{lookup}_{secret}"),
        })
    }

    /// Every token (names, scopes, times; never a secret).
    pub async fn tokens(&self) -> Result<Vec<Token>, Error> {
        Ok(blocking(self.store(), |s| s.tokens()).await?)
    }

    /// Deletes a token: requests with it are refused from now on.
    pub async fn revoke_token(&self, name: &str) -> Result<(), Error> {
        let owned = name.to_string();
        let removed = blocking(self.store(), move |s| s.remove_token(&owned)).await?;
        self.verified_tokens().clear();
        if removed {
            Ok(())
        } else {
            Err(Error::NoToken(name.to_string()))
        }
    }

    /// The token a request presents, or None when it is not a valid token.
    /// A token verified less than a second ago is not read again (see `token_cache.rs`): one
    /// revoked by another process is refused at the latest a second later.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Token>, Error> {
        let Some((lookup, secret)) = split(presented) else {
            return Ok(None);
        };
        let key = token_cache::key(presented);
        if let Some(t) = self.verified_tokens().get(&key) {
            return Ok(Some(t));
        }
        let read_at = Instant::now();
        let owned = lookup.to_string();
        let stored = blocking(self.store(), move |s| s.token_by_lookup(&owned)).await?;
        let given = hash(secret);
        Ok(match stored {
            Some(t) if bool::from(t.hash.as_slice().ct_eq(given.as_slice())) => {
                self.verified_tokens().put(key, t.token.clone(), read_at);
                Some(t.token)
            }
            _ => None,
        })
    }

    /// Records the token's last use.
    pub async fn touch_token(&self, name: &str) -> Result<(), Error> {
        let owned = name.to_string();
        Ok(blocking(self.store(), move |s| {
            s.touch_token(&owned, Timestamp::now())
        })
        .await?)
    }

    /// Whether the database answers (a one-row read).
    pub async fn check_ready(&self) -> Result<(), Error> {
        let filter = MessageFilter {
            limit: Some(1),
            ..Default::default()
        };
        blocking(self.store(), move |s| s.messages(&filter)).await?;
        Ok(())
    }
}

fn store_outage(e: &StoreError) -> bool {
    !matches!(
        e,
        StoreError::Corrupt { .. }
            | StoreError::AlreadyStored(_)
            | StoreError::IdempotencyConflict { .. }
            | StoreError::TemplateExists(_)
            | StoreError::NoTemplate(_)
            | StoreError::TokenExists(_)
            | StoreError::Duplicate { .. }
            | StoreError::Url { .. }
            | StoreError::SchemaTooNew { .. }
    )
}

impl Error {
    /// The database could not be reached or answered with an error: worth retrying later.
    pub fn is_outage(&self) -> bool {
        matches!(self, Error::Store(e) if store_outage(e))
    }
}

impl SendError {
    /// The database could not be reached or answered with an error: worth retrying later.
    pub fn is_outage(&self) -> bool {
        matches!(self, SendError::Store(e) if store_outage(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_form() {
        let t = format!("{PREFIX}{}_{}", "a".repeat(16), "b".repeat(64));
        assert!(split(&t).is_some());
        assert!(split(&t[..t.len() - 1]).is_none());
        assert!(split("Bearer x").is_none());
        assert!(check_name("ci-bot.1").is_ok());
        assert!(check_name("a b").is_err());
    }
}
