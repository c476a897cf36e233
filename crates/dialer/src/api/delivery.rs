//! The worker and the status check, started through the `Dialer`.

use crate::delivery::{self, StatusRun, Worker, WorkerOptions};
use crate::dialer::Dialer;

use crate::api::errors::Error;

impl Dialer {
    /// A worker that publishes due messages, takes in results and runs status checks until
    /// stopped ([`Worker::run`]).
    pub fn worker(&self, options: WorkerOptions) -> Worker {
        Worker::new(self.store().clone(), self.backends().clone(), options)
    }

    /// Asks every backend about its sent, non-final messages inside the status window and
    /// makes final those past it (for cron: `dialout check-status`).
    pub async fn check_status(&self) -> Result<StatusRun, Error> {
        Ok(delivery::check_status(self.store(), self.backends()).await?)
    }
}
