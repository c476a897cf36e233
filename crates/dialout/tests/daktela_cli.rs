//! `dialout send --backend … --predictive` against the fake Daktela, through the built
//! binary, with the token from the environment and logging at TRACE on stderr.

mod runner;

use std::path::Path;

use dialout_testkit::fake_daktela::FakeDaktela;
use runner::{Dialout, Run};

const TOKEN: &str = "cli-token-94b1e6d03a";

/// `dialout ARGS` in `dir` at TRACE, with `token` in the variable the configuration names.
/// Off the runtime's threads: the fake Daktela runs on them.
async fn dialout(dir: &Path, args: &[&str], token: &str) -> Run {
    Dialout::new()
        .dir(dir)
        .args(args)
        .log("trace")
        .env("DAKTELA_TOKEN_TEST", token)
        .run_blocking()
        .await
}

fn write_config(dir: &Path, fake: &FakeDaktela) {
    let text = format!(
        "[backends.dk]\nkind = \"daktela\"\nurl = \"{}\"\naccess_token_env = \"DAKTELA_TOKEN_TEST\"\nautodialer_record_type = \"records_tts\"\npredictive_record_type = \"records_predictive\"\ntimeout = 2\n",
        fake.url()
    );
    std::fs::write(dir.join("dialout.toml"), text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_predictive_creates_a_predictive_record() {
    let fake = FakeDaktela::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let run = dialout(
        dir.path(),
        &[
            "--json",
            "send",
            "+420777123456",
            "Your code is 1234",
            "--backend",
            "dk",
            "--predictive",
        ],
        TOKEN,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let v = run.json();
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
        dir.path(),
        &["--json", "send", "+420777123456", "x", "--backend", "dk"],
        wrong,
    )
    .await;
    assert_eq!(run.code, 0, "a stored message is success: {}", run.stderr);
    let v = run.json();
    assert_eq!(v["state"], "WAITING", "{v}");
    assert!(run.stderr.contains("paused"), "{}", run.stderr);
    assert!(fake.records().is_empty());
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(wrong), "token printed: {text}");
    }
}

/// `dialout erase` erases dialout's copy and says that Daktela's record stays: Daktela's API
/// offers no deletion, and an erasure must not look complete when it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_says_that_the_daktela_record_stays() {
    let fake = FakeDaktela::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let sent = dialout(
        dir.path(),
        &[
            "send",
            "+420777123456",
            "Your code is 1234",
            "--backend",
            "dk",
        ],
        TOKEN,
    )
    .await;
    assert_eq!(sent.code, 0, "{}\n{}", sent.stdout, sent.stderr);
    let erased = dialout(dir.path(), &["erase", "+420777123456"], TOKEN).await;
    assert_eq!(erased.code, 0, "{}\n{}", erased.stdout, erased.stderr);
    assert!(
        erased.stdout.contains("erased 1 message(s)")
            && erased
                .stdout
                .contains("not erased: 1 message(s) of backend dk: Daktela keeps"),
        "{}",
        erased.stdout
    );
    let again = dialout(dir.path(), &["--json", "erase", "+420777123456"], TOKEN).await;
    let v = again.json();
    assert_eq!(v["remote_copies"][0]["backend"], "dk", "{v}");
    assert_eq!(v["remote_copies"][0]["messages"], 1, "{v}");
    // What the note says: the record is still there, number and all.
    let records = fake.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["number"], "00420777123456");
}
