//! Recipients: validated against libphonenumber's metadata and kept in E.164.

use std::fmt;

mod erased;
mod fast;
mod table;

pub use erased::ERASED_PREFIX;

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
    /// Only digits, spaces, `-`, `.`, `(`, `)`, `/` and a leading `+` are accepted.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneError> {
        let invalid = |reason: &str| PhoneError::Invalid {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if let Some(c) = body
            .chars()
            .find(|c| !c.is_ascii_digit() && !SEPARATORS.contains(*c))
        {
            return Err(invalid(&format!(
                "{c:?} is not allowed in a phone number: use digits, spaces, a leading + and the separators - . ( ) /"
            )));
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
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        let international = if trimmed.starts_with('+') {
            Some(digits.as_str())
        } else {
            match region {
                Some(r) => after_international_prefix(r, &digits),
                // Without a region, `00` is the common international prefix (as pymess assumed).
                None => digits.strip_prefix("00"),
            }
        };
        let number = match international {
            Some(rest) => parse_international(rest).map_err(|reason| invalid(&reason))?,
            None => match region {
                Some(r) => parse_national(r, &digits).map_err(|reason| invalid(&reason))?,
                None => {
                    return Err(invalid(
                        "a national number needs a default region (configuration key `default_region`)",
                    ));
                }
            },
        };
        match number {
            Parsed::Valid(e164) => Ok(PhoneNumber(e164)),
            Parsed::Number(n) if phonenumber::is_valid(&n) => Ok(PhoneNumber(
                n.format().mode(phonenumber::Mode::E164).to_string(),
            )),
            Parsed::Number(_) => Err(invalid("not a valid number for its country")),
        }
    }

    /// `+420777123456`
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `420777123456`: the E.164 number without its `+` (empty for an erased recipient).
    pub fn digits(&self) -> &str {
        if self.is_erased() { "" } else { &self.0[1..] }
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

/// Written between the digits of a number, and ignored.
const SEPARATORS: &str = " -.()/";

/// The digits after `region`'s international prefix (`00` in CZ, `011` in US), when `digits`
/// starts with it. As in libphonenumber, a 0 right after it means it was not one.
fn after_international_prefix(region: phonenumber::country::Id, digits: &str) -> Option<&str> {
    if let Some(found) = fast::international_prefix_len(region.as_ref(), digits) {
        return found.map(|end| &digits[end..]);
    }
    // A region the quick path does not know: the crate's metadata decides.
    let meta = phonenumber::metadata::DATABASE.by_id(region.as_ref())?;
    let found = meta.international_prefix()?.find(digits)?;
    let rest = &digits[found.end()..];
    (found.start() == 0 && found.end() > 0 && !rest.starts_with('0')).then_some(rest)
}

/// `rest` is a country calling code and a national number. It is parsed with the metadata of
/// the code's main region: libphonenumber strips a national prefix written after the code
/// (`+44 07911…`) by that country's rules. Parsing it with another region's metadata would
/// apply that region's prefix instead, and turn `+49 151…` into `+49 51…` with a US region.
fn parse_international(rest: &str) -> Result<Parsed, String> {
    if fast::valid_international(rest).is_some() {
        return Ok(Parsed::Valid(format!("+{rest}")));
    }
    let (code, _) = split_calling_code(rest)
        .ok_or_else(|| "it does not start with a country calling code".to_string())?;
    phonenumber::parse(main_region(code), format!("+{rest}"))
        .map(Parsed::Number)
        .map_err(|e| e.to_string())
}

/// A national number of `region`: the quick path when it can answer, else the crate.
fn parse_national(region: phonenumber::country::Id, digits: &str) -> Result<Parsed, String> {
    if let Some(e164) = fast::valid_national(region.as_ref(), digits) {
        return Ok(Parsed::Valid(e164));
    }
    phonenumber::parse(Some(region), digits)
        .map(Parsed::Number)
        .map_err(|e| e.to_string())
}

/// The country calling code `digits` start with, and the national number after it. Calling
/// codes are prefix-free: at most one of the first three prefixes is a code.
fn split_calling_code(digits: &str) -> Option<(u16, &str)> {
    (1..=3.min(digits.len())).find_map(|len| {
        let code = digits[..len].parse::<u16>().ok().filter(|c| *c > 0)?;
        table::by_code(code).map(|_| (code, &digits[len..]))
    })
}

/// The main region of a calling code (`GB` for 44); None for the non-geographic codes
/// (+800, +882, …), whose region is "001".
fn main_region(code: u16) -> Option<phonenumber::country::Id> {
    table::REGIONS[table::by_code(code)?.start].id.parse().ok()
}

/// A number known valid in E.164 form already, or one for the crate to validate and format.
enum Parsed {
    Valid(String),
    Number(phonenumber::PhoneNumber),
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
    fn an_international_number_keeps_its_digits_whatever_the_default_region() {
        // A 1 or 0 after the country code is a national prefix only where that country has
        // one: not in China (+86 1…) or Germany's mobiles (+49 15…) for a US or DE region.
        for (input, region, e164) in [
            ("+8613912345678", None, "+8613912345678"),
            ("+8613912345678", Some("US"), "+8613912345678"),
            ("+49 151 23456789", None, "+4915123456789"),
            ("+49 151 23456789", Some("US"), "+4915123456789"),
            ("+39 06 1234 5678", Some("DE"), "+390612345678"),
            ("0039 06 1234 5678", Some("DE"), "+390612345678"),
            ("011 49 151 23456789", Some("US"), "+4915123456789"),
            ("00 86 139 1234 5678", Some("CZ"), "+8613912345678"),
            ("0086 139 1234 5678", None, "+8613912345678"),
            ("+1 (201) 555-0123", Some("GB"), "+12015550123"),
            // The country's own national prefix after its code is dropped, as libphonenumber does.
            ("+44 07911 123456", None, "+447911123456"),
            ("+800 1234 5678", None, "+80012345678"),
        ] {
            let p = PhoneNumber::parse(input, region);
            assert_eq!(
                p.as_ref().map(PhoneNumber::as_str),
                Ok(e164),
                "{input:?} with region {region:?}"
            );
        }
    }

    #[test]
    fn a_national_number_with_its_region_prefix_or_code() {
        assert_eq!(
            PhoneNumber::parse("0151 23456789", Some("DE"))
                .unwrap()
                .as_str(),
            "+4915123456789"
        );
        assert_eq!(
            PhoneNumber::parse("(201) 555-0123", Some("US"))
                .unwrap()
                .as_str(),
            "+12015550123"
        );
    }

    #[test]
    fn letters_and_extensions_are_refused() {
        for bad in [
            "1-800-FLOWERS",
            "+420 777 123 456 ext. 12",
            "+420777123456;ext=1",
            "+420+777123456",
        ] {
            let err = PhoneNumber::parse(bad, Some("US")).unwrap_err();
            assert!(err.to_string().contains("not allowed"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn invalid_numbers_are_refused_with_a_reason() {
        for bad in [
            "",
            "abc",
            "+420 12",
            "777 123 456",
            "+1 555\n0100",
            "+0420777123456",
            "+99",
        ] {
            let err = PhoneNumber::parse(bad, None).unwrap_err();
            assert!(matches!(err, PhoneError::Invalid { .. }), "{bad:?}: {err}");
        }
        assert!(matches!(
            PhoneNumber::parse("777123456", Some("XX")),
            Err(PhoneError::UnknownRegion(_))
        ));
    }
}
