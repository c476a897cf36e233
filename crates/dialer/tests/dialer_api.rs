//! The `Dialer` as an application meets it: opened from a configuration, every call through
//! it — on SQLite and PostgreSQL.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod delivery_support;

use common::TestDb;
use dialout_dialer::{
    CancelOutcome, Config, Dialer, Error, MessageFilter, NewTemplate, SendError, SendRequest,
    State, TemplateChange, TemplateError,
};

fn config(db: &TestDb, extra: &str) -> Config {
    Config::from_toml(&format!("database_url = {:?}\n{extra}", db.url), "test").unwrap()
}

fn dialer(db: &TestDb) -> Dialer {
    Dialer::open(&config(db, "")).expect("open the dialer")
}

fn queued(recipient: &str, content: &str) -> SendRequest {
    let mut r = SendRequest::new(recipient, content);
    r.options.queued = true;
    r
}

fn template(slug: &str, body: &str) -> NewTemplate {
    NewTemplate {
        slug: slug.into(),
        body: body.into(),
        active: true,
        allow_duplicates: true,
        interactive: Default::default(),
    }
}

async fn a_message_and_its_history(db: &TestDb) {
    let d = dialer(db);
    let sent = d
        .send(SendRequest::new("+420777123456", "hello"))
        .await
        .unwrap();
    let id = sent.message.id;
    assert_eq!(d.message(id).await.unwrap().unwrap().id, id);
    let (m, history) = d.message_with_history(id).await.unwrap();
    assert_eq!(m.state, State::Debug, "the Dummy backend's final state");
    assert_eq!(history.first().unwrap().to, State::Waiting);
    assert_eq!(history.last().unwrap().to, State::Debug);
    assert_eq!(d.history(id).await.unwrap(), history);

    let unknown = dialout_dialer::MessageId::new();
    assert!(d.message(unknown).await.unwrap().is_none());
    assert!(matches!(
        d.message_with_history(unknown).await,
        Err(Error::NoMessage(x)) if x == unknown
    ));
}

async fn listing_is_newest_first_and_limited(db: &TestDb) {
    let d = dialer(db);
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = d
            .send(queued("+420777123456", &format!("m{i}")))
            .await
            .unwrap();
        ids.push(m.message.id);
    }
    ids.reverse();
    let all = d.messages(MessageFilter::default()).await.unwrap();
    assert_eq!(all.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(all.next, None, "no limit: one page");
    let first = d
        .messages(MessageFilter {
            limit: Some(2),
            ..MessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        first.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[..2]
    );
    assert_eq!(first.next, Some(ids[1]), "a full page says where to go on");

    // Walking the pages visits every message once, newest first.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = d
            .messages(MessageFilter {
                limit: Some(2),
                before,
                ..MessageFilter::default()
            })
            .await
            .unwrap();
        seen.extend(page.messages.iter().map(|m| m.id));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

async fn templates_are_checked_before_anything_is_stored(db: &TestDb) {
    let d = dialer(db);
    for (slug, body, want) in [
        ("Bad Slug", "hi", "slug"),
        ("ok", "", "empty"),
        ("ok", "   \n", "empty"),
        ("ok", "{{ name", "syntax"),
    ] {
        let e = d.add_template(template(slug, body)).await.unwrap_err();
        assert!(
            matches!(e, Error::InvalidTemplate(_)),
            "{slug:?} {body:?}: {e}"
        );
        assert!(e.to_string().contains(want), "{e}");
        assert!(e.is_caller_error());
    }
    assert!(d.templates().await.unwrap().is_empty(), "nothing stored");

    let t = d
        .add_template(template("hello", "Hello {{ name }}"))
        .await
        .unwrap();
    assert_eq!(t.slug, "hello");
    assert!(matches!(
        d.add_template(template("hello", "again")).await,
        Err(Error::TemplateExists(s)) if s == "hello"
    ));
    assert!(matches!(
        d.update_template("hello", TemplateChange::default()).await,
        Err(Error::NothingToChange)
    ));
    assert!(matches!(
        d.update_template(
            "hello",
            TemplateChange {
                body: Some(String::new()),
                ..TemplateChange::default()
            }
        )
        .await,
        Err(Error::InvalidTemplate(TemplateError::EmptyBody))
    ));
    assert_eq!(d.template("hello").await.unwrap().body, "Hello {{ name }}");
    let changed = d
        .update_template(
            "hello",
            TemplateChange {
                active: Some(false),
                ..TemplateChange::default()
            },
        )
        .await
        .unwrap();
    assert!(!changed.active);
    assert!(matches!(
        d.update_template(
            "nope",
            TemplateChange {
                active: Some(true),
                ..TemplateChange::default()
            }
        )
        .await,
        Err(Error::NoTemplate(s)) if s == "nope"
    ));
    d.remove_template("hello").await.unwrap();
    assert!(matches!(
        d.template("hello").await,
        Err(Error::NoTemplate(_))
    ));
    assert!(matches!(
        d.remove_template("hello").await,
        Err(Error::NoTemplate(_))
    ));
}

async fn cancel_and_resend(db: &TestDb) {
    let d = dialer(db);
    let waiting = d.send(queued("+420777123456", "x")).await.unwrap().message;
    let refused = d.resend(waiting.id).await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Refused {
                action: "resent",
                ..
            }
        ),
        "{refused}"
    );
    let out = d.cancel(waiting.id).await.unwrap();
    assert!(matches!(out, CancelOutcome::Cancelled { .. }));
    assert_eq!(out.message().state, State::Error);
    assert!(matches!(
        d.cancel(waiting.id).await,
        Err(Error::Refused {
            action: "cancelled",
            ..
        })
    ));
    let copy = d.resend(waiting.id).await.unwrap();
    assert_eq!(copy.resent_from, Some(waiting.id));
    assert_eq!(copy.state, State::Debug, "published at once through Dummy");
    let unknown = dialout_dialer::MessageId::new();
    assert!(matches!(d.cancel(unknown).await, Err(Error::NoMessage(_))));
}

