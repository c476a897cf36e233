//! What the dashboard's overview shows: counts by state, the queue, the backends.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::delivery::blocking;
use crate::dialer::Dialer;
use dialout_store::StateCount;

use crate::api::errors::Error;

/// One configured backend as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendHealth {
    pub name: String,
    /// Messages with the backend, sent and not final.
    pub in_flight: usize,
    /// Where its last successful status check got to.
    pub cursor: Option<String>,
    /// The backend messages go to unless they name another.
    pub default: bool,
}

impl Dialer {
    /// Messages created since `since`, counted by state in intervals of `bucket` from
    /// `since` on (interval 0 starts at `since`).
    pub async fn state_counts(
        &self,
        since: Timestamp,
        bucket: SignedDuration,
    ) -> Result<Vec<StateCount>, Error> {
        Ok(blocking(self.store(), move |s| s.state_counts(since, bucket)).await?)
    }

    /// The workers heard from at or after `since` (their heartbeats), the most recent first.
    pub async fn workers(
        &self,
        since: Timestamp,
    ) -> Result<Vec<dialout_store::beats::WorkerBeat>, Error> {
        Ok(blocking(self.store(), move |s| s.beats(since)).await?)
    }

    /// Messages waiting to be published.
    pub async fn queue_depth(&self) -> Result<usize, Error> {
        Ok(blocking(self.store(), |s| s.queue_depth()).await?)
    }

    /// Each configured backend with its messages in flight and status cursor.
    pub async fn backend_health(&self) -> Result<Vec<BackendHealth>, Error> {
        let default = self.backends().default_name().to_string();
        let names: Vec<String> = self.backends().names().map(str::to_string).collect();
        Ok(blocking(self.store(), move |s| {
            names
                .into_iter()
                .map(|name| {
                    let st = s.backend_state(&name)?;
                    Ok(BackendHealth {
                        default: name == default,
                        name,
                        in_flight: st.in_flight,
                        cursor: st.cursor,
                    })
                })
                .collect()
        })
        .await?)
    }
}
