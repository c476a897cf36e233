//! `GET` and `DELETE /v1/recipients/{number}` over real HTTP, on both stores: the export,
//! the `admin` scope, erasure of every message (one not final cancelled first), the record
//! naming the token, `and_block`, and no trace of the number or content left in the
//! database afterwards.

mod support;

use dialout_dialer::Scope;
use serde_json::json;
use support::{Db, Server};

const CONTENT: &str = "Dear Jana Novakova, your invoice 5521 is due";

/// Where `needle` is still kept: the SQLite file and its log, or any row of any table.
fn traces(s: &Server, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(path) = s.db_url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}"))
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(format!("file{suffix}"));
            }
        }
        return found;
    }
    let url = s.db_url.clone();
    let needle = needle.to_string();
    std::thread::spawn(move || dialout_testkit::db::pg_rows_holding(&url, &needle))
        .join()
        .unwrap()
}

async fn export_and_erase(db: Db) {
    let s = Server::start_with(db, "default_region = \"CZ\"\n", Default::default()).await;
    for (to, queued) in [("+420777123456", false), ("777 123 456", true)] {
        let r = s
            .call(
                "POST",
                "/v1/messages",
                Some(json!({"recipient": to, "content": CONTENT, "queued": queued})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let other = s
        .call(
            "POST",
            "/v1/messages",
            Some(json!({"recipient": "+420602111222", "content": "Hello Petr"})),
        )
        .await;
    assert_eq!(other.status, 201);

    let reader = s.token("reader", &[Scope::Read]).await;
    let r = s
        .call_as(&reader, "GET", "/v1/recipients/777123456", None)
        .await;
    r.problem(403);
    s.call_as(&reader, "DELETE", "/v1/recipients/777123456", None)
        .await
        .problem(403);
    s.call("GET", "/v1/recipients/12", None).await.problem(422);

    let r = s.call("GET", "/v1/recipients/%2B420777123456", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["number"], "+420777123456");
    let msgs = r.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs.iter()
            .all(|m| m["content"] == CONTENT && m["history"].is_array())
    );
    assert!(
        !traces(&s, "777123456").is_empty(),
        "the test finds the number"
    );

    let r = s
        .call("DELETE", "/v1/recipients/777123456?and_block=true", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["messages"], 2, "{}", r.text);
    assert_eq!(r.body["cancelled"], 1, "{}", r.text);
    assert_eq!(r.body["blocked"], true);
    assert!(
        !r.text.contains("777123456"),
        "the answer does not repeat the number"
    );
    let hash = r.body["recipient_hash"].as_str().unwrap().to_string();

    let r = s.call("GET", "/v1/recipients/777123456", None).await;
    assert_eq!(r.status, 200);
    let msgs = r.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs.iter()
            .all(|m| m["recipient"] == hash.as_str() && m["content"] == "")
    );
    assert_eq!(r.body["erasures"][0]["by"], "token:admin");
    assert_eq!(r.body["erasures"][0]["messages"], 2);
    assert_eq!(r.body["do_not_call"]["number"], "+420777123456");
    s.call(
        "POST",
        "/v1/messages",
        Some(json!({"recipient": "+420777123456", "content": "again"})),
    )
    .await
    .problem(409);

    // Blocking keeps the number on the do-not-call list: off it, and erased again (nothing
    // left to erase), no byte of it stays.
    let r = s.call("DELETE", "/v1/dnc/%2B420777123456", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s.call("DELETE", "/v1/recipients/777123456", None).await;
    assert_eq!(r.body["messages"], 0, "{}", r.text);
    for needle in ["+420777123456", "777123456", CONTENT] {
        assert_eq!(traces(&s, needle), Vec::<String>::new(), "{needle}");
    }
    assert!(!traces(&s, "+420602111222").is_empty(), "others stay");
    s.stop().await;
}

both!(export_and_erase);
