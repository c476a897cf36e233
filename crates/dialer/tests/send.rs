//! `send`, `send_many` and `send_template` through the `Dialer`, on SQLite (and a smoke run on
//! PostgreSQL).

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use dialout_backends::Dummy;
use dialout_backends::backend::{Backend, BackendError, Found, Lookup, Publish};
use dialout_dialer::delivery::Channels;
use dialout_dialer::{
    Dialer, InvalidInput, Message, SendError, SendOptions, SendRequest, State, TemplateRequest,
};
use dialout_model::template::NewTemplate;
use dialout_model::template::Refusal;
use dialout_store::prelude::*;
use dialout_store::{Cursor, MessageFilter};
use serde_json::json;

fn dialer(db: &common::TestDb) -> Dialer {
    Dialer::new(
        db.store.clone(),
        Channels::single(Arc::new(Dummy::new("dummy"))),
    )
    .with_default_region(Some("CZ".into()))
}

fn stored(store: &Arc<dyn Store>) -> Vec<Message> {
    store.messages(&MessageFilter::default()).unwrap()
}

#[tokio::test]
async fn send_stores_then_publishes_through_dummy() {
    let db = common::sqlite();
    let d = dialer(&db);
    let mut r = SendRequest::new("777 123 456", "Your order has shipped");
    r.options.related = vec!["order:42".into()];
    r.options.tag = Some("orders".into());
    r.options.extra_data = Some(json!({"lang": "en"}));
    let sent = d.send(r).await.unwrap();
    let m = &sent.message;
    assert!(!sent.existing);
    assert_eq!(
        (m.state, m.is_final_state, m.attempts),
        (State::Debug, true, 1)
    );
    assert_eq!(m.recipient.as_str(), "+420777123456");
    assert_eq!(
        m.extra_data["lang"], "en",
        "extra data is kept (pymess dropped it)"
    );
    assert!(m.sent_at.is_some());
    assert_eq!(db.store.message(m.id).unwrap().as_ref(), Some(m));
    let h: Vec<_> = db
        .store
        .history(m.id)
        .unwrap()
        .iter()
        .map(|h| h.to)
        .collect();
    assert_eq!(h, vec![State::Waiting, State::Debug]);
}

#[tokio::test]
async fn invalid_input_stores_nothing() {
    let db = common::sqlite();
    let d = dialer(&db);
    type Case = (SendRequest, fn(&InvalidInput) -> bool);
    let cases: Vec<Case> = vec![
        (SendRequest::new("+420 12", "x"), |e| {
            matches!(e, InvalidInput::Recipient(_))
        }),
        (SendRequest::new("+420777123456", "  "), |e| {
            matches!(e, InvalidInput::Content(_))
        }),
        (
            SendRequest {
                options: SendOptions {
                    tag: Some("bad tag".into()),
                    ..Default::default()
                },
                ..SendRequest::new("+420777123456", "x")
            },
            |e| matches!(e, InvalidInput::Tag(_)),
        ),
        (
            SendRequest {
                options: SendOptions {
                    related: vec!["order".into()],
                    ..Default::default()
                },
                ..SendRequest::new("+420777123456", "x")
            },
            |e| matches!(e, InvalidInput::Related(_)),
        ),
        (
            SendRequest {
                options: SendOptions {
                    backend: Some("fax".into()),
                    ..Default::default()
                },
                ..SendRequest::new("+420777123456", "x")
            },
            |e| matches!(e, InvalidInput::Backend { .. }),
        ),
        (
            SendRequest {
                options: SendOptions {
                    priority: Some(9),
                    ..Default::default()
                },
                ..SendRequest::new("+420777123456", "x")
            },
            |e| matches!(e, InvalidInput::Priority(_)),
        ),
        (
            SendRequest {
                options: SendOptions {
                    extra_data: Some(json!([1])),
                    ..Default::default()
                },
                ..SendRequest::new("+420777123456", "x")
            },
            |e| matches!(e, InvalidInput::Json { .. }),
        ),
    ];
    for (req, check) in cases {
        match d.send(req).await {
            Err(SendError::Invalid(e)) => assert!(check(&e), "unexpected error {e}"),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }
    assert!(stored(&db.store).is_empty());
}

#[tokio::test]
async fn idempotency_key_returns_the_first_and_refuses_other_content() {
    let db = common::sqlite();
    let d = dialer(&db);
    let mut r = SendRequest::new("+420777123456", "hello");
    r.options.idempotency_key = Some("order-42-shipped".into());
    let first = d.send(r.clone()).await.unwrap();
    let again = d.send(r.clone()).await.unwrap();
    assert!(again.existing);
    assert_eq!(again.message, first.message, "nothing sent again");
    r.content = "other".into();
    let err = d.send(r).await.unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Invalid(InvalidInput::IdempotencyConflict { .. })
        ),
        "{err}"
    );
    assert_eq!(stored(&db.store).len(), 1);
}

