//! The Dummy backend: calls nobody; every message ends in DEBUG, final.

use async_trait::async_trait;

use crate::backend::{Accepted, Backend, BackendError, Found, Lookup, Publish};
use dialout_model::message::JsonMap;
use dialout_model::message::Message;
use dialout_model::state::State;

/// `[backends.NAME] kind = "dummy"` has no other keys.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DummySettings {}

pub struct Dummy {
    name: String,
}

impl Dummy {
    pub fn new(name: &str) -> Self {
        Dummy {
            name: name.to_string(),
        }
    }

    fn accepted() -> Accepted {
        Accepted {
            state: State::Debug,
            is_final: true,
            sender_data: JsonMap::new(),
            reason: "dummy backend: not sent".into(),
        }
    }
}

#[async_trait]
impl Backend for Dummy {
    fn name(&self) -> &str {
        &self.name
    }

    async fn publish(&self, _message: &Message) -> Publish {
        Publish::Accepted(Self::accepted())
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }

    /// Calls nobody, so it can pretend to make any call (tests of the faces run on it).
    fn check_interactive(
        &self,
        _ask: &dialout_model::interactive::Interactive,
    ) -> Result<(), String> {
        Ok(())
    }
}

#[async_trait]
impl Lookup for Dummy {
    /// Publishing again has no effect anywhere, so an unknown outcome is safely "no".
    async fn find(&self, _message: &Message) -> Result<Found, BackendError> {
        Ok(Found::No)
    }
}
