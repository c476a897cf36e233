//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver. One browser for the whole file: Chromium is slow to start on a
//! loaded machine. Every step saves a screenshot under target/screenshots/.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dialout_dialer::{State, TemplateChange};
use fantoccini::{Client, ClientBuilder, Locator};

const WAIT: Duration = Duration::from_secs(60);

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Driver, Client) {
    for bin in ["chromedriver", "chromium"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "{bin} not found: the browser tests need Debian's chromium and chromium-driver \
             (apt-get install -y chromium chromium-driver; scripts/test installs them)"
        );
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--hide-scrollbars", "--lang=en-US"]
        }
    }))
    .unwrap();
    let start = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if start.elapsed() < Duration::from_secs(90) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
        }
    };
    (driver, client)
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) -> Vec<u8> {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(shots_dir().join(format!("{name}.png")), &png).unwrap();
    png
}

async fn text(c: &Client, css: &str) -> String {
    let start = Instant::now();
    loop {
        let found = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
        match found.text().await {
            Ok(t) => return t,
            // Found on a page the browser was leaving: read it again on the new one.
            Err(fantoccini::error::CmdError::Standard(e))
                if left_behind(&e) && start.elapsed() < WAIT =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot read {css}: {e}"),
        }
    }
}

/// Waits until the text of `css` is `want` (a fragment htmx swaps in after typing).
async fn text_becomes(c: &Client, css: &str, want: &str) {
    let start = Instant::now();
    loop {
        let got = text(c, css).await;
        if got == want {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "{css} still reads {got:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks what `locator` finds (every click here follows a link or submits a form) and waits
/// until the browser has left the page it was on, so that what is read next comes from the
/// new page, never from the old one while the new one loads.
async fn click_away(c: &Client, locator: Locator<'_>) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(locator).await.unwrap().click().await.unwrap();
    let start = Instant::now();
    loop {
        match old.tag_name().await {
            Err(fantoccini::error::CmdError::Standard(e)) if left_behind(&e) => return,
            other if start.elapsed() >= WAIT => {
                panic!("the click did not leave the page within {WAIT:?}: {other:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Whether a WebDriver error says the element belonged to a page the browser has left:
/// Chromium reports a stale element, or an unknown error whose node "does not belong to the
/// document".
fn left_behind(e: &fantoccini::error::WebDriver) -> bool {
    use fantoccini::error::ErrorStatus;
    e.error == ErrorStatus::StaleElementReference
        || (e.error == ErrorStatus::UnknownError
            && e.message.contains("does not belong to the document"))
}

async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

async fn sign_in(c: &Client, s: &common::Server, token: &str) {
    c.goto(&s.url("/sign-in")).await.unwrap();
    let field = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id("token"))
        .await
        .unwrap();
    field.send_keys(token).await.unwrap();
    click_away(c, Locator::Css("#sign-in button")).await;
}

/// Rows of the messages table, without the "no messages" row.
async fn table_rows(c: &Client) -> usize {
    c.find_all(Locator::Css("#rows tr td a"))
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let s = common::start().await;
    let (_driver, c) = browser().await;
    steps(&c, &s).await;
    rough_edges(&c, &s).await;
    interactive(&c, &s).await;
    let _ = c.close().await;
}

async fn steps(c: &Client, s: &common::Server) {
    // What the test sends: 3 waiting, 2 ended (DEBUG through the Dummy backend).
    let first = s
        .queue(
            "+420777000001",
            "Your parcel arrives tomorrow between 8 and 12.",
            "campaign-a",
        )
        .await;
    let second = s
        .queue(
            "+420777000002",
            "Your parcel arrives tomorrow.",
            "campaign-a",
        )
        .await;
    let other = s
        .queue(
            "+420777000003",
            "Please confirm your appointment.",
            "campaign-b",
        )
        .await;
    s.send("+420777000004", "Test call one.").await;
    s.send("+420777000005", "Test call two.").await;

    // --- an unauthenticated request is redirected to the sign-in page
    c.goto(&s.url("/messages?tag=campaign-a")).await.unwrap();
    text(c, "#sign-in").await;
    assert_eq!(
        path(c).await,
        "/sign-in?next=%2Fmessages%3Ftag%3Dcampaign-a",
        "a page without a session sends to the sign-in page"
    );
    c.goto(&s.url("/messages.csv")).await.unwrap();
    text(c, "#sign-in").await;
    assert!(path(c).await.starts_with("/sign-in"), "the CSV export too");
    shot(c, "01-unauthenticated-redirect").await;

    // --- sign in: a wrong token is refused, a right one opens the overview
    sign_in(c, s, "not-a-token").await;
    let err = text(c, ".error").await;
    assert!(err.contains("Unknown or revoked token"), "{err}");
    sign_in(c, s, common::ALL).await;
    text(c, "#queue-depth").await;
    assert_eq!(path(c).await, "/");

    // --- the overview shows the counts of the messages sent
    assert_eq!(text(c, "#queue-depth").await, "3");
    assert_eq!(text(c, "#total-h24").await, "5");
    assert_eq!(text(c, "#total-d7").await, "5");
    let debug_7d = text(c, "#counts-d7 tr[data-state=DEBUG] td.num").await;
    assert_eq!(debug_7d, "2");
    let waiting = text(c, "#counts-h24 tr[data-state=WAITING] td.num").await;
    let debug = text(c, "#counts-h24 tr[data-state=DEBUG] td.num").await;
    assert_eq!((waiting.as_str(), debug.as_str()), ("3", "2"));
    assert_eq!(
        text(c, "#rate-h24").await,
        "0.0 %",
        "DEBUG ended without reaching anyone"
    );
    // The charts were drawn by the vendored Chart.js (no internet needed).
    let drawn = c
        .execute("return typeof Chart !== 'undefined' && document.querySelectorAll('canvas.state-chart').length", vec![])
        .await
        .unwrap();
    assert_eq!(drawn, serde_json::json!(2));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = shot(c, "02-overview").await;
    docs_img("overview.png", &png);

    // --- a filter narrows the table
    c.goto(&s.url("/messages")).await.unwrap();
    text(c, "#filters").await;
    assert_eq!(table_rows(c).await, 5);
    c.find(Locator::Css("#filters input[name=tag]"))
        .await
        .unwrap()
        .send_keys("campaign-a")
        .await
        .unwrap();
    click_away(c, Locator::Css("#filters button[type=submit]")).await;
    c.wait()
        .at_most(WAIT)
        .for_url(
            &url::Url::parse(
                &s.url("/messages?state=&tag=campaign-a&related=&recipient=&answer=&since=&until="),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(table_rows(c).await, 2, "only campaign-a's two messages");
    let rows = text(c, "#rows").await;
    assert!(
        rows.contains("+420777000001") && rows.contains("+420777000002"),
        "{rows}"
    );
    assert!(!rows.contains("+420777000003"), "{rows}");
    // The CSV link carries the filter.
    let csv = c
        .find(Locator::Id("csv"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(csv.as_deref(), Some("/messages.csv?tag=campaign-a"));
    shot(c, "03-messages-filtered").await;

    // --- a message page shows its history
    c.goto(&s.url(&format!("/messages/{}", first.id)))
        .await
        .unwrap();
    let history = text(c, "#history").await;
    assert!(history.contains("WAITING"), "{history}");
    assert_eq!(text(c, "#state").await, "WAITING");
    let fields = text(c, "#fields").await;
    assert!(
        fields.contains("campaign-a") && fields.contains("order:42"),
        "{fields}"
    );
    shot(c, "04-message").await;

    // --- cancel works, after a confirmation
    click_away(c, Locator::Id("cancel")).await;
    text(c, "#confirm-form").await;
    shot(c, "05-cancel-confirm").await;
    click_away(c, Locator::Id("confirm")).await;
    c.wait()
        .at_most(WAIT)
        .for_url(&url::Url::parse(&s.url(&format!("/messages/{}", first.id))).unwrap())
        .await
        .unwrap();
    assert_eq!(text(c, "#state").await, "ERROR");
    let history = text(c, "#history").await;
    assert!(
        history.contains("WAITING") && history.contains("ERROR"),
        "{history}"
    );
    let (m, h) = s.dialer.message_with_history(first.id).await.unwrap();
    assert_eq!(m.state, State::Error);
    assert!(m.is_final_state);
    assert_eq!(h.len(), 2, "stored, then cancelled");
    let png = shot(c, "06-message-cancelled").await;
    docs_img("message.png", &png);

    // --- a form without its CSRF token is refused
    c.goto(&s.url(&format!("/messages/{}/cancel", second.id)))
        .await
        .unwrap();
    text(c, "#confirm-form").await;
    c.execute(
        "document.querySelector('#confirm-form input[name=_csrf]').remove(); return true;",
        vec![],
    )
    .await
    .unwrap();
    click_away(c, Locator::Id("confirm")).await;
    let body = text(c, "body").await;
    assert!(
        body.contains("403 Forbidden") && body.contains("CSRF"),
        "{body}"
    );
    let m = s.dialer.message(second.id).await.unwrap().unwrap();
    assert_eq!(m.state, State::Waiting, "nothing was cancelled");
    shot(c, "07-csrf-refused").await;

    // --- a template edit with a syntax error shows the error and saves nothing
    s.dialer
        .add_template(dialout_dialer::NewTemplate {
            slug: "reminder".into(),
            body: "Hello {{ name }}, your appointment is at {{ time }}.".into(),
            active: true,
            allow_duplicates: true,
            interactive: Default::default(),
        })
        .await
        .unwrap();
    c.goto(&s.url("/templates/reminder")).await.unwrap();
    let body_field = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id("body"))
        .await
        .unwrap();
    let sample = c.find(Locator::Id("sample")).await.unwrap();
    sample.clear().await.unwrap();
    sample
        .send_keys(r#"{"name": "Jana", "time": "10:30"}"#)
        .await
        .unwrap();
    // The editor opened with a preview of its own sample; this one follows what was typed.
    text_becomes(
        c,
        "#preview-text",
        "Hello Jana, your appointment is at 10:30.",
    )
    .await;
    body_field.clear().await.unwrap();
    body_field.send_keys("Hello {{ name ").await.unwrap();
    let live = text(c, "#preview-error").await;
    assert!(live.contains("syntax error"), "{live}");
    shot(c, "08-template-live-error").await;
    click_away(c, Locator::Id("save")).await;
    let saved = text(c, "#save-error").await;
    assert!(saved.contains("syntax error"), "{saved}");
    let t = s.dialer.template("reminder").await.unwrap();
    assert_eq!(
        t.body, "Hello {{ name }}, your appointment is at {{ time }}.",
        "nothing saved"
    );
    shot(c, "09-template-save-refused").await;
    // And a good edit is saved.
    let body_field = c.find(Locator::Id("body")).await.unwrap();
    body_field.clear().await.unwrap();
    body_field
        .send_keys("Hi {{ name }}, see you at {{ time }}.")
        .await
        .unwrap();
    click_away(c, Locator::Id("save")).await;
    text(c, "#preview").await;
    let t = s.dialer.template("reminder").await.unwrap();
    assert_eq!(t.body, "Hi {{ name }}, see you at {{ time }}.");
    let _ = TemplateChange::default();

    // --- the table refreshes itself: a message sent now appears without a reload
    c.goto(&s.url("/messages?tag=campaign-b")).await.unwrap();
    text(c, "#filters").await;
    assert_eq!(table_rows(c).await, 1);
    let _ = other;
    s.queue("+420777000006", "A late one.", "campaign-b").await;
    let start = Instant::now();
    while table_rows(c).await != 2 {
        assert!(start.elapsed() < WAIT, "the table did not refresh itself");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    shot(c, "10-messages-refreshed").await;

    // --- webhooks: the overview counts the failures, the page lists them, replay queues one
    let (ep, _secret) = s
        .dialer
        .add_webhook("http://127.0.0.1:9/hook", None, None)
        .await
        .unwrap();
    s.dialer.cancel(second.id).await.unwrap();
    s.store()
        .webhooks()
        .disable_endpoint(ep.id, "receiver gone", jiff::Timestamp::now())
        .unwrap();
    let failed = s.dialer.webhook_deliveries(ep.id, true, 10).await.unwrap();
    assert_eq!(failed.len(), 2, "the cancel's state change and final event");
    c.goto(&s.url("/")).await.unwrap();
    assert_eq!(text(c, "#webhook-failures-count").await, "2");
    click_away(c, Locator::Css("#webhook-failures a")).await;
    let endpoints = text(c, "#endpoints").await;
    assert!(
        endpoints.contains("http://127.0.0.1:9/hook") && endpoints.contains("DISABLED"),
        "{endpoints}"
    );
    assert_eq!(
        text(c, &format!("tr[data-endpoint='{}'] .failed-count", ep.id)).await,
        "2"
    );
    shot(c, "10a-webhooks").await;
    click_away(c, Locator::Css(&format!("tr[data-endpoint='{}'] a", ep.id))).await;
    let failures = text(c, "#failed").await;
    assert!(
        failures.contains("message.final") && failures.contains("FAILED"),
        "{failures}"
    );
    // A replay to a disabled endpoint is refused: on again first (its failures stay).
    s.store().webhooks().enable_endpoint(ep.id).unwrap();
    let one = failed[0].id;
    click_away(
        c,
        Locator::Css(&format!("#failed tr[data-delivery='{one}'] button.replay")),
    )
    .await;
    assert_eq!(text(c, "#replayed").await, "1 delivery queued again.");
    assert_eq!(
        path(c).await,
        format!("/webhooks/{}?replayed=1", ep.id),
        "back on the endpoint's page"
    );
    let d = s.dialer.webhook_delivery(one).await.unwrap();
    assert_eq!(d.state, dialout_dialer::webhooks::DeliveryState::Pending);
    let failures = text(c, "#failed").await;
    assert!(!failures.contains(&d.event_id()), "{failures}");
    shot(c, "10b-webhook-replayed").await;

    // --- usable on a phone-sized screen: nothing wider than the screen but the table's
    // own scroll box
    c.set_window_size(390, 844).await.unwrap();
    for (p, name) in [
        ("/".to_string(), "11-phone-overview"),
        ("/messages".to_string(), "12-phone-messages"),
        (format!("/messages/{}", first.id), "13-phone-message"),
        (format!("/webhooks/{}", ep.id), "14-phone-webhook"),
    ] {
        c.goto(&s.url(&p)).await.unwrap();
        text(c, "main h1").await;
        let wide = c
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            wide.as_i64().unwrap() <= 0,
            "{p} is {wide} px wider than the phone"
        );
        shot(c, name).await;
    }
    c.set_window_size(1280, 1000).await.unwrap();

    // --- sign out ends the session
    click_away(c, Locator::Css(".signout button")).await;
    text(c, "#sign-in").await;
    c.goto(&s.url("/")).await.unwrap();
    text(c, "#sign-in").await;
    assert!(path(c).await.starts_with("/sign-in"));
}

/// Whether the page has the dashboard's style sheet applied (its background colour), not a
/// bare text answer.
async fn styled(c: &Client) -> bool {
    let bg = c
        .execute(
            "return getComputedStyle(document.body).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    bg == serde_json::json!("rgb(245, 247, 250)")
}

async fn value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Issue 26's rough edges, where a user meets them: a read-only user and cancel, a typo in
/// a filter, a refused template save, the template editor's first preview, the workers'
/// status and the overview on a phone.
async fn rough_edges(c: &Client, s: &common::Server) {
    let waiting = s
        .queue("+420777000007", "Your table is booked.", "campaign-c")
        .await;

    // --- a read-only user is not offered cancel, and a 403 is a page that says why
    sign_in(c, s, common::READ).await;
    text(c, "#queue-depth").await;
    c.goto(&s.url(&format!("/messages/{}", waiting.id)))
        .await
        .unwrap();
    assert_eq!(text(c, "#state").await, "WAITING");
    assert!(
        c.find_all(Locator::Css("#cancel, #resend"))
            .await
            .unwrap()
            .is_empty(),
        "a read token sees no cancel or resend"
    );
    c.goto(&s.url(&format!("/messages/{}/cancel", waiting.id)))
        .await
        .unwrap();
    assert_eq!(text(c, "main h1").await, "403 Forbidden");
    let why = text(c, "#error-message").await;
    assert!(
        why.contains("Cancelling a message needs a token with the send scope")
            && why.contains("has only read"),
        "{why}"
    );
    assert!(
        c.find_all(Locator::Css("#confirm-form, #confirm"))
            .await
            .unwrap()
            .is_empty(),
        "no \"Yes, cancel it\" on the page"
    );
    assert!(styled(c).await, "the 403 page is a styled dashboard page");
    text(c, "header.top nav").await;
    shot(c, "15-read-only-cancel-refused").await;
    let m = s.dialer.message(waiting.id).await.unwrap().unwrap();
    assert_eq!(m.state, State::Waiting, "nothing was cancelled");

    // --- a typo in a filter shows the form with the error next to the field
    c.goto(&s.url("/messages?tag=campaign-c&related=notvalid"))
        .await
        .unwrap();
    let err = text(c, "#filters label #error-related").await;
    assert!(err.contains("notvalid") && err.contains("TYPE:ID"), "{err}");
    let beside = c
        .execute(
            "return document.querySelector('#error-related').parentElement \
             .querySelector('input[name=related]') !== null",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        beside,
        serde_json::json!(true),
        "the error is in the field's label"
    );
    assert_eq!(value(c, "#filters input[name=related]").await, "notvalid");
    assert_eq!(value(c, "#filters input[name=tag]").await, "campaign-c");
    assert!(
        text(c, "#filter-error")
            .await
            .contains("until the filter is fixed")
    );
    assert!(styled(c).await);
    shot(c, "16-filter-typo").await;
    // Fixed in the same form, the table is back.
    let related = c
        .find(Locator::Css("#filters input[name=related]"))
        .await
        .unwrap();
    related.clear().await.unwrap();
    related.send_keys("order:42").await.unwrap();
    click_away(c, Locator::Css("#filters button[type=submit]")).await;
    text(c, "#rows").await;
    assert_eq!(table_rows(c).await, 1, "campaign-c's one message");
    assert!(
        c.find_all(Locator::Css(".field-error"))
            .await
            .unwrap()
            .is_empty()
    );
    click_away(c, Locator::Css(".signout button")).await;

    // --- the template editor opens with a sample built from the variables: no error
    sign_in(c, s, common::ALL).await;
    text(c, "#queue-depth").await;
    s.dialer
        .add_template(dialout_dialer::NewTemplate {
            slug: "pickup".into(),
            body: "Hello {{ name }}, order {{ order.id }} is ready.".into(),
            active: true,
            allow_duplicates: true,
            interactive: Default::default(),
        })
        .await
        .unwrap();
    c.goto(&s.url("/templates/pickup")).await.unwrap();
    assert_eq!(
        text(c, "#preview-text").await,
        "Hello <name>, order <order.id> is ready."
    );
    assert!(
        c.find_all(Locator::Id("preview-error"))
            .await
            .unwrap()
            .is_empty()
    );
    let sample: serde_json::Value = serde_json::from_str(&value(c, "#sample").await).unwrap();
    assert_eq!(
        sample,
        serde_json::json!({"name": "<name>", "order": {"id": "<order.id>"}})
    );
    shot(c, "17-template-sample").await;

    // --- a refused save shows the template's real status
    assert_eq!(text(c, "#template-status").await, "ACTIVE");
    let body = c.find(Locator::Id("body")).await.unwrap();
    body.clear().await.unwrap();
    body.send_keys("Hello {{ name ").await.unwrap();
    click_away(c, Locator::Id("save")).await;
    assert!(text(c, "#save-error").await.contains("syntax error"));
    assert_eq!(
        text(c, "#template-status").await,
        "ACTIVE",
        "a refused save changed nothing, and the page says so"
    );
    let t = s.dialer.template("pickup").await.unwrap();
    assert!(t.active && t.body.contains("{{ order.id }}"));
    shot(c, "18-template-refused-still-active").await;
    // An inactive one stays INACTIVE after a refused save.
    s.dialer
        .update_template(
            "pickup",
            TemplateChange {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.goto(&s.url("/templates/pickup")).await.unwrap();
    let body = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id("body"))
        .await
        .unwrap();
    body.clear().await.unwrap();
    body.send_keys("{% if %}").await.unwrap();
    click_away(c, Locator::Id("save")).await;
    text(c, "#save-error").await;
    assert_eq!(text(c, "#template-status").await, "INACTIVE");

    // --- a new template: no error before anything is typed, duplicates allowed by default
    c.goto(&s.url("/templates/new")).await.unwrap();
    assert!(text(c, "#preview-empty").await.contains("as you type"));
    assert!(
        c.find_all(Locator::Id("preview-error"))
            .await
            .unwrap()
            .is_empty()
    );
    let dup = c
        .find(Locator::Css("input[name=allow_duplicates]"))
        .await
        .unwrap();
    assert!(
        dup.is_selected().await.unwrap(),
        "duplicates allowed by default"
    );
    c.find(Locator::Id("body"))
        .await
        .unwrap()
        .send_keys("Hi {{ name }}, see you.")
        .await
        .unwrap();
    assert_eq!(text(c, "#preview-text").await, "Hi <name>, see you.");
    shot(c, "19-template-new").await;

    // --- workers: running, stopped cleanly, silent; the overview fits a phone
    let store = s.store();
    let now = jiff::Timestamp::now();
    store
        .beat(&dialout_store::WorkerBeat {
            owner: "workerhost01.datacentre.example.internal:4242:0badc0de".into(),
            started_at: now - jiff::SignedDuration::from_hours(2),
            seen_at: now - jiff::SignedDuration::from_mins(5),
            claimed: 120,
            recorded: 118,
            stopped: false,
        })
        .unwrap();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let worker = s.dialer.worker(dialout_dialer::WorkerOptions::default());
    let owner = worker.owner().to_string();
    let running = tokio::spawn(async move { worker.run(stop).await });
    let row = format!("tr[data-worker='{owner}'] .worker-status");
    let start = Instant::now();
    loop {
        c.goto(&s.url("/")).await.unwrap();
        text(c, "main h1").await;
        if !c.find_all(Locator::Css(&row)).await.unwrap().is_empty() {
            break;
        }
        assert!(start.elapsed() < WAIT, "the worker never showed up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(text(c, &row).await, "running");
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
    c.goto(&s.url("/")).await.unwrap();
    assert_eq!(text(c, &row).await, "stopped", "a clean stop is not silent");
    assert_eq!(
        text(
            c,
            "tr[data-worker='workerhost01.datacentre.example.internal:4242:0badc0de'] .worker-status"
        )
        .await,
        "silent"
    );
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&s.url("/")).await.unwrap();
    text(c, "#workers").await;
    let fits = c
        .execute(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth]",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, client) = (fits[0].as_i64().unwrap(), fits[1].as_i64().unwrap());
    assert!(
        client > 0 && scroll <= client,
        "the overview scrolls sideways at 390 px: {scroll} > {client}"
    );
    // The workers table is wider than the phone, and scrolls in its own box.
    let inner = c
        .execute(
            "const t = document.querySelector('#workers'); \
             return [t.scrollWidth, t.parentElement.clientWidth, \
                     getComputedStyle(t.parentElement).overflowX]",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        inner[0].as_i64().unwrap() > inner[1].as_i64().unwrap() && inner[2] == "auto",
        "{inner}"
    );
    shot(c, "20-phone-overview-workers").await;
    c.set_window_size(1280, 1000).await.unwrap();
}

/// Interactive calls (issue 29): the message page shows what the callee pressed, what it
/// means and who answered; the list filters by answer.
async fn interactive(c: &Client, s: &common::Server) {
    use dialout_dialer::{AnsweredBy, GatherSpec, MachinePolicy, Reply, SendRequest};
    use dialout_store::Change;
    let gather: GatherSpec = serde_json::from_value(serde_json::json!({
        "prompt": "Press 1 to confirm, 2 to cancel.", "keys": "12",
        "answers": {"1": "confirmed", "2": "cancelled"}
    }))
    .unwrap();
    let mut ids = Vec::new();
    for (n, digits, by) in [
        ("+420777000101", Some("1"), AnsweredBy::Human),
        ("+420777000102", Some("2"), AnsweredBy::Human),
        ("+420777000103", None, AnsweredBy::Machine),
    ] {
        let mut r = SendRequest::new(n, "Your visit is tomorrow at 9:30.");
        r.options.queued = true;
        r.options.gather = Some(gather.clone());
        r.options.machine = Some(MachinePolicy::LeaveMessage);
        let m = s.dialer.send(r).await.unwrap().message;
        let g = m.interactive.gather.clone().unwrap();
        let mut reply = match digits {
            Some(d) => Reply::pressed(&g, d, jiff::Timestamp::now()),
            None => Reply::default(),
        };
        reply.answered_by = Some(by);
        reply.answered_at.get_or_insert(jiff::Timestamp::now());
        let change = Change::Status {
            state: State::AnsweredComplete,
            is_final: true,
            error: None,
            sender_data: Default::default(),
            reason: "the callee answered".into(),
            reply,
        };
        let store = s.store();
        tokio::task::spawn_blocking(move || {
            store
                .apply(&[(m.id, change)], None, jiff::Timestamp::now())
                .unwrap()
        })
        .await
        .unwrap();
        ids.push(m.id);
    }
    c.goto(&s.url(&format!("/messages/{}", ids[0])))
        .await
        .unwrap();
    assert_eq!(text(c, "#reply-digits").await, "1");
    assert_eq!(text(c, "#reply-answer").await, "confirmed");
    assert_eq!(text(c, "#reply-answered-by").await, "human");
    let history = text(c, "#history").await;
    assert!(history.contains("pressed 1 (confirmed)"), "{history}");
    shot(c, "21-interactive-message").await;
    c.goto(&s.url(&format!("/messages/{}", ids[2])))
        .await
        .unwrap();
    assert_eq!(text(c, "#reply-digits").await, "—");
    assert_eq!(text(c, "#reply-answered-by").await, "machine");

    c.goto(&s.url("/messages?answer=confirmed")).await.unwrap();
    text(c, "#rows").await;
    assert_eq!(table_rows(c).await, 1);
    let row = text(c, "#rows").await;
    assert!(
        row.contains("+420777000101") && row.contains("confirmed"),
        "{row}"
    );
    assert_eq!(value(c, "input[name=answer]").await, "confirmed");
    shot(c, "22-messages-by-answer").await;
}

/// The README's screenshots, rewritten only when asked (`DIALOUT_DOCS_SCREENSHOTS=1`) so
/// that a test run leaves the checked-in files alone.
fn docs_img(name: &str, png: &[u8]) {
    if std::env::var_os("DIALOUT_DOCS_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/img");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}
