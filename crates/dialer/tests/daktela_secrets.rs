//! The access token goes in the X-AUTH-TOKEN header and nowhere else: not in a URL, a log
//! line (everything captured at TRACE, reqwest and hyper included), an error text or the
//! data kept on a message — even when Daktela or a proxy echoes it back.

mod daktela_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use daktela_support::*;
use dialout_backends::Daktela;
use dialout_backends::backend::{Backend, Lookup};
use dialout_testkit::fake_daktela::{CustomFieldFilters, FakeDaktela, Fault};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_leaves_the_header() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .init();

    let fake = FakeDaktela::start(TOKEN).await;
    let b = backend(&fake, "max_concurrent_requests = 2");
    let mut texts: Vec<String> = vec![format!("{:?}", b.config())];

    // Success, then every kind of failure, for publish.
    let mut ok = message("+420777123456", "hello");
    let p = b.publish(&ok).await;
    texts.push(format!("{p:?}"));
    accept(&mut ok, accepted(&p));
    let echoed = format!("token {TOKEN} lacks the right campaignsRecords.create");
    let faults = [
        Fault::HtmlServerError,
        Fault::TooManyRequests,
        Fault::Unauthorized,
        Fault::Forbidden,
        Fault::MalformedJson,
        Fault::NullResultWithError {
            status: 400,
            error: json!([echoed.clone()]),
        },
        Fault::NullResultWithError {
            status: 500,
            error: json!({"auth": [echoed.clone()]}),
        },
        Fault::NullResultWithError {
            status: 403,
            error: json!([echoed.clone()]),
        },
        Fault::Slow(Duration::from_secs(2)),
        Fault::TimeoutAfterWork(Duration::from_secs(2)),
    ];
    for f in faults {
        fake.fail_next(f);
        texts.push(format!(
            "{:?}",
            b.publish(&message("+420777123456", "x")).await
        ));
    }
    // Daktela's words survive the scrubbing.
    assert!(
        texts
            .iter()
            .any(|t| t.contains("lacks the right campaignsRecords.create")
                && t.contains("[redacted]")),
        "{texts:?}"
    );

    // find by id, refused, and by number; then the status check, its failures included.
    texts.push(format!(
        "{:?}",
        b.find(&message("+420777123456", "x")).await
    ));
    fake.set_custom_field_filters(CustomFieldFilters::Refuse);
    texts.push(format!(
        "{:?}",
        b.find(&message("+420777123456", "x")).await
    ));
    fake.set_progress(&record_name(&ok), "5", &["statuses_unknown"]);
    let r = b.check_status(&[ok.clone()], None).await;
    texts.push(format!("{r:?}"));
    if let Ok(r) = &r {
        for u in &r.updates {
            ok.extra_sender_data.extend(u.sender_data.clone());
        }
    }
    for f in [
        Fault::HtmlServerError,
        Fault::Unauthorized,
        Fault::NullResultWithError {
            status: 502,
            error: json!([echoed.clone()]),
        },
    ] {
        fake.fail_next(f);
        texts.push(format!("{:?}", b.check_status(&[ok.clone()], None).await));
    }
    texts.push(serde_json::to_string(&ok).unwrap());

    // A wrong token in the configuration: it is not printed in the error or the 401 text.
    let wrong = "wrong-token-5b2d7e";
    let mut opts = options(&fake, "");
    opts.insert("access_token".into(), toml::Value::String(wrong.into()));
    let w = Daktela::from_options("dk", &opts).unwrap();
    texts.push(format!(
        "{:?}",
        w.publish(&message("+420777123456", "x")).await
    ));

    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let requests = fake.requests();

    // Not vacuous: requests were made with the token in the header, and much was logged.
    assert!(requests.len() >= 20, "{}", requests.len());
    assert!(requests.iter().any(|r| {
        r.headers
            .iter()
            .any(|(k, v)| k == "x-auth-token" && v == TOKEN)
    }));
    assert!(
        log.contains("daktela request"),
        "tracing output was captured"
    );
    assert!(log.lines().count() > 20, "{log}");

    for secret in [TOKEN, wrong] {
        for r in &requests {
            assert!(!r.uri.contains(secret), "token in a URL: {}", r.uri);
            assert!(!r.body.contains(secret), "token in a body: {}", r.body);
        }
        for l in log.lines() {
            assert!(!l.contains(secret), "token in a log line: {l}");
        }
        for t in &texts {
            assert!(!t.contains(secret), "token in a returned text: {t}");
        }
    }
}
