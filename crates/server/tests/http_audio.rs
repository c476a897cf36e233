//! `GET /audio/{key}.wav` with a real AMI backend (against the fake AMI server): the audio
//! of a message in flight, for its key only (the backend's own tests cover the end of a
//! message's audio once it is final).

#[path = "../../dialer/tests/ami_support/mod.rs"]
mod ami_support;

use std::sync::Arc;
use std::time::Duration;

use ami_support::{SECRET, USER, backend};
use dialout_backends::Backends;
use dialout_backends::ami::audio::url_key;
use dialout_dialer::{Dialer, SendRequest};
use dialout_testkit::fake_ami::FakeAmi;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_of_a_message_in_flight_is_served_for_its_key_only() {
    let fake = FakeAmi::start(USER, SECRET).await.unwrap();
    // A long playback: the call stays in flight while the test fetches its audio.
    fake.playback(Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let pbx = Arc::new(backend(&fake, &dir.path().join("audio"), ""));
    let store = dialout_store::open(&format!(
        "sqlite://{}",
        dir.path().join("audio.db").display()
    ))
    .unwrap();
    let dialer = Arc::new(Dialer::new(store, Backends::none().with(pbx)));
    let mut request = SendRequest::new("+420777000101", "Your appointment is tomorrow.");
    request.options.backend = Some("pbx".into());
    let sent = dialer.send(request).await.unwrap();
    assert!(!sent.message.is_final_state, "{:?}", sent.message);
    let key = url_key(SECRET, sent.message.id);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = dialout_server::router(Arc::clone(&dialer), Default::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(dialout_server::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{base}/audio/{key}.wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"RIFF", "a WAV file");
    assert_eq!(&bytes[8..12], b"WAVE");
    // The same message under another secret's key: nothing.
    let wrong = url_key("another secret", sent.message.id);
    let r = http
        .get(format!("{base}/audio/{wrong}.wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // A key of the right form for a message that does not exist: nothing.
    let unknown = url_key(SECRET, dialout_dialer::MessageId::new());
    let r = http
        .get(format!("{base}/audio/{unknown}.wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
