//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dialout_dialer::Dialer;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub dialer: Arc<Dialer>,
    pub metrics: Arc<Metrics>,
    /// When each token's last use was written: at most once a minute, so that requests do
    /// not each add a write.
    pub touched: Arc<Mutex<HashMap<String, Instant>>>,
}
