//! The worker and the status check, started through the `Dialer`.

use crate::delivery::{self, StatusRun, Worker, WorkerOptions};
use crate::dialer::Dialer;

use crate::api::errors::Error;

impl Dialer {
    /// A worker that publishes due messages, takes in results and runs status checks until
    /// stopped ([`Worker::run`]).
    /// `[retention]` comes from the configuration unless `options` sets some.
    pub fn worker(&self, mut options: WorkerOptions) -> Worker {
        if !options.retention.any() {
            options.retention = self.retention;
        }
        Worker::new(self.store().clone(), self.backends().clone(), options)
    }

    /// Asks every backend about its sent, non-final messages inside the status window and
    /// makes final those past it (for cron: `dialout check-status`).
    pub async fn check_status(&self) -> Result<StatusRun, Error> {
        Ok(delivery::check_status(self.store(), self.backends()).await?)
    }
}
