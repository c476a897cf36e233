//! Webhooks end to end against a real local HTTP receiver: the outbox written by the stores'
//! triggers, the delivery loop, signatures (ours and the reference Python library's check),
//! order, retries, max_age and replay, 410, redirects, and the secret kept out of logs.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod webhooks_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{TestDb, new_message};
use dialout_dialer::delivery::Channels;
use dialout_dialer::webhooks::{DeliveryState, Replay, WebhookSettings, signing};
use dialout_dialer::{Dialer, JsonMap, MessageId, State};
use dialout_store::prelude::*;
use dialout_store::{Change, InsertMode};
use jiff::Timestamp;
use webhooks_support::{Mode, Receiver, Request, free_port};

fn fast_settings() -> WebhookSettings {
    WebhookSettings {
        timeout: Duration::from_secs(2),
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(300),
        interval: Duration::from_millis(50),
        ..WebhookSettings::default()
    }
}

fn dialer(db: &TestDb, settings: WebhookSettings) -> Dialer {
    Dialer::new(db.store.clone(), Channels::none()).with_webhook_settings(settings)
}

/// Store calls from async code (PostgreSQL's client refuses to block a runtime thread).
fn sync<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn insert(store: &Arc<dyn Store>, n: usize) -> Vec<MessageId> {
    sync(|| insert_now(store, n))
}

fn insert_now(store: &Arc<dyn Store>, n: usize) -> Vec<MessageId> {
    let new: Vec<_> = (0..n).map(|i| new_message(&format!("m{i}"))).collect();
    store
        .insert(&new, InsertMode::QUEUED, Timestamp::now())
        .unwrap()
        .into_iter()
        .map(|i| i.message.id)
        .collect()
}

/// The states each message walks through; the last is final.
const WALK: [State; 4] = [
    State::Ready,
    State::CallInProgress,
    State::Hangup,
    State::AnsweredComplete,
];

fn step(store: &Arc<dyn Store>, id: MessageId, k: usize) {
    if tokio::runtime::Handle::try_current().is_ok() {
        sync(|| step_now(store, id, k))
    } else {
        step_now(store, id, k)
    }
}

fn step_now(store: &Arc<dyn Store>, id: MessageId, k: usize) {
    let state = WALK[k];
    let change = Change::Status {
        state,
        is_final: k == WALK.len() - 1,
        error: None,
        sender_data: JsonMap::new(),
        reason: format!("step {k}"),
        reply: Default::default(),
    };
    let out = store
        .apply(&[(id, change)], None, Timestamp::now())
        .unwrap();
    assert!(out[0].is_some());
}

/// Per message: the (type, sequence) of the events received, in arrival order.
fn by_message(requests: &[Request]) -> HashMap<String, Vec<(String, i64)>> {
    let mut out: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for r in requests {
        let v = r.json();
        let Some(m) = v["data"]["message"]["id"].as_str() else {
            continue;
        };
        out.entry(m.to_string()).or_default().push((
            v["type"].as_str().unwrap().to_string(),
            v["data"]["sequence"].as_i64().unwrap(),
        ));
    }
    out
}

/// Every message got its transitions 1..=4 in order, then message.final; each exactly once.
fn assert_complete_in_order(requests: &[Request], ids: &[MessageId]) {
    let got = by_message(requests);
    let want: Vec<(String, i64)> = (1..=WALK.len() as i64)
        .map(|s| ("message.state_changed".to_string(), s))
        .chain([("message.final".to_string(), WALK.len() as i64)])
        .collect();
    for id in ids {
        assert_eq!(got.get(&id.to_string()), Some(&want), "events of {id}");
    }
}

