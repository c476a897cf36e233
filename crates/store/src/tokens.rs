//! API tokens as the store keeps them: a public lookup id and the SHA-256 of the secret,
//! never the secret itself.

use jiff::Timestamp;

use crate::error::StoreError;

/// What a token may do. `admin` does not imply the others: a token gets what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Send,
    Read,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Send, Scope::Read, Scope::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Send => "send",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == text)
    }

    /// `send,read` as stored; unknown words are left out.
    pub fn parse_list(text: &str) -> Vec<Scope> {
        let mut v: Vec<Scope> = text
            .split(',')
            .filter_map(|w| Scope::parse(w.trim()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A token as listed: never its secret nor its hash.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Token {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl Token {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A new token's stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub name: String,
    /// Public part of the token, used to find its row.
    pub lookup: String,
    /// SHA-256 of the secret part.
    pub hash: Vec<u8>,
    pub scopes: Vec<Scope>,
}

/// A token's row, with its hash, for checking a presented secret.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredToken {
    pub token: Token,
    pub hash: Vec<u8>,
}

/// API tokens (the HTTP API).
pub trait TokenStore: Send + Sync {
    /// Stores a new token; a name already taken is [`StoreError::TokenExists`].
    fn add_token(&self, token: &NewToken, now: Timestamp) -> Result<Token, StoreError>;
    /// Every token, by name.
    fn tokens(&self) -> Result<Vec<Token>, StoreError>;
    /// The token whose public lookup part is `lookup`, with its hash.
    fn token_by_lookup(&self, lookup: &str) -> Result<Option<StoredToken>, StoreError>;
    /// Deletes a token; false when no token has this name.
    fn remove_token(&self, name: &str) -> Result<bool, StoreError>;
    /// Records that the token was used at `now`.
    fn touch_token(&self, name: &str, now: Timestamp) -> Result<(), StoreError>;
}
