//! `dialout doctor` for AMI backends: the speech engine, the audio directory, the AMI login,
//! the dialplan's context (ShowDialPlan) and that Asterisk can fetch a test audio URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::config::{AmiConfig, AmiSettings, AudioPlace};
use super::proto::Packet;
use super::session::{Endpoint, Events, Link, Session};
use crate::shared::check::{Check, fail, pass};
use crate::tts::{EspeakNg, Tts};
use dialout_model::id::MessageId;

/// The file `dialout serve` hands out for the doctor's test key.
pub const TEST_AUDIO: &str = "dialout-doctor.wav";

/// The message id of the doctor's test key (no message has it).
pub fn test_id() -> MessageId {
    MessageId::from_uuid(uuid::Uuid::nil())
}

struct Quiet;

impl Events for Quiet {
    fn event(&self, _p: &Packet) {}
    fn connected(&self, _conn: u64) {}
    fn disconnected(&self, _conn: u64, _restart: bool) {}
}

/// A second of silence, where `dialout serve` finds it for the test key.
fn write_test_audio(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(TEST_AUDIO);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).map_err(|e| e.to_string())?;
    for _ in 0..8000 {
        w.write_sample(0i16).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

pub async fn doctor(name: &str, settings: &AmiSettings, tts: &EspeakNg) -> Vec<Check> {
    let config = match AmiConfig::new(name, settings) {
        Ok(c) => c,
        Err(e) => return vec![fail("the configuration is valid", e.to_string())],
    };
    let mut checks = vec![pass("the configuration is valid")];
    checks.push(match tts.check(&config.voice) {
        Ok(v) => pass(format!("text-to-speech: {v}, voice {}", config.voice)),
        Err(e) => fail(
            format!("text-to-speech voice {}", config.voice),
            e.to_string(),
        ),
    });
    let test_audio = write_test_audio(&config.audio_dir);
    checks.push(match &test_audio {
        Ok(_) => pass(format!(
            "audio_dir {} is writable",
            config.audio_dir.display()
        )),
        Err(e) => fail(
            format!("audio_dir {} is writable", config.audio_dir.display()),
            e.clone(),
        ),
    });
    let session = Session::new(Endpoint {
        host: config.host.clone(),
        port: config.port,
        username: config.username.clone(),
        secret: config.secret.clone(),
        ping_every: Duration::from_secs(30),
        backoff_max: super::BACKOFF_MAX,
        auth_retry: Duration::from_secs(60),
    });
    let quiet: Arc<dyn Events> = Arc::new(Quiet);
    let task = session.spawn(Arc::downgrade(&quiet));
    let at = format!("{}:{}", config.host, config.port);
    let link = session.settled(Duration::from_secs(8)).await;
    let up = match &link {
        Link::Up => {
            checks.push(pass(format!("AMI login as {:?} on {at}", config.username)));
            true
        }
        Link::AuthFailed(why) => {
            checks.push(fail(
                format!("AMI login as {:?} on {at}", config.username),
                format!("the login was refused (Asterisk said {why:?}): check username and secret against /etc/asterisk/manager.conf (then `asterisk -rx \"manager reload\"`)"),
            ));
            false
        }
        Link::ShuttingDown => {
            checks.push(fail(
                format!("AMI login as {:?} on {at}", config.username),
                "Asterisk is shutting down (a restart or stop under way) and refuses every action, the login included: this says nothing about the username or secret; run `dialout doctor` again once it is up".to_string(),
            ));
            false
        }
        Link::Down(_) | Link::Starting => {
            let why = match &link {
                Link::Down(w) => w.clone(),
                _ => "no answer".into(),
            };
            checks.push(fail(
                format!("AMI reachable on {at}"),
                format!("{why}: is the manager enabled (manager.conf [general] enabled = yes, port, bindaddr) and the port open?"),
            ));
            false
        }
    };
    if up {
        checks.push(
            match session
                .request(&[("Action", "ShowDialPlan"), ("Context", &config.context)])
                .await
            {
                Ok(r) if r.success() => pass(format!("the dialplan has context [{}]", config.context)),
                Ok(r) => fail(
                    format!("the dialplan has context [{}]", config.context),
                    format!(
                        "Asterisk said {:?}: install it with `dialout asterisk dialplan --ami{}` (see the README), then `asterisk -rx \"dialplan reload\"`; the manager user needs read/write `reporting` for this check",
                        r.message(),
                        if config.context == super::DEFAULT_CONTEXT { String::new() } else { format!(" --context {}", config.context) }
                    ),
                ),
                Err(e) => fail(format!("the dialplan has context [{}]", config.context), e.to_string()),
            },
        );
        checks.push(amd_loaded(&session).await);
        if let (AudioPlace::Url(base), Ok(_)) = (&config.audio, &test_audio) {
            let url = format!(
                "{base}/{}.wav",
                super::audio::url_key(config.secret.expose(), test_id())
            );
            let shown = format!("{base}/<test key>.wav");
            let what = format!("Asterisk fetches a test audio URL ({shown})");
            let cmd = format!("media cache refresh {url}");
            checks.push(
                match session.request(&[("Action", "Command"), ("Command", &cmd)]).await {
                    Ok(r) if r.success() => {
                        let out: Vec<&str> = r
                            .response
                            .0
                            .iter()
                            .filter(|(k, _)| k.eq_ignore_ascii_case("Output"))
                            .map(|(_, v)| v.as_str())
                            .collect();
                        if out.iter().any(|l| l.contains("Unable") || l.contains("fail")) {
                            fail(what, format!("Asterisk could not fetch it ({}): is `dialout serve` running and reachable from the PBX at {base}?", out.join(" ")))
                        } else {
                            pass(what)
                        }
                    }
                    Ok(r) => fail(
                        what,
                        format!(
                            "Asterisk said {:?}: this check needs the `command` write right; or test by hand on the PBX: asterisk -rx \"media cache refresh {shown}\"",
                            r.message()
                        ),
                    ),
                    Err(e) => fail(what, e.to_string()),
                },
            );
        }
        if let AudioPlace::Shared(d) = &config.audio {
            checks.push(pass(format!(
                "audio goes through a shared directory: Asterisk must read {} as {}",
                config.audio_dir.display(),
                d.display()
            )));
        }
    }
    task.abort();
    checks
}

/// `module show like app_amd` (CLI through `Action: Command`): app_amd declines to load
/// without amd.conf, and `AMD()` is then "No application" (the call hangs up at once). Only
/// messages with a machine policy run `AMD()`.
async fn amd_loaded(session: &Session) -> Check {
    let what = "machine detection: app_amd is loaded (messages with a machine policy run AMD())";
    match session
        .request(&[
            ("Action", "Command"),
            ("Command", "module show like app_amd"),
        ])
        .await
    {
        Ok(r) if r.success() => {
            let loaded = r
                .response
                .0
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("Output"))
                .any(|(_, v)| v.trim_start().starts_with("app_amd.so"));
            if loaded {
                pass(what)
            } else {
                fail(
                    what,
                    "copy Asterisk's configs/samples/amd.conf.sample to /etc/asterisk/amd.conf, then asterisk -rx \"module load app_amd.so\" (or send no message with a machine policy through this backend)",
                )
            }
        }
        Ok(r) => fail(
            what,
            format!(
                "Asterisk said {:?}: this check needs the `command` write right; or look on the PBX: asterisk -rx \"module show like app_amd\"",
                r.message()
            ),
        ),
        Err(e) => fail(what, e.to_string()),
    }
}