async fn run_until<F: Fn() -> bool>(
    deliverers: Vec<dialout_dialer::webhooks::Deliverer>,
    done: F,
    limit: Duration,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = deliverers
        .into_iter()
        .map(|d| {
            let stop = stop_rx.clone();
            tokio::spawn(async move { d.run(stop).await })
        })
        .collect();
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not done within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

// ---- signatures ----

async fn signatures_verify(db: &TestDb) {
    let rx = Receiver::start(Mode::Ok).await;
    let d = dialer(db, fast_settings());
    let (ep, secret) = d.add_webhook(&rx.url(), None, None).await.unwrap();
    assert!(secret.0.starts_with("whsec_"));
    let ids = insert(&db.store, 3);
    for &id in &ids {
        for k in 0..WALK.len() {
            step(&db.store, id, k);
        }
    }
    let stats = d.webhook_deliverer().unwrap().drain().await.unwrap();
    assert_eq!(stats.delivered, 15, "{stats:?}");
    let requests = rx.requests();
    assert_eq!(requests.len(), 15);
    assert_complete_in_order(&requests, &ids);
    // Our own check.
    let key = signing::key(&secret).unwrap();
    for r in &requests {
        let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
        assert!(
            signing::verify(
                &key,
                r.header("webhook-id"),
                ts,
                &r.body,
                r.header("webhook-signature")
            ),
            "signature of {:?}",
            r.header("webhook-id")
        );
        assert!(!signing::verify(
            &key,
            "other",
            ts,
            &r.body,
            r.header("webhook-signature")
        ));
        let v = r.json();
        assert_eq!(v["id"].as_str().unwrap(), r.header("webhook-id"));
        assert!(
            v["created_at"]
                .as_str()
                .unwrap()
                .parse::<Timestamp>()
                .is_ok()
        );
    }
    // The reference library of the Standard Webhooks specification.
    reference_verify(&secret.0, &requests);
    // The deliveries are listed as delivered.
    let listed = d.webhook_deliveries(ep.id, false, 100).await.unwrap();
    assert_eq!(listed.len(), 15);
    assert!(
        listed
            .iter()
            .all(|x| x.state == DeliveryState::Delivered && x.last_status == Some(200))
    );
}

/// Runs Python's `standardwebhooks` over every request; each must verify, and a tampered one
/// must not.
fn reference_verify(secret: &str, requests: &[Request]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.json");
    let list: Vec<_> = requests
        .iter()
        .map(|r| {
            serde_json::json!({
                "headers": {
                    "webhook-id": r.header("webhook-id"),
                    "webhook-timestamp": r.header("webhook-timestamp"),
                    "webhook-signature": r.header("webhook-signature"),
                },
                "body": String::from_utf8(r.body.clone()).unwrap(),
            })
        })
        .collect();
    std::fs::write(&file, serde_json::to_string(&list).unwrap()).unwrap();
    let script = r#"
import json, sys
try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    sys.exit("the Python package standardwebhooks is missing: pip install standardwebhooks")
wh = Webhook(sys.argv[1])
reqs = json.load(open(sys.argv[2]))
for r in reqs:
    wh.verify(r["body"], r["headers"])
try:
    wh.verify(reqs[0]["body"] + " ", reqs[0]["headers"])
    sys.exit("a tampered body verified")
except WebhookVerificationError:
    pass
print(len(reqs))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, secret, file.to_str().unwrap()])
        .output()
        .expect("python3 is needed to check signatures with the standardwebhooks package");
    assert!(
        out.status.success(),
        "standardwebhooks refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        requests.len().to_string()
    );
}

#[test]
fn signatures_verify_sqlite() {
    let db = common::sqlite();
    runtime().block_on(signatures_verify(&db));
}

#[test]
fn signatures_verify_postgres() {
    let db = common::postgres();
    runtime().block_on(signatures_verify(&db));
}

// ---- retention in the worker ----

/// With `[retention] webhook_deliveries`, a running worker deletes delivered rows past the
/// period on its own; messages are left alone (no `messages` period).
async fn worker_prunes_delivered_rows(db: &TestDb) {
    use dialout_dialer::delivery::WorkerOptions;
    use dialout_dialer::retention::RetentionSettings;
    let rx = Receiver::start(Mode::Ok).await;
    let d = dialer(db, fast_settings());
    let (ep, _) = d.add_webhook(&rx.url(), None, None).await.unwrap();
    let ids = insert(&db.store, 2);
    for &id in &ids {
        for k in 0..WALK.len() {
            step(&db.store, id, k);
        }
    }
    let stats = d.webhook_deliverer().unwrap().drain().await.unwrap();
    assert_eq!(stats.delivered, 10, "{stats:?}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let worker = d.worker(WorkerOptions {
        no_status: true,
        interval: Some(Duration::from_millis(50)),
        retention: RetentionSettings {
            webhook_deliveries: Some(Duration::from_secs(1)),
            ..Default::default()
        },
        ..Default::default()
    });
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { worker.run(stop_rx).await });
    let start = std::time::Instant::now();
    while !d
        .webhook_deliveries(ep.id, false, 100)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(20), "rows not pruned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    let stats = task.await.unwrap().unwrap();
    assert_eq!(stats.retention.webhook_deliveries, 10, "{stats:?}");
    assert_eq!(stats.retention.messages, 0, "{stats:?}");
    let m = sync(|| db.store.message(ids[0]).unwrap().unwrap());
    assert!(
        !m.content.is_empty(),
        "messages are not erased without a period"
    );
}