#[tokio::test]
async fn queued_and_future_messages_wait() {
    let db = common::sqlite();
    let d = dialer(&db);
    let mut q = SendRequest::new("+420777123456", "q");
    q.options.queued = true;
    assert_eq!(d.send(q).await.unwrap().message.state, State::Waiting);
    let mut later = SendRequest::new("+420777123456", "later");
    later.options.not_before = Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1));
    let m = d.send(later).await.unwrap().message;
    assert_eq!((m.state, m.attempts), (State::Waiting, 0));
    let batch = d.clone().with_batch_sending(true);
    assert_eq!(
        batch
            .send(SendRequest::new("+420777123456", "b"))
            .await
            .unwrap()
            .message
            .state,
        State::Waiting
    );
}

/// Checks, while it is being called, that the message was committed before.
struct Probe {
    store: Arc<dyn Store>,
    calls: AtomicUsize,
    outcome: Publish,
    /// Has a lookup that can resolve an attempt: `send` then begins it in the storing commit.
    finds: bool,
}

#[async_trait]
impl Backend for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    async fn publish(&self, m: &Message) -> Publish {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // Another connection sees the message, its attempt counted: nothing is left uncommitted.
        let seen = self
            .store
            .message(m.id)
            .unwrap()
            .expect("committed before the backend call");
        assert_eq!(
            (seen.state, seen.attempts, seen.attempt_unresolved),
            (State::Waiting, 1, true)
        );
        // And the store is free for writers while the backend works.
        let cursor = Cursor {
            backend: "probe",
            value: "x",
        };
        self.store
            .apply(&[], Some(cursor), jiff::Timestamp::now())
            .unwrap();
        self.outcome.clone()
    }
    fn lookup(&self) -> Option<&dyn Lookup> {
        self.finds.then_some(self as &dyn Lookup)
    }
}

#[async_trait]
impl Lookup for Probe {
    async fn find(&self, _m: &Message) -> Result<Found, BackendError> {
        Ok(Found::No)
    }
}

#[tokio::test]
async fn backend_is_called_after_commit_and_its_error_is_stored() {
    committed_before_the_backend(false).await;
}

/// The same when the first attempt is begun in the transaction that stores the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_with_a_lookup_is_called_after_the_one_commit() {
    committed_before_the_backend(true).await;
}

async fn committed_before_the_backend(finds: bool) {
    let db = common::sqlite();
    let probe = Arc::new(Probe {
        store: db.store.clone(),
        calls: AtomicUsize::new(0),
        outcome: Publish::Failed {
            error: "number blocked".into(),
        },
        finds,
    });
    let d = Dialer::new(db.store.clone(), Channels::single(probe.clone()));
    let m = d
        .send(SendRequest::new("+420777123456", "x"))
        .await
        .expect("a backend error is not raised")
        .message;
    assert_eq!(
        (m.state, m.error.as_deref(), m.is_final_state),
        (State::Error, Some("number blocked"), true)
    );
    assert!(m.failed());
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    assert_eq!(db.store.message(m.id).unwrap().unwrap(), m);
}

#[tokio::test]
async fn send_many_is_all_or_nothing() {
    let db = common::sqlite();
    let d = dialer(&db);
    let good = |i: usize| SendRequest::new("+420777123456", format!("m{i}"));
    let mut batch: Vec<_> = (0..5).map(good).collect();
    batch.push(SendRequest::new("nope", "x"));
    let err = d.send_many(batch).await.unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Invalid(InvalidInput::InBatch { index: 5, .. })
        ),
        "{err}"
    );
    assert!(stored(&db.store).is_empty());
    let sent = d.send_many((0..50).map(good).collect()).await.unwrap();
    assert_eq!(sent.len(), 50);
    assert!(sent.iter().all(|s| s.message.state == State::Debug));
}

async fn add_template(store: &Arc<dyn Store>, slug: &str, body: &str, active: bool, dup: bool) {
    let t = NewTemplate {
        slug: slug.into(),
        body: body.into(),
        active,
        allow_duplicates: dup,
        interactive: Default::default(),
    };
    store.add_template(&t, jiff::Timestamp::now()).unwrap();
}

