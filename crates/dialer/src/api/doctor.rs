//! `dialout doctor`: each Asterisk backend of a configuration checked against this machine.

use serde::Serialize;

use crate::config::Config;
use dialout_backends::asterisk::AsteriskConfig;
use dialout_backends::asterisk::checks::{ASTERISK_ETC, doctor};
use dialout_backends::settings::BackendSettings;
use dialout_backends::tts::EspeakNg;

pub use dialout_backends::shared::check::Check;

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

/// Checks every backend of kind `ami` (or only `only`): the speech engine, audio_dir, the
/// AMI login, the dialplan's context and that Asterisk can fetch a test audio URL. An empty
/// list: no such backend is configured.
pub async fn check_ami_backends(config: &Config, only: Option<&str>) -> Vec<DoctorReport> {
    let mut reports = Vec::new();
    for (name, bc) in &config.backends {
        let BackendSettings::Ami(settings) = &bc.settings else {
            continue;
        };
        if only.is_some_and(|b| b != name) {
            continue;
        }
        let checks = dialout_backends::ami::doctor::doctor(name, settings, &EspeakNg::new()).await;
        reports.push(DoctorReport {
            backend: name.clone(),
            ok: checks.iter().all(|c| c.ok),
            checks,
        });
    }
    reports
}