#[test]
fn worker_prunes_delivered_rows_sqlite() {
    let db = common::sqlite();
    runtime().block_on(worker_prunes_delivered_rows(&db));
}

#[test]
fn worker_prunes_delivered_rows_postgres() {
    let db = common::postgres();
    runtime().block_on(worker_prunes_delivered_rows(&db));
}

// ---- order under concurrency ----

async fn order_under_concurrency(db: &TestDb) {
    let rx = Receiver::start(Mode::Slow(Duration::from_millis(2))).await;
    let d = dialer(db, fast_settings());
    d.add_webhook(&rx.url(), None, None).await.unwrap();
    let ids = insert(&db.store, 40);
    // Two delivery loops post while eight threads change the messages.
    let deliverers = vec![
        d.webhook_deliverer().unwrap(),
        d.webhook_deliverer().unwrap(),
    ];
    let store = db.store.clone();
    let writers = {
        let ids = ids.clone();
        std::thread::spawn(move || {
            std::thread::scope(|s| {
                for chunk in ids.chunks(5) {
                    let store = store.clone();
                    s.spawn(move || {
                        for k in 0..WALK.len() {
                            for &id in chunk {
                                step(&store, id, k);
                            }
                        }
                    });
                }
            })
        })
    };
    let want = ids.len() * (WALK.len() + 1);
    run_until(deliverers, || rx.count() >= want, Duration::from_secs(60)).await;
    writers.join().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = rx.requests();
    assert_eq!(requests.len(), want, "each event once");
    assert_complete_in_order(&requests, &ids);
}

#[test]
fn order_per_message_under_concurrency_sqlite() {
    let db = common::sqlite();
    runtime().block_on(order_under_concurrency(&db));
}

#[test]
fn order_per_message_under_concurrency_postgres() {
    let db = common::postgres();
    runtime().block_on(order_under_concurrency(&db));
}

// ---- receiver down, then up ----

async fn receiver_down_then_up(db: &TestDb) {
    let port = free_port();
    let d = dialer(db, fast_settings());
    d.add_webhook(&format!("http://127.0.0.1:{port}/hook"), None, None)
        .await
        .unwrap();
    let ids = insert(&db.store, 10);
    let deliverer = d.webhook_deliverer().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { deliverer.run(stop_rx).await });
    for &id in &ids {
        for k in 0..WALK.len() {
            step(&db.store, id, k);
        }
    }
    // Nobody listens for a while: every first event is retried.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let rx = Receiver::start_on(port, Mode::Ok).await;
    let want = ids.len() * (WALK.len() + 1);
    rx.wait_for(want, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(true).unwrap();
    let stats = task.await.unwrap().unwrap();
    assert!(stats.retried > 0, "{stats:?}");
    let requests = rx.requests();
    assert_eq!(requests.len(), want);
    assert_complete_in_order(&requests, &ids);
}

#[test]
fn receiver_down_then_up_every_event_arrives_in_order_sqlite() {
    let db = common::sqlite();
    runtime().block_on(receiver_down_then_up(&db));
}

#[test]
fn receiver_down_then_up_every_event_arrives_in_order_postgres() {
    let db = common::postgres();
    runtime().block_on(receiver_down_then_up(&db));
}

