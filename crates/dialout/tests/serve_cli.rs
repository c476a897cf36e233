//! `dialout token` and `dialout serve` as a process: tokens from the CLI, a graceful stop
//! with a request in flight (SQLite and PostgreSQL), and schemathesis against /openapi.json.

mod runner;
mod worker_support;

use std::process::Child;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::wait_with_deadline;
use serde_json::{Value, json};
use worker_support::Env;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn token(env: &Env, name: &str, scopes: &str) -> String {
    let run = env.run(&["token", "create", name, "--scope", scopes]).ok();
    let t = run.stdout.trim().to_string();
    assert!(t.starts_with("dlo_") && t.len() > 64, "{t:?}");
    assert!(
        !run.stderr.contains(&t),
        "the token is printed on stdout only"
    );
    t
}

fn serve(env: &Env) -> (Child, String) {
    let port = free_port();
    let child = env
        .cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DIALOUT_LOG", "info")
        .spawn_until("listening on http://", Duration::from_secs(60));
    (child, format!("http://127.0.0.1:{port}"))
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn token_create_list_revoke() {
    let env = Env::sqlite("");
    let secret = token(&env, "ci", "send,read");
    let run = env.run(&["token", "list", "--json"]).ok();
    let list = run.json();
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["scopes"], json!(["send", "read"]));
    assert!(!run.stdout.contains(&secret[20..]), "never the token");
    env.run(&["token", "create", "ci", "--scope", "read"])
        .assert_code(2);
    env.run(&["token", "create", "x", "--scope", "root"])
        .assert_code(2);
    env.run(&["token", "revoke", "ci"]).ok();
    env.run(&["token", "revoke", "ci"]).assert_code(2);
    assert_eq!(env.run(&["token", "list", "--json"]).ok().json(), json!([]));
}

/// SIGTERM while a batch is being stored and published: that request is answered, nothing
/// is left claimed, and the process exits 0.
fn graceful_stop(env: Env) {
    let t = token(&env, "ci", "send,read");
    let (mut child, base) = serve(&env);
    let rt = runtime();
    let http = client();
    let n = 3000;
    let messages: Vec<Value> = (0..n)
        .map(|i| json!({"recipient": format!("+42077712{:04}", i), "content": "stop test"}))
        .collect();
    let body = serde_json::to_vec(&json!({ "messages": messages })).unwrap();
    let request = http
        .post(format!("{base}/v1/messages/batch"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(body)
        .send();
    let pid = Pid::from_raw(child.id() as i32);
    let status = rt.block_on(async {
        let inflight = tokio::spawn(request);
        // Until the batch is being published: files appear in the outbox.
        let outbox = env.outbox();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0) == 0 {
            assert!(std::time::Instant::now() < deadline, "nothing published");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        kill(pid, Signal::SIGTERM).unwrap();
        let r = inflight
            .await
            .unwrap()
            .expect("the request in flight is answered");
        r.status().as_u16()
    });
    assert_eq!(status, 201, "the request in flight completed");
    let exit = wait_with_deadline(&mut child, Duration::from_secs(60));
    assert_eq!(exit.code(), Some(0), "a clean stop exits 0");
    assert_eq!(env.claimed(), 0, "no claim left behind");
    assert_eq!(env.messages().len(), n);
    // Stopped accepting.
    let refused = rt.block_on(http.get(format!("{base}/healthz")).send());
    assert!(refused.is_err(), "nothing listens after the stop");
}

#[test]
fn sqlite_sigterm_finishes_requests_in_flight() {
    graceful_stop(Env::sqlite(""));
}

#[test]
fn postgres_sigterm_finishes_requests_in_flight() {
    graceful_stop(Env::postgres(""));
}

/// schemathesis generates requests from /openapi.json: no 5xx, no response outside the
/// document. It must be installed (scripts/test installs it with pip).
#[test]
fn schemathesis_finds_no_server_error_nor_schema_violation() {
    let found = std::process::Command::new("schemathesis")
        .arg("--version")
        .output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "schemathesis is needed for this test: pip install schemathesis (scripts/test installs it)"
    );
    let env = Env::sqlite("");
    let t = token(&env, "schemathesis", "send,read,admin");
    let (mut child, base) = serve(&env);
    // In the test's directory: schemathesis keeps a cache where it runs.
    let out = std::process::Command::new("schemathesis")
        .current_dir(env.dir.path())
        .args([
            "run",
            &format!("{base}/openapi.json"),
            "--header",
            &format!("Authorization: Bearer {t}"),
            "--max-examples",
            "20",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
            "--no-color",
        ])
        .output()
        .expect("run schemathesis");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let exit = wait_with_deadline(&mut child, Duration::from_secs(30));
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis failed:\n{said}");
    assert!(said.contains("passed"), "{said}");
    assert!(!said.contains(&t), "the token is not echoed");
    assert_eq!(exit.code(), Some(0));
}