async fn without_backends_it_reads_and_sends_nothing(db: &TestDb) {
    let full = dialer(db);
    let id = full
        .send(queued("+420777123456", "x"))
        .await
        .unwrap()
        .message
        .id;
    let records = Dialer::open_without_backends(&config(db, "")).unwrap();
    assert_eq!(records.message(id).await.unwrap().unwrap().id, id);
    let e = records
        .send(SendRequest::new("+420777123456", "y"))
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Invalid(_)), "{e}");
    assert!(e.to_string().contains("without backends"), "{e}");
    let listed = records.messages(MessageFilter::default()).await.unwrap();
    assert_eq!(
        listed.messages.len(),
        1,
        "nothing stored by the refused send"
    );
}

async fn the_worker_and_the_status_check_run_through_it(db: &TestDb) {
    let d = dialer(db);
    let id = d
        .send(queued("+420777123456", "x"))
        .await
        .unwrap()
        .message
        .id;
    let worker = d.worker(dialout_dialer::WorkerOptions {
        once: true,
        no_status: true,
        batch_size: Some(1),
        ..Default::default()
    });
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let stats = worker.run(rx).await.unwrap();
    assert_eq!((stats.claimed, stats.recorded), (1, 1));
    assert_eq!(d.message(id).await.unwrap().unwrap().state, State::Debug);
    let run = d.check_status().await.unwrap();
    assert!(run.ok());
}

async fn content_must_be_readable_and_not_too_long(db: &TestDb) {
    let d = dialer(db);
    for (content, want) in [
        ("\u{200b}", "no letter or digit"),
        ("...!", "no letter or digit"),
        ("   ", "empty"),
    ] {
        let e = d
            .send(SendRequest::new("+420777123456", content))
            .await
            .unwrap_err();
        assert!(e.to_string().contains(want), "{content:?}: {e}");
    }
    let long = "a".repeat(2_001);
    let e = d
        .send(SendRequest::new("+420777123456", long))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("2001 characters long; the limit is 2000"),
        "{e}"
    );
    d.send(queued("+420777123456", &"é".repeat(2_000)))
        .await
        .unwrap();
    let strict = Dialer::open(&config(db, "max_content_chars = 5\n")).unwrap();
    assert!(
        strict
            .send(queued("+420777123456", "123456"))
            .await
            .is_err()
    );
    strict.send(queued("+420777123456", "12345")).await.unwrap();
    // A backend's own limit, tighter than the global one, applies to its messages only.
    let per_backend = Dialer::open(&config(
        db,
        "default_backend = \"long\"\n[backends.long]\nkind = \"dummy\"\n[backends.short]\nkind = \"dummy\"\nmax_content_chars = 4\n",
    ))
    .unwrap();
    let mut to_short = queued("+420777123456", "12345");
    to_short.options.backend = Some("short".into());
    let e = per_backend.send(to_short).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("the limit is 4 (backends.short.max_content_chars)"),
        "{e}"
    );
    per_backend
        .send(queued("+420777123456", "12345"))
        .await
        .unwrap();
    let listed = d.messages(MessageFilter::default()).await.unwrap();
    assert_eq!(
        listed.messages.len(),
        3,
        "only those within their limits were stored"
    );
    let bad = Config::from_toml(
        "[backends.d]\nkind = \"dummy\"\nmax_content_chars = 0\n",
        "test",
    )
    .unwrap_err();
    assert!(
        bad.to_string().contains("backends.d.max_content_chars"),
        "{bad}"
    );
}

delivery_support::db_suite!(
    content_must_be_readable_and_not_too_long,
    a_message_and_its_history,
    listing_is_newest_first_and_limited,
    templates_are_checked_before_anything_is_stored,
    cancel_and_resend,
    without_backends_it_reads_and_sends_nothing,
    the_worker_and_the_status_check_run_through_it,
);

#[test]
fn a_bad_backend_configuration_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let text = format!(
        "database_url = \"sqlite://{}\"\ndefault_backend = \"y\"\n[backends.x]\nkind = \"dummy\"\n",
        db.display()
    );
    // Typed, so it parses; only building the backends finds the default missing.
    let config = Config::from_toml(&text, "test").unwrap();
    let e = Dialer::open(&config).err().expect("refused");
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("default_backend"), "{e}");
    assert!(
        !db.exists(),
        "no database created for a configuration that is refused"
    );
}