// ---- max_age, then replay ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_after_max_age_then_replayed() {
    let db = common::sqlite();
    let rx = Receiver::start(Mode::Status(500, 5000)).await;
    let settings = WebhookSettings {
        max_age: Duration::from_millis(400),
        ..fast_settings()
    };
    let d = dialer(&db, settings);
    let (ep, _) = d
        .add_webhook(&rx.url(), Some(vec!["message.final".into()]), None)
        .await
        .unwrap();
    let ids = insert(&db.store, 2);
    for &id in &ids {
        for k in 0..WALK.len() {
            step(&db.store, id, k);
        }
    }
    let failed = || {
        db.store
            .webhooks()
            .deliveries(&dialout_dialer::webhooks::DeliveryFilter {
                endpoint_id: Some(ep.id),
                failed_only: true,
                limit: 10,
            })
            .unwrap()
    };
    run_until(
        vec![d.webhook_deliverer().unwrap()],
        || failed().len() == 2,
        Duration::from_secs(30),
    )
    .await;
    let listed = d.webhook_deliveries(ep.id, true, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    for x in &listed {
        assert_eq!(x.state, DeliveryState::Failed);
        assert_eq!(x.last_status, Some(500));
        assert!(
            x.last_error.as_deref().unwrap().contains("max_age"),
            "{x:?}"
        );
        assert!(x.attempts >= 2, "retried before giving up: {x:?}");
        // The answer is kept for diagnosis, cut to 1 kB.
        assert_eq!(x.last_response.as_deref().map(str::len), Some(1024));
    }
    let before = rx.count();
    rx.set_mode(Mode::Ok);
    let n = d
        .replay_webhooks(Replay::FailedSince(
            Timestamp::now() - jiff::SignedDuration::from_secs(60),
        ))
        .await
        .unwrap();
    assert_eq!(n, 2);
    let stats = d.webhook_deliverer().unwrap().drain().await.unwrap();
    assert_eq!(stats.delivered, 2);
    assert_eq!(rx.count(), before + 2);
    assert!(
        d.webhook_deliveries(ep.id, true, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // One by id too.
    let one = listed[0].id;
    assert_eq!(d.replay_webhooks(Replay::Id(one)).await.unwrap(), 1);
    assert_eq!(
        d.webhook_deliverer()
            .unwrap()
            .drain()
            .await
            .unwrap()
            .delivered,
        1
    );
    assert!(d.replay_webhooks(Replay::Id(999_999)).await.is_err());
}

// ---- 410, redirects, tag and event filters ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gone_disables_the_endpoint() {
    let db = common::sqlite();
    let rx = Receiver::start(Mode::Status(410, 10)).await;
    let d = dialer(&db, fast_settings());
    let (ep, _) = d.add_webhook(&rx.url(), None, None).await.unwrap();
    let ids = insert(&db.store, 1);
    step(&db.store, ids[0], 0);
    step(&db.store, ids[0], 1);
    d.webhook_deliverer().unwrap().drain().await.unwrap();
    assert_eq!(rx.count(), 1, "one post, then no more");
    let eps = d.webhooks().await.unwrap();
    assert!(!eps[0].active);
    assert!(eps[0].disabled_reason.as_deref().unwrap().contains("410"));
    let all = d.webhook_deliveries(ep.id, true, 10).await.unwrap();
    assert_eq!(all.len(), 2, "its pending events are failed too");
    // No more events are queued for it.
    step(&db.store, ids[0], 2);
    assert_eq!(
        d.webhook_deliveries(ep.id, false, 10).await.unwrap().len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redirects_are_not_followed() {
    let db = common::sqlite();
    let target = Receiver::start(Mode::Ok).await;
    let rx = Receiver::start(Mode::Redirect(target.url())).await;
    // A retry far off: one post only.
    let d = dialer(
        &db,
        WebhookSettings {
            retry_base: Duration::from_secs(60),
            ..fast_settings()
        },
    );
    let (ep, _) = d.add_webhook(&rx.url(), None, None).await.unwrap();
    let ids = insert(&db.store, 1);
    step(&db.store, ids[0], 0);
    let deliverer = d.webhook_deliverer().unwrap();
    deliverer.drain().await.unwrap();
    assert_eq!(rx.count(), 1);
    assert_eq!(target.count(), 0, "the redirect was not followed");
    let x = &d.webhook_deliveries(ep.id, false, 10).await.unwrap()[0];
    assert_eq!(x.state, DeliveryState::Pending);
    assert_eq!(x.last_status, Some(302));
    assert!(
        x.last_error.as_deref().unwrap().contains("redirect"),
        "{x:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tag_and_event_filters_and_test_event() {
    let db = common::sqlite();
    let rx = Receiver::start(Mode::Ok).await;
    let d = dialer(&db, fast_settings());
    let (ep, _) = d
        .add_webhook(
            &rx.url(),
            Some(vec!["message.final".into()]),
            Some("vip".into()),
        )
        .await
        .unwrap();
    let mut tagged = new_message("tagged");
    tagged.tag = Some(dialout_dialer::Tag::new("vip").unwrap());
    let new = vec![tagged, new_message("plain")];
    let ids: Vec<_> = db
        .store
        .insert(&new, InsertMode::QUEUED, Timestamp::now())
        .unwrap()
        .into_iter()
        .map(|i| i.message.id)
        .collect();
    for &id in &ids {
        for k in 0..WALK.len() {
            step(&db.store, id, k);
        }
    }
    d.webhook_deliverer().unwrap().drain().await.unwrap();
    let got = rx.requests();
    assert_eq!(got.len(), 1);
    let v = got[0].json();
    assert_eq!(v["type"], "message.final");
    assert_eq!(v["data"]["message"]["id"], ids[0].to_string());
    assert_eq!(v["data"]["message"]["state"], "ANSWERED_COMPLETE");
    // webhook.test goes out at once.
    let t = d.test_webhook(ep.id).await.unwrap();
    assert_eq!(t.state, DeliveryState::Delivered);
    assert_eq!(rx.requests()[1].json()["type"], "webhook.test");
    // Bad input is refused.
    assert!(d.add_webhook("ftp://x/y", None, None).await.is_err());
    assert!(d.add_webhook("http://u:p@x/y", None, None).await.is_err());
    assert!(
        d.add_webhook("http://x/y", Some(vec!["message.nope".into()]), None)
            .await
            .is_err()
    );
    assert!(d.remove_webhook(999).await.is_err());
    d.remove_webhook(ep.id).await.unwrap();
    assert!(d.webhooks().await.unwrap().is_empty());
}

/// A rolled-back change leaves no event; nothing is queued without an endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_follow_the_transaction_of_their_change() {
    let db = common::sqlite();
    let d = dialer(&db, fast_settings());
    let ids = insert(&db.store, 1);
    step(&db.store, ids[0], 0);
    let (ep, _) = d
        .add_webhook("http://127.0.0.1:9/hook", None, None)
        .await
        .unwrap();
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "BEGIN; UPDATE messages SET history = substr(history, 1, length(history) - 1) || \
         ',{\"at\":1,\"from\":1,\"to\":3,\"reason\":\"x\"}]'; ROLLBACK;",
    )
    .unwrap();
    assert!(
        d.webhook_deliveries(ep.id, false, 10)
            .await
            .unwrap()
            .is_empty()
    );
    step(&db.store, ids[0], 1);
    let queued = d.webhook_deliveries(ep.id, false, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0].sequence,
        Some(2),
        "the message's second transition"
    );
}

// ---- secrets ----

#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secret_not_in_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let db = common::sqlite();
    let rx = Receiver::start(Mode::Status(500, 10)).await;
    let d = dialer(
        &db,
        WebhookSettings {
            max_age: Duration::from_millis(1),
            ..fast_settings()
        },
    );
    let (ep, secret) = d.add_webhook(&rx.url(), None, None).await.unwrap();
    let ids = insert(&db.store, 1);
    step(&db.store, ids[0], 0);
    d.webhook_deliverer().unwrap().drain().await.unwrap();
    let _ = d.test_webhook(ep.id).await;
    rx.set_mode(Mode::Status(410, 0));
    step(&db.store, ids[0], 1);
    d.webhook_deliverer().unwrap().drain().await.unwrap();
    let eps = d.webhooks().await.unwrap();
    tracing::info!("endpoints: {eps:?}");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("webhook delivery failed"),
        "the failures were logged: {logs}"
    );
    let b64 = secret.0.strip_prefix("whsec_").unwrap();
    assert!(!logs.contains(b64), "the secret leaked into the logs");
    // Nor in the JSON of the endpoint.
    let json = dialout_dialer::webhooks::endpoint_json(&eps[0]).to_string();
    assert!(!json.contains(b64));
}

