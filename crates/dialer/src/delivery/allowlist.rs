//! The allowlist for test environments (pymess's `TESTING_PHONES`): when configured, only
//! these numbers are ever handed to a backend; any other message ends in ERROR.

use std::collections::HashSet;

use dialout_model::phone::PhoneNumber;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    /// None: no restriction.
    numbers: Option<HashSet<PhoneNumber>>,
}

impl Allowlist {
    pub fn new(numbers: Option<&[PhoneNumber]>) -> Self {
        Allowlist {
            numbers: numbers.map(|n| n.iter().cloned().collect()),
        }
    }

    /// None when the number may be called, else the error stored on the message.
    pub fn refusal(&self, number: &PhoneNumber) -> Option<String> {
        match &self.numbers {
            Some(set) if !set.contains(number) => Some(format!(
                "recipient {number} is not in the allowlist (delivery.allowlist): this installation only calls listed test numbers"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_numbers_pass_when_configured() {
        let ok = PhoneNumber::from_e164("+420777123456").unwrap();
        let other = PhoneNumber::from_e164("+420777000000").unwrap();
        assert_eq!(Allowlist::new(None).refusal(&other), None);
        let a = Allowlist::new(Some(std::slice::from_ref(&ok)));
        assert_eq!(a.refusal(&ok), None);
        let e = a.refusal(&other).unwrap();
        assert!(
            e.contains("+420777000000") && e.contains("allowlist"),
            "{e}"
        );
        assert!(
            Allowlist::new(Some(&[])).refusal(&ok).is_some(),
            "an empty list allows nobody"
        );
    }
}
