//! Recipients of erased messages (retention, `dialout erase`): the number is gone and a
//! keyed hash of it stands in its place, `erased:<64 hex digits>`, so that the store can
//! still tell that two erased messages went to one number (caps, dedupe, counts) without
//! anyone reading the number back.

use super::{PhoneError, PhoneNumber};

/// What an erased recipient starts with.
pub const ERASED_PREFIX: &str = "erased:";

impl PhoneNumber {
    /// The recipient of an erased message: `hash` is the keyed hash's hex digits.
    pub fn erased(hash_hex: &str) -> PhoneNumber {
        PhoneNumber(format!("{ERASED_PREFIX}{hash_hex}"))
    }

    /// Whether this is an erased message's recipient (no number to call).
    pub fn is_erased(&self) -> bool {
        self.0.starts_with(ERASED_PREFIX)
    }

    /// A recipient read back from the store: a number in E.164 form or an erased one.
    pub fn from_stored(text: &str) -> Result<PhoneNumber, PhoneError> {
        match text.strip_prefix(ERASED_PREFIX) {
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(PhoneNumber(text.to_string()))
            }
            _ => PhoneNumber::from_e164(text),
        }
    }

    /// The ways this number may be written in text that quotes it: E.164 (`+420777123456`),
    /// its digits (`420777123456`, `00420777123456` contains them), the national number
    /// (`777123456`) and the national form with spaces (`777 123 456`). Empty when erased.
    pub fn written_forms(&self) -> Vec<String> {
        if self.is_erased() {
            return Vec::new();
        }
        let mut out = vec![self.0.clone(), self.digits().to_string()];
        if let Ok(n) = phonenumber::parse(None, &self.0) {
            out.push(n.national().value().to_string());
            out.push(n.format().mode(phonenumber::Mode::National).to_string());
        }
        out.retain(|f| f.len() >= 4);
        out.sort_by_key(|f| std::cmp::Reverse(f.len()));
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erased_recipients_read_back_and_are_told_apart() {
        let hex = "ab".repeat(32);
        let p = PhoneNumber::from_stored(&format!("erased:{hex}")).unwrap();
        assert!(p.is_erased());
        assert_eq!(p, PhoneNumber::erased(&hex));
        assert!(p.written_forms().is_empty());
        assert!(PhoneNumber::from_stored("erased:xyz").is_err());
        let n = PhoneNumber::from_stored("+420777123456").unwrap();
        assert!(!n.is_erased());
    }

    #[test]
    fn written_forms_cover_e164_digits_and_national() {
        let p = PhoneNumber::parse("777 123 456", Some("CZ")).unwrap();
        let forms = p.written_forms();
        for f in ["+420777123456", "420777123456", "777123456", "777 123 456"] {
            assert!(forms.contains(&f.to_string()), "{f} in {forms:?}");
        }
    }
}