/// The worker's outcomes, one message at a time (SQLite's write without a transaction) and
/// in a batch: each change queues its event with its sequence, and `message.final` too.
fn outcomes_queue_their_events(db: &TestDb) {
    use dialout_store::Claimable;
    let rt = runtime();
    let d = dialer(db, fast_settings());
    let (ep, _) = rt
        .block_on(d.add_webhook(
            "http://127.0.0.1:9/hook",
            Some(vec!["message.state_changed".into(), "message.final".into()]),
            None,
        ))
        .unwrap();
    let ids = insert(&db.store, 3);
    let now = Timestamp::now();
    let until = now + jiff::SignedDuration::from_secs(60);
    let owner = "test-worker";
    let claimed = db
        .store
        .claim(owner, Claimable::Ids(&ids), now, until)
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let begun = db.store.begin_attempts(owner, &ids, now).unwrap();
    // One message alone, then two in one batch.
    let one = db.store.finish(owner, &[done(&begun[0])], now).unwrap();
    assert!(one[0].is_some());
    let two: Vec<_> = begun[1..].iter().map(done).collect();
    let out = db.store.finish(owner, &two, now).unwrap();
    assert!(out.iter().all(Option::is_some));
    let queued = rt
        .block_on(d.webhook_deliveries(ep.id, false, 100))
        .unwrap();
    for id in &ids {
        let mut mine: Vec<_> = queued
            .iter()
            .filter(|q| q.message_id == Some(*id))
            .map(|q| (q.event_type.as_str(), q.sequence, q.to))
            .collect();
        mine.sort();
        // A Dummy-like outcome: one transition (the first), final.
        let history = db.store.history(*id).unwrap();
        let n = history.len() as i64 - 1;
        assert!(n >= 1, "{history:?}");
        assert_eq!(
            mine.last(),
            Some(&("message.state_changed", Some(n), Some(State::Debug))),
            "{id}: {mine:?}"
        );
        // PostgreSQL leaves a final event's sequence to be counted at delivery.
        assert_eq!(
            mine.iter()
                .filter(|e| e.0 == "message.final")
                .map(|e| (e.1.unwrap_or(n), e.2))
                .collect::<Vec<_>>(),
            vec![(n, Some(State::Debug))]
        );
    }
}

