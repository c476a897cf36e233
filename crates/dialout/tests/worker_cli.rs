//! `dialout check-status`, `dialout messages cancel|resend` and routing through the binary.

mod runner;
mod worker_support;

use dialout_dialer::State;
use worker_support::{Env, outbox_file};

fn sent(env: &Env, n: usize) -> Vec<dialout_dialer::MessageId> {
    (0..n)
        .map(|i| {
            let v = env
                .run(&["--json", "send", "+420777123456", &format!("message {i}")])
                .ok()
                .json();
            assert_eq!(v["state"], "READY");
            v["id"].as_str().unwrap().parse().unwrap()
        })
        .collect()
}

fn result(env: &Env, id: dialout_dialer::MessageId, body: &str) {
    let dir = env.outbox().join("results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{id}.json")), body).unwrap();
}

#[test]
fn check_status_updates_the_rest_and_reports_failures() {
    let env = Env::sqlite("");
    let ids = sent(&env, 4);
    result(&env, ids[0], r#"{"state": "ANSWERED_PARTIAL"}"#);
    result(&env, ids[1], "not json at all");
    result(&env, ids[2], r#"{"error": "no such record"}"#);
    let run = env.run(&["--json", "check-status"]).ok();
    let v = run.json();
    let b = &v["backends"][0];
    assert_eq!(b["checked"], 4);
    let updated = b["updated"].as_array().unwrap();
    assert_eq!(updated.len(), 2, "{b}");
    assert!(
        updated.iter().any(|u| u["state"] == "ANSWERED_PARTIAL"),
        "{b}"
    );
    // A result that says error is an outcome, not a failed check.
    assert!(updated.iter().any(|u| u["state"] == "ERROR"), "{b}");
    assert_eq!(b["failures"].as_array().unwrap().len(), 1);
    assert_eq!(
        b["failures"][0]["state"], "READY",
        "the last real state is kept"
    );
    let errored = env
        .run(&["--json", "messages", "show", &ids[2].to_string()])
        .ok()
        .json();
    assert_eq!(errored["state"], "ERROR", "{errored}");
    assert_eq!(errored["is_final_state"], true, "{errored}");
    assert_eq!(errored["error"], "no such record", "{errored}");
    // Cancelling it is too late: it is final.
    let cancel = env.run(&["messages", "cancel", &ids[2].to_string()]);
    assert!(
        cancel.stdout.contains("final") || cancel.stderr.contains("final"),
        "{}{}",
        cancel.stdout,
        cancel.stderr
    );

    let show = env
        .run(&["messages", "show", &ids[1].to_string()])
        .ok()
        .stdout;
    assert!(
        show.contains("READY -> ERROR_UPDATE"),
        "ERROR_UPDATE is visible in the history:\n{show}"
    );
    let human = env.run(&["check-status"]).ok().stdout;
    assert!(
        human.contains("ERROR_UPDATE (66)") && human.contains("malformed"),
        "{human}"
    );
}

#[test]
fn an_outage_exits_non_zero_and_counts_against_nobody() {
    let env = Env::sqlite("");
    let ids = sent(&env, 2);
    std::fs::rename(env.outbox(), env.dir.path().join("gone")).unwrap();
    let run = env.run(&["--json", "check-status"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("status check incomplete") && run.stderr.contains("out"),
        "{}",
        run.stderr
    );
    let v = run.json();
    assert!(
        v["backends"][0]["outage"]
            .as_str()
            .unwrap()
            .contains("not a directory")
    );
    for m in env.messages() {
        assert_eq!((m.state, m.check_failures), (State::Ready, 0));
    }
    assert_eq!(ids.len(), 2);
}

#[test]
fn cancel_and_resend_through_the_cli() {
    let env = Env::sqlite("");
    let ids = sent(&env, 2);
    let v = env
        .run(&["--json", "messages", "cancel", &ids[0].to_string()])
        .ok()
        .json();
    assert_eq!(v["outcome"], "withdrawn");
    assert_eq!(v["message"]["state"], "ERROR");
    assert!(!outbox_file(&env.outbox(), ids[0]).exists());

    std::fs::remove_file(outbox_file(&env.outbox(), ids[1])).unwrap();
    let run = env.run(&["messages", "cancel", &ids[1].to_string()]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("too_late"), "{}", run.stdout);
    let show = env
        .run(&["messages", "show", &ids[1].to_string()])
        .ok()
        .stdout;
    assert!(
        show.contains("cancel requested"),
        "the history says what happened:\n{show}"
    );

    let v = env
        .run(&["--json", "messages", "resend", &ids[1].to_string()])
        .ok()
        .json();
    assert_eq!(v["resent_from"], ids[1].to_string());
    assert_eq!(v["state"], "READY");
    assert_eq!(env.publishes()[v["id"].as_str().unwrap()], 1);

    let run = env.run(&["messages", "cancel", "not-an-id"]);
    assert_eq!(run.code, 2, "invalid input: {}", run.stderr);
}

#[test]
fn routes_and_the_allowlist_from_the_configuration() {
    let env = Env::sqlite(
        "allowlist = [\"777 123 456\", \"+1 202 555 0123\"]\n[delivery.routes]\n\"+1\" = \"us\"\n",
    );
    let cfg = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!("default_backend = \"out\"\n{cfg}\n[backends.us]\nkind = \"dummy\"\n"),
    )
    .unwrap();
    let us = env
        .run(&["--json", "send", "+1 202 555 0123", "hi"])
        .ok()
        .json();
    assert_eq!(
        (us["backend"].as_str(), us["state"].as_str()),
        (Some("us"), Some("DEBUG"))
    );
    let cz = env
        .run(&["--json", "send", "777 123 456", "hi"])
        .ok()
        .json();
    assert_eq!(cz["backend"], "out");
    let refused = env.run(&["--json", "send", "777 999 888", "hi"]).ok();
    let v = refused.json();
    assert_eq!(
        (v["state"].as_str(), v["is_final_state"].as_bool()),
        (Some("ERROR"), Some(true))
    );
    assert!(v["error"].as_str().unwrap().contains("allowlist"), "{v}");
}
