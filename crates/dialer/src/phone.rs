//! Recipients: validated against libphonenumber's metadata and kept in E.164.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form (`+420777123456`). Only [`PhoneNumber::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("invalid phone number {input:?}: {reason}")]
    Invalid { input: String, reason: String },
    #[error("unknown default region {0:?}: expected an ISO 3166 code such as CZ or US")]
    UnknownRegion(String),
}

impl PhoneNumber {
    /// Parses a number as written by a person: `+420 777 123 456`, `00420777123456`, or a
    /// national `777 123 456` with `default_region` (`CZ`). The region's international
    /// prefix (`00` in CZ, `011` in US) is understood through libphonenumber's metadata.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneError> {
        let invalid = |reason: &str| PhoneError::Invalid {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if trimmed.chars().any(|c| c.is_control()) {
            return Err(invalid("it contains control characters"));
        }
        let region = match default_region {
            Some(r) => Some(
                r.trim()
                    .to_ascii_uppercase()
                    .parse::<phonenumber::country::Id>()
                    .map_err(|_| PhoneError::UnknownRegion(r.to_string()))?,
            ),
            None => None,
        };
        // Without a region, `00` is the common international prefix (as pymess assumed).
        let text = match (region, trimmed.strip_prefix("00")) {
            (None, Some(rest)) => format!("+{rest}"),
            _ => trimmed.to_string(),
        };
        // With no region, phonenumber compiles a regex on every call (~50 µs); any region
        // parses a `+` number the same way, and a national one still needs the real region.
        let parse_region = match region {
            None if text.starts_with('+') => Some(phonenumber::country::Id::US),
            r => r,
        };
        let number = phonenumber::parse(parse_region, &text).map_err(|e| {
            if region.is_none() && !text.starts_with('+') {
                invalid(
                    "a national number needs a default region (configuration key `default_region`)",
                )
            } else {
                invalid(&e.to_string())
            }
        })?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid("not a valid number for its country"));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(PhoneNumber(e164))
    }

    /// `+420777123456`
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `420777123456`: the E.164 number without its `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// A number read back from the store, already in E.164 form.
    pub fn from_e164(text: &str) -> Result<Self, PhoneError> {
        let ok = text.len() > 2
            && text.starts_with('+')
            && text[1..].bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(PhoneNumber(text.to_string()))
        } else {
            Err(PhoneError::Invalid {
                input: text.to_string(),
                reason: "not in E.164 form".into(),
            })
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::from_e164(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_number_with_region() {
        let p = PhoneNumber::parse("777 123 456", Some("CZ")).unwrap();
        assert_eq!(p.as_str(), "+420777123456");
        assert_eq!(p.digits(), "420777123456");
    }

    #[test]
    fn international_prefix_of_the_region() {
        assert_eq!(
            PhoneNumber::parse("00420777123456", Some("CZ"))
                .unwrap()
                .as_str(),
            "+420777123456"
        );
        assert_eq!(
            PhoneNumber::parse("00420777123456", None).unwrap().as_str(),
            "+420777123456"
        );
        assert_eq!(
            PhoneNumber::parse("011 420 777 123 456", Some("us"))
                .unwrap()
                .as_str(),
            "+420777123456"
        );
    }

    #[test]
    fn invalid_numbers_are_refused_with_a_reason() {
        for bad in ["", "abc", "+420 12", "777 123 456", "+1 555\n0100"] {
            let err = PhoneNumber::parse(bad, None).unwrap_err();
            assert!(matches!(err, PhoneError::Invalid { .. }), "{bad:?}: {err}");
        }
        assert!(matches!(
            PhoneNumber::parse("777123456", Some("XX")),
            Err(PhoneError::UnknownRegion(_))
        ));
    }
}