fn treq(slug: &str, ctx: serde_json::Value, related: &[&str]) -> TemplateRequest {
    TemplateRequest {
        recipient: "+420777123456".into(),
        slug: slug.into(),
        context: ctx,
        options: SendOptions {
            related: related.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn send_template_renders_and_refuses() {
    let db = common::sqlite();
    let d = dialer(&db);
    add_template(
        &db.store,
        "shipped",
        "Hello {{ name }}, order {{ order }} has shipped",
        true,
        false,
    )
    .await;
    add_template(&db.store, "off", "x", false, true).await;

    let m = d
        .send_template(treq(
            "shipped",
            json!({"name": "Jo", "order": 42}),
            &["order:42"],
        ))
        .await
        .unwrap()
        .message;
    assert_eq!(m.content, "Hello Jo, order 42 has shipped");
    assert_eq!(m.template_slug.as_deref(), Some("shipped"));
    assert!(m.template_id.is_some());

    // A retry of the first request (same idempotency key) gets it back; a new request is refused.
    let mut keyed = treq("shipped", json!({"name": "Al", "order": 7}), &["order:7"]);
    keyed.options.idempotency_key = Some("order-7".into());
    let first = d.send_template(keyed.clone()).await.unwrap();
    let again = d.send_template(keyed).await.unwrap();
    assert!(again.existing);
    assert_eq!(again.message.id, first.message.id);

    let dup = d
        .send_template(treq(
            "shipped",
            json!({"name": "Jo", "order": 42}),
            &["order:42"],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(dup, SendError::Refused(Refusal::Duplicate { .. })),
        "{dup}"
    );
    // Other related objects: not a duplicate.
    d.send_template(treq(
        "shipped",
        json!({"name": "Al", "order": 43}),
        &["order:43"],
    ))
    .await
    .unwrap();

    let off = d
        .send_template(treq("off", json!({}), &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(off, SendError::Refused(Refusal::Inactive(_))),
        "{off}"
    );
    let unknown = d
        .send_template(treq("nope", json!({}), &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            unknown,
            SendError::Invalid(InvalidInput::UnknownTemplate(_))
        ),
        "{unknown}"
    );
    let missing = d
        .send_template(treq("shipped", json!({"name": "Jo"}), &["order:44"]))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, SendError::Invalid(InvalidInput::Template(_))),
        "{missing}"
    );
    assert!(
        missing.to_string().contains("order") || missing.to_string().contains("undefined"),
        "{missing}"
    );
    assert_eq!(
        stored(&db.store).len(),
        3,
        "refusals and errors stored nothing"
    );
}

/// The PostgreSQL store blocks: it is opened and dropped outside the async runtime.
#[test]
fn send_on_postgres() {
    let db = common::postgres();
    let d = dialer(&db);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let m = rt
        .block_on(d.send(SendRequest::new("00420777123456", "pg")))
        .unwrap()
        .message;
    assert_eq!(m.state, State::Debug);
    assert_eq!(db.store.message(m.id).unwrap().unwrap(), m);
}

/// On a multi-threaded runtime store calls run in place (`block_in_place`); the blocking
/// PostgreSQL client must work there too.
#[test]
fn send_on_postgres_multi_threaded() {
    let db = common::postgres();
    let d = dialer(&db);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sent = rt.block_on(async {
        let mut many = Vec::new();
        for i in 0..3 {
            many.push(SendRequest::new("+420777123456", format!("pg {i}")));
        }
        d.send_many(many).await
    });
    let sent = sent.unwrap();
    assert!(sent.iter().all(|s| s.message.state == State::Debug));
    drop(rt);
}

/// A queued bulk send is validated chunk by chunk while earlier chunks are written, in one
/// transaction: an invalid request far into the batch still leaves nothing stored, and its
/// index is reported.
async fn queued_bulk_is_all_or_nothing_across_chunks(db: &common::TestDb) {
    let d = dialer(db);
    let queued = |i: usize| {
        let mut r = SendRequest::new(format!("+420777{:06}", i), format!("m{i}"));
        r.options.queued = true;
        r
    };
    let mut batch: Vec<_> = (0..700).map(queued).collect();
    batch[517] = SendRequest::new("12", "bad number");
    batch[517].options.queued = true;
    let err = d.send_many(batch).await.unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Invalid(InvalidInput::InBatch { index: 517, .. })
        ),
        "{err}"
    );
    // The PostgreSQL client blocks: not on the runtime's own threads.
    let count = || tokio::task::block_in_place(|| stored(&db.store).len());
    assert_eq!(count(), 0, "nothing stored");
    let sent = d.send_many((0..700).map(queued).collect()).await.unwrap();
    assert_eq!(sent.len(), 700);
    assert!(sent.iter().enumerate().all(|(i, s)| s.message.state == State::Waiting && s.message.content == format!("m{i}")));
    assert_eq!(count(), 700);
}

fn on_multi_threaded_runtime(db: common::TestDb) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The database is dropped (with blocking clients) outside the runtime.
    rt.block_on(queued_bulk_is_all_or_nothing_across_chunks(&db));
}

#[test]
fn sqlite_queued_bulk_is_all_or_nothing_across_chunks() {
    on_multi_threaded_runtime(common::sqlite());
}

#[test]
fn postgres_queued_bulk_is_all_or_nothing_across_chunks() {
    on_multi_threaded_runtime(common::postgres());
}
