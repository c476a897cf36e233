//! `dialout serve` runs the webhook delivery loop beside the worker: an endpoint added over
//! HTTP receives the events of a message sent over HTTP, at a real local receiver; with
//! `--no-worker` nothing is delivered; SIGTERM still exits 0.

mod runner;
#[path = "../../dialer/tests/webhooks_support/mod.rs"]
mod webhooks_support;
mod worker_support;

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::wait_with_deadline;
use serde_json::{Value, json};
use webhooks_support::{Mode, Receiver};
use worker_support::Env;

const HOOKS: &str = "[webhooks]\ntimeout = \"2s\"\nretry_base = \"100ms\"\nretry_max = \"200ms\"\ninterval = \"50ms\"\n";

fn serve(env: &Env, extra: &[&str]) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen];
    args.extend_from_slice(extra);
    let child = env
        .cmd(&args)
        .env("DIALOUT_LOG", "info")
        .spawn_until("listening on http://", Duration::from_secs(60));
    (child, format!("http://{listen}"))
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

fn deliveries(env: &Env, no_worker: bool) -> usize {
    let token = env
        .run(&["token", "create", "app", "--scope", "send,admin"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let rx = rt.block_on(Receiver::start(Mode::Ok));
    let extra: &[&str] = if no_worker { &["--no-worker"] } else { &[] };
    let (mut child, base) = serve(env, extra);
    let seen = rt.block_on(async {
        let ep = post(
            &http,
            format!("{base}/v1/webhooks"),
            &token,
            json!({"url": rx.url()}),
        )
        .await;
        assert!(ep["secret"].as_str().unwrap().starts_with("whsec_"));
        let m = post(
            &http,
            format!("{base}/v1/messages"),
            &token,
            json!({"recipient": "+420777123456", "content": "hello"}),
        )
        .await;
        let id = m["id"].as_str().unwrap().to_string();
        // Published: its first state change is an event for this message.
        let deadline = Instant::now() + Duration::from_secs(if no_worker { 3 } else { 60 });
        loop {
            let mine = rx
                .requests()
                .iter()
                .filter(|r| r.json()["data"]["message"]["id"] == id.as_str())
                .count();
            if mine >= 1 || Instant::now() > deadline {
                break mine;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let exit = wait_with_deadline(&mut child, Duration::from_secs(30));
    assert_eq!(exit.code(), Some(0), "a clean stop exits 0");
    if !no_worker {
        let first = &rx.requests()[0];
        assert_eq!(first.json()["type"], "message.state_changed");
        assert_eq!(first.json()["data"]["sequence"], 1);
        assert!(first.header("webhook-signature").starts_with("v1,"));
    }
    seen
}

#[test]
fn serve_delivers_webhooks_sqlite() {
    let env = Env::sqlite(HOOKS);
    assert!(deliveries(&env, false) >= 1, "events delivered");
}

#[test]
fn serve_delivers_webhooks_postgres() {
    let env = Env::postgres(HOOKS);
    assert!(deliveries(&env, false) >= 1, "events delivered");
}

#[test]
fn serve_no_worker_leaves_webhooks_to_a_worker() {
    let env = Env::sqlite(HOOKS);
    assert_eq!(
        deliveries(&env, true),
        0,
        "a worker elsewhere delivers them"
    );
}
