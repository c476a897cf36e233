//! `dialout doctor`: each Asterisk backend of a configuration checked against this machine.

use serde::Serialize;

use crate::backends::asterisk::AsteriskConfig;
use crate::backends::asterisk::checks::{ASTERISK_ETC, doctor};
use crate::config::{BackendSettings, Config};
use crate::tts::EspeakNg;

pub use crate::backends::asterisk::checks::Check;

/// The checks of one backend.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub backend: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// Checks every backend of kind `asterisk` (or only `only`) against this machine: the
/// directories, permissions, espeak-ng and the dialplan. Nothing is opened or started. An
/// empty list: no such backend is configured.
pub fn check_asterisk_backends(config: &Config, only: Option<&str>) -> Vec<DoctorReport> {
    let mut reports = Vec::new();
    for (name, bc) in &config.backends {
        let BackendSettings::Asterisk(settings) = &bc.settings else {
            continue;
        };
        if only.is_some_and(|b| b != name) {
            continue;
        }
        let checks = match AsteriskConfig::new(name, settings) {
            Ok(ac) => doctor(&ac, &EspeakNg::new(), std::path::Path::new(ASTERISK_ETC)),
            Err(e) => vec![Check {
                what: "the configuration is valid".into(),
                ok: false,
                fix: Some(e.to_string()),
            }],
        };
        reports.push(DoctorReport {
            backend: name.clone(),
            ok: checks.iter().all(|c| c.ok),
            checks,
        });
    }
    reports
}
