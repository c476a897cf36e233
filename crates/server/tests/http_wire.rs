//! The endpoints over the later pieces, through real HTTP on SQLite and PostgreSQL:
//! `/v1/webhooks`, `/v1/dnc`, `/audio/`, and the send options `time_zone` and
//! `allow_duplicate` with the 409 of the recipient rules.

mod support;
#[path = "../../dialer/tests/webhooks_support/mod.rs"]
mod webhooks_support;

use std::time::Duration;

use dialout_dialer::Scope;
use serde_json::{Value, json};
use support::{Db, Reply, Server};
use webhooks_support::{Mode, Receiver};

fn msg(recipient: &str, content: &str) -> Value {
    json!({ "recipient": recipient, "content": content })
}

async fn webhooks_endpoints(db: Db) {
    let s = Server::start(db).await;
    let rx = Receiver::start(Mode::Ok).await;
    // Admin only.
    let r = Reply::from(s.http.get(s.url("/v1/webhooks")).send().await.unwrap()).await;
    r.problem(401);
    let reader = s.token("reader", &[Scope::Read, Scope::Send]).await;
    s.call_as(&reader, "GET", "/v1/webhooks", None)
        .await
        .problem(403);
    s.call_as(
        &reader,
        "POST",
        "/v1/webhooks",
        Some(json!({"url": rx.url()})),
    )
    .await
    .problem(403);
    s.call_as(&reader, "POST", "/v1/webhooks/replay", Some(json!({})))
        .await
        .problem(403);

    // Add: the secret once, then never again.
    let r = s
        .call(
            "POST",
            "/v1/webhooks",
            Some(json!({"url": rx.url(), "events": ["message.final"], "tag": "orders"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(r.body["events"], json!(["message.final"]));
    assert_eq!(r.body["tag"], "orders");
    assert_eq!(r.body["active"], true);
    let id = r.body["id"].as_i64().unwrap();
    let r = s.call("GET", "/v1/webhooks", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["id"], id);
    assert!(!r.text.contains(&secret), "the list never shows the secret");

    // Bad input: 422, nothing stored.
    for (bad, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "http://user:pw@example.com/x"}), "url"),
        (
            json!({"url": rx.url(), "events": ["message.nope"]}),
            "events",
        ),
        (json!({"url": rx.url(), "tag": "not a tag!"}), "tag"),
    ] {
        let r = s.call("POST", "/v1/webhooks", Some(bad.clone())).await;
        r.problem(422);
        assert_eq!(r.field(), field, "{}", r.text);
        assert!(!r.text.contains("pw@"), "{}", r.text);
    }
    s.call("POST", "/v1/webhooks", Some(json!({"link": "x"})))
        .await
        .problem(422);
    assert_eq!(
        s.call("GET", "/v1/webhooks", None).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Test: posted now, signed, recorded as delivered.
    let r = s
        .call("POST", &format!("/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["type"], "webhook.test");
    assert_eq!(r.body["state"], "delivered", "{}", r.text);
    assert_eq!(r.body["last_status"], 200);
    let delivery = r.body["id"].as_i64().unwrap();
    rx.wait_for(1, Duration::from_secs(10)).await;
    let got = &rx.requests()[0];
    assert_eq!(got.json()["type"], "webhook.test");
    assert!(
        got.header("webhook-signature").starts_with("v1,"),
        "{:?}",
        got.headers
    );
    s.call("POST", "/v1/webhooks/999999/test", None)
        .await
        .problem(404);
    s.call("POST", "/v1/webhooks/abc/test", None)
        .await
        .problem(404);

    // Deliveries, with the failed filter.
    let r = s
        .call("GET", &format!("/v1/webhooks/{id}/deliveries"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"][0]["id"], delivery);
    let r = s
        .call(
            "GET",
            &format!("/v1/webhooks/{id}/deliveries?failed=true&limit=5"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"], json!([]));
    s.call(
        "GET",
        &format!("/v1/webhooks/{id}/deliveries?failed=maybe"),
        None,
    )
    .await
    .problem(422);
    s.call(
        "GET",
        &format!("/v1/webhooks/{id}/deliveries?limit=0"),
        None,
    )
    .await
    .problem(422);
    s.call("GET", "/v1/webhooks/999999/deliveries", None)
        .await
        .problem(404);

    // PATCH: off by hand, then a replay to it is refused (409, nothing queued), and so is
    // the same URL again; on again, and the replay below goes through.
    let path = format!("/v1/webhooks/{id}");
    s.call_as(&reader, "PATCH", &path, Some(json!({"active": false})))
        .await
        .problem(403);
    let r = s.call("PATCH", &path, Some(json!({"active": false}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["disabled_reason"], "disabled by an admin");
    let r = s
        .call(
            "POST",
            "/v1/webhooks/replay",
            Some(json!({"delivery_id": delivery})),
        )
        .await;
    r.problem(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains(&format!(
            "webhook endpoint {id} (disabled by an admin) is disabled; nothing was queued"
        )),
        "{}",
        r.text
    );
    let r = s
        .call("POST", "/v1/webhooks", Some(json!({"url": rx.url()})))
        .await;
    r.problem(409);
    assert!(r.text.contains("already posts to"), "{}", r.text);
    for bad in [
        json!({}),
        json!({"active": "yes"}),
        json!({"active": true, "url": "x"}),
    ] {
        s.call("PATCH", &path, Some(bad)).await.problem(422);
    }
    s.call(
        "PATCH",
        "/v1/webhooks/999999",
        Some(json!({"active": true})),
    )
    .await
    .problem(404);
    s.call("PATCH", "/v1/webhooks/abc", Some(json!({"active": true})))
        .await
        .problem(404);
    let r = s.call("PATCH", &path, Some(json!({"active": true}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["disabled_reason"], Value::Null);
    assert_eq!(
        s.call("GET", "/v1/webhooks", None).await.body["items"][0]["active"],
        true
    );

    // Replay: by id (queued again, whatever its state), or the failed ones since an instant.
    let r = s
        .call(
            "POST",
            "/v1/webhooks/replay",
            Some(json!({"delivery_id": delivery})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["replayed"], 1);
    let d = s.dialer.webhook_delivery(delivery).await.unwrap();
    assert_eq!(
        dialout_dialer::webhooks::delivery_json(&d)["state"],
        "pending"
    );
    let r = s
        .call(
            "POST",
            "/v1/webhooks/replay",
            Some(json!({"failed_since": "2026-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["replayed"], 0);
    s.call(
        "POST",
        "/v1/webhooks/replay",
        Some(json!({"delivery_id": 999999})),
    )
    .await
    .problem(404);
    for bad in [
        json!({}),
        json!({"delivery_id": delivery, "failed_since": "2026-01-01T00:00:00Z"}),
        json!({"failed_since": "yesterday"}),
    ] {
        s.call("POST", "/v1/webhooks/replay", Some(bad))
            .await
            .problem(422);
    }

    // Remove.
    let r = s.call("DELETE", &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.call("DELETE", &format!("/v1/webhooks/{id}"), None)
        .await
        .problem(404);
    assert_eq!(
        s.call("GET", "/v1/webhooks", None).await.body["items"],
        json!([])
    );
    s.stop().await;
}

async fn dnc_endpoints(db: Db) {
    let s = Server::start(db).await;
    // Reading needs read, changes admin.
    let r = Reply::from(s.http.get(s.url("/v1/dnc")).send().await.unwrap()).await;
    r.problem(401);
    let sender = s.token("sender", &[Scope::Send]).await;
    let reader = s.token("reader", &[Scope::Read]).await;
    s.call_as(&sender, "GET", "/v1/dnc", None)
        .await
        .problem(403);
    s.call_as(&sender, "GET", "/v1/dnc/+420777123456", None)
        .await
        .problem(403);
    let add = json!({"number": "+420777123456", "reason": "asked us to stop"});
    s.call_as(&reader, "POST", "/v1/dnc", Some(add.clone()))
        .await
        .problem(403);
    s.call_as(&reader, "DELETE", "/v1/dnc/+420777123456", None)
        .await
        .problem(403);

    // An `until` in the past: the API's own field is named, not a CLI flag.
    let past = json!({"number": "+420777123456", "until": "2020-01-01T00:00:00Z"});
    let r = s.call("POST", "/v1/dnc", Some(past)).await;
    let detail = r.problem(422)["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("until") && detail.contains("in the past"),
        "{detail}"
    );
    assert!(!detail.contains("--until"), "{detail}");
    let r = s.call("POST", "/v1/dnc", Some(add)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["number"], "+420777123456");
    assert_eq!(r.body["reason"], "asked us to stop");
    assert_eq!(r.body["until"], Value::Null);
    // Read: the list and a check, by E.164 or in a URL-encoded form.
    let r = s.call_as(&reader, "GET", "/v1/dnc", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"][0]["number"], "+420777123456");
    for path in ["/v1/dnc/+420777123456", "/v1/dnc/%2B420777123456"] {
        let r = s.call_as(&reader, "GET", path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["listed"], true);
        assert_eq!(r.body["entry"]["reason"], "asked us to stop");
    }
    let r = s.call("GET", "/v1/dnc/+420777000111", None).await;
    assert_eq!(r.body["listed"], false);
    assert_eq!(r.body["entry"], Value::Null);

    // A send to a listed number: 409 with the reason, nothing stored; templates too.
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777123456", "hello")))
        .await;
    r.problem(409);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("asked us to stop"),
        "{}",
        r.text
    );
    assert!(r.body["type"].as_str().unwrap().ends_with("/do-not-call"));
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({"messages": [msg("+420777000111", "a"), msg("+420777123456", "b")]})),
        )
        .await;
    r.problem(409);
    s.call(
        "POST",
        "/v1/templates",
        Some(json!({"slug": "hi", "body": "Hello"})),
    )
    .await;
    s.call(
        "POST",
        "/v1/templates/hi/messages",
        Some(json!({"recipient": "+420777123456"})),
    )
    .await
    .problem(409);
    assert_eq!(s.count().await, 0, "nothing stored");

    // Bad input.
    for (bad, field) in [
        (json!({"number": "not a number"}), "number"),
        (
            json!({"number": "+420777123456", "until": "2001-01-01T00:00:00Z"}),
            "until",
        ),
        (json!({"number": "+420777123456", "until": "soon"}), "until"),
        (
            json!({"number": "+420777123456", "reason": "two\nlines"}),
            "reason",
        ),
    ] {
        let r = s.call("POST", "/v1/dnc", Some(bad.clone())).await;
        r.problem(422);
        assert_eq!(r.field(), field, "{}", r.text);
    }
    s.call("POST", "/v1/dnc", Some(json!({"phone": "+420777123456"})))
        .await
        .problem(422);
    s.call("GET", "/v1/dnc/xyz", None).await.problem(422);

    // Import: all or nothing unless skip_invalid.
    let r = s
        .call(
            "POST",
            "/v1/dnc/import",
            Some(json!({"numbers": ["+420777000001", "junk", "+420777123456"]})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "numbers[1]");
    assert_eq!(s.dialer.dnc_list().await.unwrap().len(), 1);
    let r = s
        .call(
            "POST",
            "/v1/dnc/import",
            Some(
                json!({"numbers": ["+420777000001", "junk", "+420777123456"],
                        "reason": "campaign opt-out", "skip_invalid": true}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["added"], 1);
    assert_eq!(r.body["updated"], 1);
    assert_eq!(r.body["skipped"][0]["number"], "junk");

    // Remove: then sends go through.
    let r = s.call("DELETE", "/v1/dnc/+420777123456", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.call("DELETE", "/v1/dnc/+420777123456", None)
        .await
        .problem(404);
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777123456", "hello")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    s.stop().await;
}

async fn send_options_and_recipient_rules(db: Db) {
    let extra = "[delivery]\ndedupe_window = \"10m\"\nmax_calls_per_recipient = { count = 3, per = \"1h\" }\n";
    let s = Server::start_with(db, extra, Default::default()).await;
    // time_zone reaches the message and is answered.
    let mut body = msg("+420777123456", "zone");
    body["time_zone"] = json!("America/New_York");
    body["queued"] = json!(true);
    let r = s.call("POST", "/v1/messages", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["time_zone"], "America/New_York");
    let id = r.body["id"].as_str().unwrap().to_string();
    let stored = s
        .dialer
        .message(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.time_zone.as_deref(), Some("America/New_York"));
    let r = s.call("GET", &format!("/v1/messages/{id}"), None).await;
    assert_eq!(r.body["time_zone"], "America/New_York");
    let mut bad = msg("+420777123456", "zone");
    bad["time_zone"] = json!("Mars/Olympus");
    let r = s.call("POST", "/v1/messages", Some(bad)).await;
    r.problem(422);
    assert_eq!(r.field(), "time_zone");

    // The same content twice within the window: 409 duplicate, unless allowed.
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777000222", "same")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777000222", "same")))
        .await;
    r.problem(409);
    assert!(r.body["type"].as_str().unwrap().ends_with("/duplicate"));
    let mut again = msg("+420777000222", "same");
    again["allow_duplicate"] = json!(true);
    let r = s.call("POST", "/v1/messages", Some(again)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Through a template too.
    s.call(
        "POST",
        "/v1/templates",
        Some(json!({"slug": "t", "body": "same", "allow_duplicates": true})),
    )
    .await;
    let r = s
        .call(
            "POST",
            "/v1/templates/t/messages",
            Some(json!({"recipient": "+420777000333", "time_zone": "Europe/Prague"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["time_zone"], "Europe/Prague");

    // Three calls within the hour (a refused one does not count): the fourth is refused.
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777000222", "other")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777000222", "fourth")))
        .await;
    r.problem(409);
    assert!(
        r.body["type"].as_str().unwrap().ends_with("/cap-reached"),
        "{}",
        r.text
    );
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("max_calls_per_recipient")
    );
    s.stop().await;
}

async fn audio_unknown_keys_are_404(db: Db) {
    let s = Server::start(db).await;
    let key = "0123456789abcdef".repeat(4);
    let m = s
        .call("POST", "/v1/messages", Some(msg("+420777123456", "hi")))
        .await;
    let uuid = m.body["id"].as_str().unwrap().replace('-', "");
    for path in [
        format!("/audio/{key}.wav"),
        // The key of a real message, but not the one its backend gave out.
        format!("/audio/{uuid}{}.wav", "0".repeat(32)),
        format!("/audio/{key}"),
        format!("/audio/{}.wav", key.to_uppercase()),
        "/audio/..%2F..%2Fetc%2Fpasswd".to_string(),
        "/audio/%2E%2E%2Fdialout.toml.wav".to_string(),
        "/audio/".to_string(),
    ] {
        // No token: Asterisk has none.
        let r = Reply::from(s.http.get(s.url(&path)).send().await.unwrap()).await;
        r.problem(404);
        assert!(!r.text.contains("root:"), "{path}: {}", r.text);
    }
    s.stop().await;
}

/// The document covers every new route, and describes responses as they are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_covers_the_new_routes() {
    let s = Server::start(Db::Sqlite).await;
    let r = Reply::from(s.http.get(s.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(r.status, 200);
    let paths = &r.body["paths"];
    for (path, method) in [
        ("/v1/webhooks", "get"),
        ("/v1/webhooks", "post"),
        ("/v1/webhooks/{id}", "delete"),
        ("/v1/webhooks/{id}/test", "post"),
        ("/v1/webhooks/{id}/deliveries", "get"),
        ("/v1/webhooks/replay", "post"),
        ("/v1/dnc", "get"),
        ("/v1/dnc", "post"),
        ("/v1/dnc/{number}", "get"),
        ("/v1/dnc/{number}", "delete"),
        ("/v1/dnc/import", "post"),
        ("/audio/{file}", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    assert!(
        paths["/audio/{file}"]["get"].get("security").is_none(),
        "audio needs no token"
    );
    let schemas = &r.body["components"]["schemas"];
    assert!(schemas["DeliveryOut"]["properties"]["type"].is_object());
    assert!(schemas["MessageOut"]["properties"]["time_zone"].is_object());
    assert!(schemas["WebhookCreated"]["properties"]["secret"].is_object());
    s.stop().await;
}

both!(
    webhooks_endpoints,
    dnc_endpoints,
    send_options_and_recipient_rules,
    audio_unknown_keys_are_404,
);
