//! The HTTP API through real HTTP, on SQLite and PostgreSQL: every endpoint, auth,
//! idempotency, pagination, bad input.

mod support;

use dialout_dialer::Scope;
use serde_json::{Value, json};
use support::{Db, Server};

fn msg(recipient: &str, content: &str) -> Value {
    json!({ "recipient": recipient, "content": content })
}

async fn auth_401_403_and_revoked(db: Db) {
    let s = Server::start(db).await;
    // No token.
    let r = support::Reply::from(s.http.get(s.url("/v1/messages")).send().await.unwrap()).await;
    r.problem(401);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    // A wrong one, and one of the right form with the wrong secret.
    s.call_as("nonsense", "GET", "/v1/messages", None)
        .await
        .problem(401);
    let mut forged = s.admin.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    s.call_as(&forged, "GET", "/v1/messages", None)
        .await
        .problem(401);
    // A scope missing: 403, whatever the body.
    let reader = s.token("reader", &[Scope::Read]).await;
    s.call_as(&reader, "GET", "/v1/messages", None).await;
    let r = s
        .call_as(
            &reader,
            "POST",
            "/v1/messages",
            Some(msg("+420777123456", "hi")),
        )
        .await;
    r.problem(403);
    let sender = s.token("sender", &[Scope::Send]).await;
    s.call_as(&sender, "GET", "/v1/templates", None)
        .await
        .problem(403);
    s.call_as(
        &sender,
        "POST",
        "/v1/templates",
        Some(json!({"slug": "x", "body": "y"})),
    )
    .await
    .problem(403);
    let r = s
        .call_as(
            &sender,
            "POST",
            "/v1/messages",
            Some(msg("+420777123456", "hi")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Revoked: refused from the next request on.
    s.dialer.revoke_token("sender").await.unwrap();
    s.call_as(
        &sender,
        "POST",
        "/v1/messages",
        Some(msg("+420777123456", "hi")),
    )
    .await
    .problem(401);
    // Only a hash is stored, and the listing never shows a secret.
    let listed = format!("{:?}", s.dialer.tokens().await.unwrap());
    assert!(!listed.contains(&reader[20..]), "{listed}");
    s.stop().await;
}

async fn send_and_idempotency(db: Db) {
    let s = Server::start(db).await;
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({
                "recipient": "+420777123456", "content": "Your order is ready", "tag": "orders",
                "related": ["order:42"], "extra_data": {"k": "v"}, "priority": 1,
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["recipient"], "+420777123456");
    assert_eq!(r.body["tag"], "orders");
    assert_eq!(r.body["related"], json!(["order:42"]));
    assert_eq!(r.body["extra_data"], json!({"k": "v"}));
    assert_eq!(r.body["existing"], false);
    // The same JSON as the CLI's --json.
    let id = r.body["id"].as_str().unwrap().to_string();
    let stored = s
        .dialer
        .message(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut expected = dialout_dialer::json::message(&stored);
    expected["existing"] = json!(false);
    assert_eq!(r.body, expected);

    let keyed = |content: &str| {
        s.http
            .post(s.url("/v1/messages"))
            .bearer_auth(&s.admin)
            .header("content-type", "application/json")
            .header("idempotency-key", "order-42-ready")
            .body(serde_json::to_vec(&msg("+420777123456", content)).unwrap())
            .send()
    };
    let first = support::Reply::from(keyed("ready").await.unwrap()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["idempotency_key"], "order-42-ready");
    let again = support::Reply::from(keyed("ready").await.unwrap()).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["existing"], true);
    assert_eq!(again.body["id"], first.body["id"]);
    let other = support::Reply::from(keyed("something else").await.unwrap()).await;
    other.problem(409);
    assert_eq!(s.count().await, 2);
    s.stop().await;
}

async fn batch_all_or_none(db: Db) {
    let s = Server::start(db).await;
    let good: Vec<Value> = (0..3)
        .map(|i| msg(&format!("+42077712345{i}"), "batch"))
        .collect();
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({ "messages": good })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    let mut bad = good.clone();
    bad[1]["recipient"] = json!("not a number");
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({ "messages": bad })),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "messages[1].recipient", "{}", r.text);
    let mut bad = good.clone();
    bad[2]["not_before"] = json!("tomorrow-ish");
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({ "messages": bad })),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "messages[2].not_before", "{}", r.text);
    let mut bad = good.clone();
    bad[0]["colour"] = json!("red");
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({ "messages": bad })),
        )
        .await;
    r.problem(422);
    assert!(r.field().starts_with("messages[0]"), "{}", r.text);
    let too_many: Vec<Value> = (0..10_001).map(|_| msg("+420777123456", "x")).collect();
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({ "messages": too_many })),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "messages");
    assert_eq!(s.count().await, 3, "nothing of a refused batch is stored");
    s.stop().await;
}

