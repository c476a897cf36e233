//! `dialout send --backend … --predictive` against the fake Daktela, through the built
//! binary, with the token from the environment and logging at TRACE on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

use dialout_testkit::fake_daktela::FakeDaktela;
use serde_json::Value;

const TOKEN: &str = "cli-token-94b1e6d03a";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn dialout(dir: PathBuf, args: Vec<String>, token: &'static str) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialout"));
        cmd.current_dir(&dir).args(&args);
        for (k, _) in std::env::vars() {
            if k.starts_with("DIALOUT_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("DIALOUT_LOG", "trace")
            .env("DAKTELA_TOKEN_TEST", token);
        let out = cmd.output().expect("run dialout");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn write_config(dir: &Path, fake: &FakeDaktela) {
    let text = format!(
        "[backends.dk]\nkind = \"daktela\"\nurl = \"{}\"\naccess_token_env = \"DAKTELA_TOKEN_TEST\"\nautodialer_record_type = \"records_tts\"\npredictive_record_type = \"records_predictive\"\ntimeout = 2\n",
        fake.url()
    );
    std::fs::write(dir.join("dialout.toml"), text).unwrap();
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_predictive_creates_a_predictive_record() {
    let fake = FakeDaktela::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let run = dialout(
        dir.path().to_path_buf(),
        args(&[
            "--json",
            "send",
            "+420777123456",
            "Your code is 1234",
            "--backend",
            "dk",
            "--predictive",
        ]),
        TOKEN,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let v: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(v["state"], "READY", "{v}");
    let records = fake.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["record_type"], "records_predictive");
    assert_eq!(records[0]["number"], "00420777123456");
    assert_eq!(
        records[0]["customFields"]["dialout_message_id"],
        serde_json::json!([v["id"]])
    );
    assert_eq!(v["extra_sender_data"]["name"], records[0]["name"], "{v}");
    assert!(!run.stderr.is_empty(), "logging at trace produced output");
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(TOKEN), "token printed: {text}");
    }
    for r in fake.requests() {
        assert!(!r.uri.contains(TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_leaves_the_message_waiting_and_says_why() {
    let fake = FakeDaktela::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let wrong = "wrong-cli-token-1f2e";
    let run = dialout(
        dir.path().to_path_buf(),
        args(&["--json", "send", "+420777123456", "x", "--backend", "dk"]),
        wrong,
    )
    .await;
    assert_eq!(run.code, 0, "a stored message is success: {}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["state"], "WAITING", "{v}");
    assert!(run.stderr.contains("paused"), "{}", run.stderr);
    assert!(fake.records().is_empty());
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(wrong), "token printed: {text}");
    }
}
