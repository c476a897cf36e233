//! PostgreSQL store (placeholder until implemented).

use crate::store::StoreError;

pub struct PgStore;

impl PgStore {
    pub fn open(_url: &str) -> Result<Self, StoreError> {
        Err(StoreError::Database("PostgreSQL store not implemented yet".into()))
    }
}
