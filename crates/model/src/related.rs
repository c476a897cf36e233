//! Related objects: `(type, id)` pairs such as `order:42` linking a message to the caller's data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RelatedObject {
    /// `[a-z0-9_.-]+`
    pub kind: String,
    /// Any non-empty text after the first `:`.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid related object {input:?}: {reason} (expected TYPE:ID such as order:42, TYPE made of a-z 0-9 _ . -)"
)]
pub struct InvalidRelated {
    pub input: String,
    pub reason: &'static str,
}

impl RelatedObject {
    pub fn new(kind: &str, id: &str) -> Result<Self, InvalidRelated> {
        let input = format!("{kind}:{id}");
        let fail = |reason| InvalidRelated {
            input: input.clone(),
            reason,
        };
        if kind.is_empty() {
            return Err(fail("the type is empty"));
        }
        if !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        {
            return Err(fail("the type has a character other than a-z 0-9 _ . -"));
        }
        if id.is_empty() {
            return Err(fail("the id is empty"));
        }
        if id.chars().any(|c| c.is_control()) {
            return Err(fail("the id has control characters"));
        }
        Ok(RelatedObject {
            kind: kind.to_string(),
            id: id.to_string(),
        })
    }

    /// The id as an integer when it is one; stored in an indexed column for fast lookups.
    pub fn id_int(&self) -> Option<i64> {
        Self::int_of(&self.id)
    }

    /// An object id as an integer, when it is one (`42`, `007`); what [`Self::id_int`] gives.
    pub fn int_of(id: &str) -> Option<i64> {
        id.parse().ok()
    }
}

impl FromStr for RelatedObject {
    type Err = InvalidRelated;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((kind, id)) => RelatedObject::new(kind, id),
            None => Err(InvalidRelated {
                input: s.to_string(),
                reason: "there is no ':'",
            }),
        }
    }
}

impl fmt::Display for RelatedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_and_id_after_first_colon() {
        let r: RelatedObject = "order:42".parse().unwrap();
        assert_eq!(
            (r.kind.as_str(), r.id.as_str(), r.id_int()),
            ("order", "42", Some(42))
        );
        let r: RelatedObject = "shop.invoice:2026:A-7".parse().unwrap();
        assert_eq!(
            (r.kind.as_str(), r.id.as_str(), r.id_int()),
            ("shop.invoice", "2026:A-7", None)
        );
    }

    #[test]
    fn malformed_is_refused() {
        for bad in ["order", "Order:1", ":1", "order:", "or der:1", "order:1\n2"] {
            assert!(bad.parse::<RelatedObject>().is_err(), "{bad:?}");
        }
    }
}
