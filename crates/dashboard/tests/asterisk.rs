//! A message sent through the Asterisk backend: its page shows the call file the backend
//! spooled and plays the audio it rendered (espeak-ng needed, as for the backend itself).

mod common;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use dialout_backends::asterisk::AsteriskConfig;
use dialout_backends::tts::EspeakNg;
use dialout_backends::{Asterisk, Backends};
use dialout_dashboard::DashboardOptions;
use dialout_dialer::{SendRequest, State};

use common::http::*;

#[tokio::test]
async fn an_asterisk_message_shows_its_call_file_and_plays_its_audio() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pbx");
    std::fs::create_dir_all(root.join("outgoing")).unwrap();
    let text = format!(
        "spool_dir = \"{}/outgoing\"\nchannel = \"PJSIP/{{number}}@trunk\"\n",
        root.display()
    );
    let config = AsteriskConfig::from_table("pbx", &toml::from_str(&text).unwrap()).unwrap();
    let espeak = EspeakNg::new();
    if let Err(e) = dialout_backends::tts::Tts::check(&espeak, "en") {
        panic!("this test needs espeak-ng (apt-get install -y espeak-ng): {e}");
    }
    let backend = Asterisk::start("pbx", config, Arc::new(espeak)).unwrap();
    let (r, dialer, _tokens) = common::router_with(
        &dir,
        Backends::single(Arc::new(backend)),
        DashboardOptions::default(),
    );
    let m = dialer
        .send(SendRequest::new(
            "+420777123456",
            "Your appointment is tomorrow at ten.",
        ))
        .await
        .unwrap()
        .message;
    assert_eq!(m.state, State::Ready, "spooled for Asterisk");

    let c = session(&r, common::READ).await;
    let page = get(&r, Some(&c), &format!("/messages/{}", m.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    // minijinja escapes `/` in HTML.
    let body = page.body.replace("&#x2f;", "/");
    assert!(body.contains("call file (spooled)"), "{body}");
    assert!(
        body.contains("Channel: PJSIP/+420777123456@trunk"),
        "{body}"
    );
    assert!(body.contains(&format!("src=\"/messages/{}/audio\"", m.id)));

    let audio = get(&r, Some(&c), &format!("/messages/{}/audio", m.id)).await;
    assert_eq!(audio.status, StatusCode::OK);
    assert_eq!(audio.headers[header::CONTENT_TYPE], "audio/wav");
    assert!(audio.body.starts_with("RIFF"), "a WAV file");
    // Not without a session.
    let anon = get(&r, None, &format!("/messages/{}/audio", m.id)).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
}