async fn templates_crud_and_send(db: Db) {
    let s = Server::start(db).await;
    let r = s
        .call(
            "POST",
            "/v1/templates",
            Some(json!({"slug": "ready", "body": "Order {{ order }} is ready"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["active"], true);
    // Duplicates are allowed unless asked otherwise, as in the CLI and the dashboard.
    assert_eq!(r.body["allow_duplicates"], true, "{}", r.text);
    s.call(
        "POST",
        "/v1/templates",
        Some(json!({"slug": "ready", "body": "x"})),
    )
    .await
    .problem(409);
    let r = s
        .call(
            "POST",
            "/v1/templates",
            Some(json!({"slug": "bad", "body": "{{ oops"})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "body");
    let r = s.call("GET", "/v1/templates", None).await;
    assert_eq!(r.body["items"][0]["slug"], "ready");
    let r = s.call("GET", "/v1/templates/ready", None).await;
    assert_eq!(r.body["body"], "Order {{ order }} is ready");
    s.call("GET", "/v1/templates/nope", None).await.problem(404);

    let send = |related: &str| {
        s.call(
            "POST",
            "/v1/templates/ready/messages",
            Some(json!({"recipient": "+420777123456", "context": {"order": 42}, "related": [related]})),
        )
    };
    let r = send("order:42").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["content"], "Order 42 is ready");
    assert_eq!(r.body["template_slug"], "ready");
    // Allowed by default: the same related object again is sent.
    let r = send("order:42").await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Refused once the template says so.
    let r = s
        .call(
            "PATCH",
            "/v1/templates/ready",
            Some(json!({"allow_duplicates": false})),
        )
        .await;
    assert_eq!(r.body["allow_duplicates"], false, "{}", r.text);
    let r = send("order:42").await;
    r.problem(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("duplicates"),
        "{}",
        r.text
    );
    // Inactive: refused with the reason.
    let r = s
        .call(
            "PATCH",
            "/v1/templates/ready",
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    let r = send("order:43").await;
    r.problem(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("inactive"),
        "{}",
        r.text
    );
    s.call("PATCH", "/v1/templates/ready", Some(json!({})))
        .await
        .problem(422);
    s.call(
        "POST",
        "/v1/templates/nope/messages",
        Some(json!({"recipient": "+420777123456"})),
    )
    .await
    .problem(404);
    let r = s.call("DELETE", "/v1/templates/ready", None).await;
    assert_eq!(r.status, 204);
    s.call("DELETE", "/v1/templates/ready", None)
        .await
        .problem(404);
    assert_eq!(
        s.count().await,
        2,
        "the first send and its allowed duplicate"
    );
    s.stop().await;
}

async fn show_cancel_resend(db: Db) {
    let s = Server::start(db).await;
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": "later", "queued": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["state"], "WAITING");
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = s.call("GET", &format!("/v1/messages/{id}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["history"][0]["to"], "WAITING");
    // Resending a message still waiting is refused.
    s.call("POST", &format!("/v1/messages/{id}/resend"), None)
        .await
        .problem(409);
    let r = s
        .call("POST", &format!("/v1/messages/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["outcome"], "cancelled");
    assert_eq!(r.body["message"]["is_final_state"], true);
    s.call("POST", &format!("/v1/messages/{id}/cancel"), None)
        .await
        .problem(409);
    let r = s
        .call("POST", &format!("/v1/messages/{id}/resend"), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["resent_from"], id.as_str());
    let r = s.call("GET", &format!("/v1/messages/{id}"), None).await;
    let states: Vec<&str> = r.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 2, "{states:?}");
    s.call(
        "GET",
        "/v1/messages/01a23ccd-ed86-7c8e-82c9-c8e926c4b7d3",
        None,
    )
    .await
    .problem(404);
    s.call("GET", "/v1/messages/not-an-id", None)
        .await
        .problem(404);
    s.stop().await;
}

async fn pagination_across_a_thousand(db: Db) {
    let s = Server::start(db).await;
    let batch: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"recipient": format!("+4207771{:05}", i % 7), "content": format!("m{i}"),
                   "queued": true, "tag": if i % 2 == 0 { "even" } else { "odd" }})
        })
        .collect();
    let r = s
        .call(
            "POST",
            "/v1/messages/batch",
            Some(json!({ "messages": batch })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/messages?limit=128&cursor={c}"),
            None => "/v1/messages?limit=128".into(),
        };
        let r = s.call("GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        for m in r.body["items"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 8);
    assert_eq!(seen.len(), 1000);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 1000, "no message twice");
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first");
    // Filters.
    let r = s
        .call("GET", "/v1/messages?tag=even&limit=1000", None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 500);
    let r = s
        .call(
            "GET",
            "/v1/messages?state=waiting&recipient=%2B420777100003&limit=1000",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let n = r.body["items"].as_array().unwrap().len();
    assert_eq!(n, (0..1000).filter(|i| i % 7 == 3).count());
    let r = s
        .call(
            "GET",
            "/v1/messages?recipient=%2B420777100003&limit=10",
            None,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 10);
    assert!(r.body["next_cursor"].is_string());
    let r = s
        .call("GET", "/v1/messages?since=2999-01-01T00:00:00Z", None)
        .await;
    assert_eq!(r.body["items"], json!([]));
    s.stop().await;
}

async fn bad_input_is_4xx_and_stores_nothing(db: Db) {
    let s = Server::start(db).await;
    let post = |ct: &'static str, body: Vec<u8>| {
        s.http
            .post(s.url("/v1/messages"))
            .bearer_auth(&s.admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = support::Reply::from(
        post("application/json", b"{\"recipient\": ".to_vec())
            .await
            .unwrap(),
    )
    .await;
    r.problem(400);
    let r = support::Reply::from(post("text/plain", b"{}".to_vec()).await.unwrap()).await;
    r.problem(415);
    let big = format!(
        "{{\"recipient\": \"+420777123456\", \"content\": \"{}\"}}",
        "a".repeat(10 * 1024 * 1024 + 1)
    );
    let r = support::Reply::from(post("application/json", big.into_bytes()).await.unwrap()).await;
    r.problem(413);
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": "x", "extra": 1})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "extra");
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456"})),
        )
        .await;
    r.problem(422);
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": 5})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "content");
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "12", "content": "x"})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "recipient");
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": "x", "priority": 9})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "priority");
    let r = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420777123456", "content": "x", "backend": "nope"})),
        )
        .await;
    r.problem(422);
    assert_eq!(r.field(), "backend");
    let r = s.call("POST", "/v1/messages", Some(json!([1, 2]))).await;
    r.problem(422);
    let r = s.call("GET", "/v1/messages?colour=red", None).await;
    r.problem(422);
    assert_eq!(r.field(), "colour");
    s.call("GET", "/v1/messages?limit=0", None)
        .await
        .problem(422);
    let r = s.call("GET", "/v1/messages?state=sent", None).await;
    let detail = r.problem(422)["detail"].to_string();
    assert!(
        detail.contains("ANSWERED_COMPLETE"),
        "names the states: {detail}"
    );
    // A + left unencoded arrives as a space: the error says how to write it.
    let r = s
        .call("GET", "/v1/messages?recipient=+420777123456", None)
        .await;
    let detail = r.problem(422)["detail"].to_string();
    assert!(detail.contains("%2B420777123456"), "{detail}");
    // Each list query the README shows is accepted as written.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let queries: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("curl") && l.contains("$API/v1/messages?"))
        .filter_map(|l| l.split("$API").nth(1)?.split('"').next())
        .collect();
    assert!(!queries.is_empty());
    for q in queries {
        let r = s.call("GET", q, None).await;
        assert_eq!(r.status, 200, "README's {q}: {:?}", r.body);
    }
    s.call("GET", "/v1/messages?cursor=zzz", None)
        .await
        .problem(422);
    s.call("GET", "/v1/nothing-here", None).await.problem(404);
    s.call("PUT", "/v1/messages", None).await.problem(405);
    assert_eq!(s.count().await, 0);
    s.stop().await;
}

async fn health_metrics_openapi_docs(db: Db) {
    let s = Server::start(db).await;
    let get = |p: &str| s.http.get(s.url(p)).send();
    let r = support::Reply::from(get("/healthz").await.unwrap()).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ok")));
    let r = support::Reply::from(get("/readyz").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.call(
        "POST",
        "/v1/messages",
        Some(msg("+420777123456", "counted")),
    )
    .await;
    s.call(
        "POST",
        "/v1/messages",
        Some(json!({"recipient": "+420777123456", "content": "q", "queued": true})),
    )
    .await;
    let r = support::Reply::from(get("/metrics").await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    for line in [
        "dialout_http_requests_total{route=\"/v1/messages\",method=\"POST\",status=\"201\"} 2",
        "dialout_messages_sent_total{backend=\"dummy\",state=\"DEBUG\"} 1",
        "dialout_messages_sent_total{backend=\"dummy\",state=\"WAITING\"} 1",
        "dialout_publish_seconds_count 2",
        "dialout_queue_depth 1",
    ] {
        assert!(
            r.text.lines().any(|l| l == line),
            "no {line:?} in\n{}",
            r.text
        );
    }
    assert!(!r.text.contains(&s.admin), "no token in metrics");
    let r = support::Reply::from(get("/openapi.json").await.unwrap()).await;
    assert_eq!(r.body["openapi"], "3.1.0");
    for path in [
        "/v1/messages",
        "/v1/messages/batch",
        "/v1/messages/{id}",
        "/v1/messages/{id}/cancel",
        "/v1/messages/{id}/resend",
        "/v1/templates",
        "/v1/templates/{slug}",
        "/v1/templates/{slug}/messages",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            r.body["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
    let r = support::Reply::from(get("/docs").await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.contains("/docs/docs.js") && !r.text.contains("https://"),
        "{}",
        r.text
    );
    let r = support::Reply::from(get("/docs/docs.js").await.unwrap()).await;
    assert!(r.text.contains("/openapi.json"));
    s.stop().await;
    // Switched off.
    let options = dialout_server::Options {
        metrics: false,
        ..Default::default()
    };
    let s = Server::start_with(db, "", options).await;
    let r = support::Reply::from(s.http.get(s.url("/metrics")).send().await.unwrap()).await;
    r.problem(404);
    s.stop().await;
}

async fn concurrent_sends_share_commits(db: Db) {
    let s = std::sync::Arc::new(Server::start(db).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = std::sync::Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            s.call(
                "POST",
                "/v1/messages",
                Some(msg("+420777123456", &format!("c{i}"))),
            )
            .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(
            r.body["state"], "DEBUG",
            "published after its commit: {}",
            r.text
        );
        ids.insert(r.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(s.count().await, 200);
    let s = std::sync::Arc::into_inner(s).expect("no other holder");
    s.stop().await;
}

/// The database goes away under the server: 503 with Retry-After, never a hang or a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_is_503_with_retry_after() {
    let s = Server::start(Db::Postgres).await;
    let r = s
        .call("POST", "/v1/messages", Some(msg("+420777123456", "before")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = s.db_url.rsplit('/').next().unwrap().to_string();
    let admin = support::pg_admin_url();
    std::thread::spawn(move || {
        let mut c = ::postgres::Client::connect(&admin, ::postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .unwrap();
    })
    .join()
    .unwrap();
    for _ in 0..2 {
        let r = s
            .call("POST", "/v1/messages", Some(msg("+420777123456", "during")))
            .await;
        r.problem(503);
        assert_eq!(r.headers["retry-after"], "5");
        assert!(!r.text.contains("postgres://"), "{}", r.text);
    }
    let r = support::Reply::from(s.http.get(s.url("/readyz")).send().await.unwrap()).await;
    r.problem(503);
    let r = support::Reply::from(s.http.get(s.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "the process is still up");
    s.stop().await;
}

both!(
    concurrent_sends_share_commits,
    auth_401_403_and_revoked,
    send_and_idempotency,
    batch_all_or_none,
    templates_crud_and_send,
    show_cancel_resend,
    pagination_across_a_thousand,
    bad_input_is_4xx_and_stores_nothing,
    health_metrics_openapi_docs,
);
