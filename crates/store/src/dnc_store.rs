//! The do-not-call list as kept (the rules are `dialout_model::dnc`).
use crate::error::StoreError;
use dialout_model::dnc::DncEntry;
use dialout_model::phone::PhoneNumber;
use jiff::Timestamp;

/// The do-not-call list's entries.
pub trait DncStore: Send + Sync {
    /// Adds or replaces entries (by number); returns how many numbers were not listed yet.
    fn dnc_add(&self, entries: &[DncEntry]) -> Result<usize, StoreError>;
    /// Whether the number was listed.
    fn dnc_remove(&self, number: &PhoneNumber) -> Result<bool, StoreError>;
    /// Every entry, expired ones included, by number.
    fn dnc_list(&self) -> Result<Vec<DncEntry>, StoreError>;
    /// The entries of these numbers that apply at `now`.
    fn dnc_find(
        &self,
        numbers: &[PhoneNumber],
        now: Timestamp,
    ) -> Result<Vec<DncEntry>, StoreError>;
}
