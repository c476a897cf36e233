//! The fake Daktela itself follows the reference: the token check, the `take` cap, `total`,
//! the error shapes, records of other types kept.

use dialout_testkit::fake_daktela::FakeDaktela;
use serde_json::{Value, json};

const TOKEN: &str = "fake-test-token";

/// reqwest is built without a default TLS crypto provider: ring, as the Daktela client does.
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.header("X-AUTH-TOKEN", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn token_take_cap_total_and_error_shapes() {
    let fake = FakeDaktela::start(TOKEN).await;
    fake.set_now("2026-11-21 10:00:00");
    for i in 0..1200 {
        fake.insert(
            json!({"record_type": if i % 2 == 0 { "a" } else { "b" }, "number": "00420777123456"}),
        );
    }
    let list = format!("{}.json", fake.url());

    let (s, body) = get(&list, None).await;
    assert_eq!(s, 401);
    assert_eq!(body["result"], Value::Null);
    assert!(
        body["error"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );

    // The API also takes ?accessToken= (which dialout never uses).
    let (s, _) = get(&format!("{list}?accessToken={TOKEN}&take=1"), None).await;
    assert_eq!(s, 200);

    let (s, body) = get(&format!("{list}?take=5000"), Some(TOKEN)).await;
    assert_eq!(s, 200);
    assert_eq!(body["error"], json!([]));
    assert_eq!(
        body["result"]["data"].as_array().unwrap().len(),
        1000,
        "at most 1000 a request"
    );
    assert_eq!(body["result"]["total"], 1200);

    let q = "filter[0][field]=record_type&filter[0][operator]=eq&filter[0][value]=b&fields[0]=name&skip=590&take=100";
    let (_, body) = get(&format!("{list}?{q}"), Some(TOKEN)).await;
    assert_eq!(body["result"]["total"], 600);
    let data = body["result"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 10);
    assert_eq!(
        data[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["name"]
    );

    let (s, body) = get(
        &format!("{list}?filter[0][field]=colour&filter[0][operator]=eq&filter[0][value]=x"),
        Some(TOKEN),
    )
    .await;
    assert_eq!((s, body["result"].clone()), (400, Value::Null));

    let (s, body) = get(&format!("{}/records_nope.json", fake.url()), Some(TOKEN)).await;
    assert_eq!(
        (s, body["error"].clone()),
        (404, json!(["Record not found"]))
    );

    // Field errors come as an object.
    let resp = http()
        .post(&list)
        .header("X-AUTH-TOKEN", TOKEN)
        .body(r#"{"number": "+420 777"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert!(
        body["error"]["record_type"].is_array() && body["error"]["number"].is_array(),
        "{body}"
    );
    assert_eq!(fake.records().len(), 1200);
}