#[test]
fn outcomes_queue_their_events_sqlite() {
    outcomes_queue_their_events(&common::sqlite());
}

#[test]
fn outcomes_queue_their_events_postgres() {
    outcomes_queue_their_events(&common::postgres());
}

/// SQLite keeps a transaction's events in one outbox row; a claim moves only the rows it
/// needs into the deliveries (the move holds the lock the worker waits for), a listing all.
#[test]
fn a_claim_moves_only_the_events_it_needs_sqlite() {
    use dialout_store::Claimable;
    let db = common::sqlite();
    let rt = runtime();
    let d = dialer(&db, fast_settings());
    let (ep, _) = rt
        .block_on(d.add_webhook("http://127.0.0.1:9/hook", None, None))
        .unwrap();
    let now = Timestamp::now();
    let until = now + jiff::SignedDuration::from_secs(60);
    for _ in 0..3 {
        let ids = insert(&db.store, 2);
        db.store
            .claim("w", Claimable::Ids(&ids), now, until)
            .unwrap();
        let begun = db.store.begin_attempts("w", &ids, now).unwrap();
        let changes: Vec<_> = begun.iter().map(done).collect();
        db.store.finish("w", &changes, now).unwrap();
    }
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    let outbox = || -> i64 {
        conn.query_row("SELECT count(*) FROM webhook_outbox", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(outbox(), 3, "one row per transaction");
    let claimed = db
        .store
        .webhooks()
        .claim_deliveries("loop", ep.id, Timestamp::now(), until, 2)
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(outbox(), 2, "the claim moved one transaction's events");
    let all = rt
        .block_on(d.webhook_deliveries(ep.id, false, 100))
        .unwrap();
    assert_eq!(all.len(), 12, "a change and a final event per message");
    assert_eq!(outbox(), 0);
}

/// A final DEBUG outcome of a message as its owner last saw it.
fn done(m: &dialout_dialer::Message) -> (dialout_store::Seen, Change) {
    (
        dialout_store::Seen::Message(m.clone()),
        Change::Status {
            state: State::Debug,
            is_final: true,
            error: None,
            sender_data: JsonMap::new(),
            reason: "done".into(),
            reply: Default::default(),
        },
    )
}
