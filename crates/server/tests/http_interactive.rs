//! Interactive calls through the HTTP API, on SQLite and PostgreSQL: `gather` and `machine`
//! in send and template bodies, the reply in message answers, the filter by answer, 422 for
//! what cannot be made, and the OpenAPI document naming it all.

mod support;

use serde_json::{Value, json};
use support::{Db, Server};

fn outbox_config(dir: &std::path::Path) -> String {
    format!(
        "default_backend = \"f\"\n[backends.f]\nkind = \"file\"\ndir = {:?}\n\
         [backends.dk]\nkind = \"daktela\"\nurl = \"http://127.0.0.1:9/api/v6/campaignsRecords\"\n\
         access_token = \"t0ken\"\nautodialer_record_type = \"records_1\"\n",
        dir.display().to_string()
    )
}

fn gather() -> Value {
    json!({"prompt": "Press 1 to confirm.", "keys": "12",
           "answers": {"1": "confirmed", "2": "cancelled"}})
}

async fn send_show_and_filter(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(db, &outbox_config(dir.path()), Default::default()).await;
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(
                json!({"recipient": "+420777123456", "content": "Visit tomorrow.",
                        "gather": gather(), "machine": "leave_message"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["gather"]["keys"], "12");
    assert_eq!(r.body["gather"]["timeout"], 5, "defaults filled in");
    assert_eq!(r.body["machine"], "leave_message");
    assert_eq!(r.body["digits"], Value::Null);

    std::fs::create_dir_all(dir.path().join("results")).unwrap();
    std::fs::write(
        dir.path().join("results").join(format!("{id}.json")),
        r#"{"state": "ANSWERED_COMPLETE", "digits": "1", "answered_by": "human"}"#,
    )
    .unwrap();
    s.dialer.check_status().await.unwrap();

    let r = s.call("GET", &format!("/v1/messages/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["digits"], "1");
    assert_eq!(r.body["answer"], "confirmed");
    assert_eq!(r.body["answered_by"], "human");
    assert!(r.body["answered_at"].is_string());
    let last = r.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["to"], "ANSWERED_COMPLETE");
    assert_eq!(last["answer"], "confirmed");
    assert!(r.body["history"][0].get("digits").is_none());

    let listed = s.call("GET", "/v1/messages?answer=confirmed", None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let none = s.call("GET", "/v1/messages?answer=cancelled", None).await;
    assert!(none.body["items"].as_array().unwrap().is_empty());

    // Refusals: 422 naming the field, nothing stored.
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(
                json!({"recipient": "+420777123456", "content": "x", "backend": "dk",
                        "gather": gather()}),
            ),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "gather", "{}", r.text);
    assert!(r.text.contains("campaign records API"), "{}", r.text);
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": "x",
                        "gather": {"keys": "12", "timeout": 99}})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "gather", "{}", r.text);
    assert!(r.text.contains("timeout 99"), "{}", r.text);
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": "x", "machine": "voicemail"})),
        )
        .await;
    r.problem(422);
    assert_eq!(s.count().await, 1);
    s.stop().await;
}

async fn templates_carry_and_patch(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(db, &outbox_config(dir.path()), Default::default()).await;
    let r = s
        .call(
            "POST",
            "/v1/templates",
            Some(json!({"slug": "visit", "body": "Visit at {{ time }}.",
                        "gather": gather(), "machine": "hangup"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["gather"]["answers"]["1"], "confirmed");
    assert_eq!(r.body["machine"], "hangup");
    let r = s
        .call(
            "POST",
            "/v1/templates/visit/messages",
            Some(
                json!({"recipient": "+420777123456", "context": {"time": "9:00"},
                        "machine": "ignore"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["gather"]["keys"], "12");
    assert_eq!(r.body["machine"], "ignore");
    // null removes, absence keeps.
    let r = s
        .call(
            "PATCH",
            "/v1/templates/visit",
            Some(json!({"gather": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["gather"], Value::Null);
    assert_eq!(r.body["machine"], "hangup");
    let r = s
        .call(
            "PATCH",
            "/v1/templates/visit",
            Some(json!({"gather": {"keys": "1", "answers": {"2": "x"}}})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "gather", "{}", r.text);
    s.stop().await;
}

async fn the_document_names_it(db: Db) {
    let s = Server::start(db).await;
    let r = s.call("GET", "/openapi.json", None).await;
    let schemas = &r.body["components"]["schemas"];
    assert!(
        schemas["Gather"]["properties"]["keys"].is_object(),
        "{}",
        r.text
    );
    assert!(schemas["SendBody"]["properties"]["gather"].is_object());
    assert!(schemas["SendBody"]["properties"]["machine"].is_object());
    for f in [
        "digits",
        "answer",
        "answered_by",
        "answered_at",
        "gather",
        "machine",
    ] {
        assert!(schemas["MessageOut"]["properties"][f].is_object(), "{f}");
    }
    assert!(schemas["TemplatePatch"]["properties"]["gather"].is_object());
    let machine = schemas["MachinePolicy"].to_string();
    assert!(machine.contains("leave_message"), "{machine}");
    s.stop().await;
}

both!(
    send_show_and_filter,
    templates_carry_and_patch,
    the_document_names_it
);
