//! The dashboard's rules over HTTP, without a browser: sessions, cookies, CSRF, scopes,
//! redirects, the CSV export.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dialout_dashboard::DashboardOptions;
use dialout_dialer::{NewTemplate, SendOptions, SendRequest, State};

use common::http::*;

fn router(opts: DashboardOptions) -> (Router, common::Server) {
    // The server struct keeps the store's directory alive; its address is unused here.
    let (router, dialer, tokens, dir) = common::router_parts(opts);
    let server = common::Server::for_router(dialer, tokens, dir);
    (router, server)
}

#[tokio::test]
async fn every_page_redirects_to_sign_in_without_a_session() {
    let (r, s) = router(DashboardOptions::default());
    let m = s.queue("+420777000001", "Hello.", "t").await;
    for path in [
        "/".to_string(),
        "/messages?tag=t".into(),
        "/messages/rows".into(),
        "/messages.csv".into(),
        format!("/messages/{}", m.id),
        format!("/messages/{}/cancel", m.id),
        "/templates".into(),
        "/templates/new".into(),
        "/templates/x".into(),
    ] {
        let resp = get(&r, None, &path).await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{path}");
        let loc = resp.headers[header::LOCATION].to_str().unwrap();
        assert!(loc.starts_with("/sign-in?next="), "{path}: {loc}");
        assert!(!resp.body.contains("Hello"), "{path} leaks data");
    }
    for path in [
        format!("/messages/{}/cancel", m.id),
        "/templates".into(),
        "/sign-out".into(),
    ] {
        let resp = post(&r, None, &path, "").await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "POST {path}");
    }
    // A stale session id is no session.
    let resp = get(&r, Some("dialout_session=0123"), "/").await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    // htmx's refresh is told where to go instead of swapping the sign-in page in.
    let req = Request::get("/messages/rows")
        .header("HX-Request", "true")
        .body(Body::empty())
        .unwrap();
    let resp = call(&r, req).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers["HX-Redirect"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
    assert_eq!(
        s.dialer.message(m.id).await.unwrap().unwrap().state,
        State::Waiting
    );
}

#[tokio::test]
async fn assets_are_vendored_and_served_without_a_session() {
    let (r, _s) = router(DashboardOptions::default());
    for (name, kind) in [
        ("htmx.min.js", "text/javascript"),
        ("chart.umd.min.js", "text/javascript"),
        ("dashboard.js", "text/javascript"),
        ("dashboard.css", "text/css"),
    ] {
        let resp = get(&r, None, &format!("/assets/{name}")).await;
        assert_eq!(resp.status, StatusCode::OK, "{name}");
        assert_eq!(resp.headers[header::CONTENT_TYPE], kind);
        assert!(resp.body.len() > 500, "{name}");
    }
    assert_eq!(
        get(&r, None, "/assets/secrets.txt").await.status,
        StatusCode::NOT_FOUND
    );
    // No page loads anything from elsewhere.
    let page = get(&r, None, "/sign-in").await;
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_when_configured() {
    let (r, _s) = router(DashboardOptions::default());
    let (resp, session) = sign_in(&r, common::ALL).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers[header::LOCATION],
        "/messages",
        "back where the user was going"
    );
    let (value, line) = session.unwrap();
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "{line}");
    assert!(
        value.len() >= "dialout_session=".len() + 64,
        "256 random bits: {value}"
    );
    assert!(
        !line.contains(common::ALL),
        "the token is never in a cookie"
    );

    let (r, _s) = router(DashboardOptions {
        secure_cookies: true,
        ..Default::default()
    });
    let (_, session) = sign_in(&r, common::ALL).await;
    assert!(session.unwrap().1.contains("; Secure"));
}

#[tokio::test]
async fn sign_in_refuses_wrong_tokens_missing_scopes_and_forged_forms() {
    let (r, _s) = router(DashboardOptions::default());
    let (resp, session) = sign_in(&r, "wrong").await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(session.is_none());
    let (resp, session) = sign_in(&r, "token-send-only").await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "a token without read");
    assert!(session.is_none());
    // A sign-in form posted from elsewhere (no nonce cookie) is refused.
    let resp = post(
        &r,
        None,
        "/sign-in",
        &format!("_csrf=x&token={}", common::ALL),
    )
    .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert!(
        cookies(&resp)
            .iter()
            .all(|c| !c.starts_with("dialout_session="))
    );
    // Never an open redirect.
    let page = get(&r, None, "/sign-in").await;
    let pre = cookies(&page)[0].split(';').next().unwrap().to_string();
    let nonce = hidden(&page.body, "_csrf");
    let resp = post(
        &r,
        Some(&pre),
        "/sign-in",
        &format!(
            "_csrf={nonce}&next=%2F%2Fevil.example&token={}",
            common::ALL
        ),
    )
    .await;
    assert_eq!(resp.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused() {
    let (r, s) = router(DashboardOptions::default());
    let m = s.queue("+420777000001", "Hello.", "t").await;
    let c = session(&r, common::ALL).await;
    let token = csrf(&r, &c).await;
    let cancel = format!("/messages/{}/cancel", m.id);
    for form in ["", "_csrf=", "_csrf=0000"] {
        let resp = post(&r, Some(&c), &cancel, form).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    assert_eq!(
        s.dialer.message(m.id).await.unwrap().unwrap().state,
        State::Waiting
    );
    let resp = post(&r, Some(&c), "/templates", "slug=a&body=Hi&active=1").await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert!(s.dialer.templates().await.unwrap().is_empty());
    // With it, the same cancel works.
    let resp = post(&r, Some(&c), &cancel, &format!("_csrf={token}")).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.dialer.message(m.id).await.unwrap().unwrap().state,
        State::Error
    );
}

#[tokio::test]
async fn a_read_token_reads_but_cannot_cancel_resend_or_edit_templates() {
    let (r, s) = router(DashboardOptions::default());
    let m = s.queue("+420777000001", "Hello.", "t").await;
    s.dialer
        .add_template(NewTemplate {
            slug: "t1".into(),
            body: "Hi".into(),
            active: true,
            allow_duplicates: true,
            interactive: Default::default(),
        })
        .await
        .unwrap();
    let c = session(&r, common::READ).await;
    let token = csrf(&r, &c).await;
    let page = get(&r, Some(&c), &format!("/messages/{}", m.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Hello.") && !page.body.contains("id=\"cancel\""));
    // The confirmation pages are not offered either: a page that says why.
    for action in ["cancel", "resend"] {
        let page = get(&r, Some(&c), &format!("/messages/{}/{action}", m.id)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
        assert!(
            page.body.contains("needs a token with the send scope")
                && page.body.contains("/assets/dashboard.css")
                && !page.body.contains("confirm-form"),
            "{}",
            page.body
        );
    }
    for (path, form) in [
        (
            format!("/messages/{}/cancel", m.id),
            format!("_csrf={token}"),
        ),
        (
            format!("/messages/{}/resend", m.id),
            format!("_csrf={token}"),
        ),
        (
            "/templates/t1".into(),
            format!("_csrf={token}&body=Changed"),
        ),
        (
            "/templates/t1/active".into(),
            format!("_csrf={token}&active=0"),
        ),
        (
            "/templates".into(),
            format!("_csrf={token}&slug=t2&body=Hi"),
        ),
    ] {
        let resp = post(&r, Some(&c), &path, &form).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        s.dialer.message(m.id).await.unwrap().unwrap().state,
        State::Waiting
    );
    let t = s.dialer.template("t1").await.unwrap();
    assert!(t.active && t.body == "Hi");
    assert_eq!(s.dialer.templates().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_revoked_token_ends_its_sessions_and_sign_out_ends_one() {
    let (r, s) = router(DashboardOptions {
        recheck_token: Duration::ZERO,
        ..Default::default()
    });
    let c = session(&r, common::ALL).await;
    assert_eq!(get(&r, Some(&c), "/").await.status, StatusCode::OK);
    s.tokens.revoke(common::ALL);
    assert_eq!(get(&r, Some(&c), "/").await.status, StatusCode::SEE_OTHER);

    let c = session(&r, common::READ).await;
    let token = csrf(&r, &c).await;
    let resp = post(&r, Some(&c), "/sign-out", &format!("_csrf={token}")).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert!(cookies(&resp)[0].contains("Max-Age=0"));
    assert_eq!(get(&r, Some(&c), "/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn csv_export_has_the_filtered_messages() {
    let (r, s) = router(DashboardOptions::default());
    let a = s
        .queue("+420777000001", "First, with a comma", "camp")
        .await;
    let b = s.queue("+420777000002", "Second", "camp").await;
    s.queue("+420777000003", "Other", "other").await;
    let c = session(&r, common::READ).await;
    let resp = get(&r, Some(&c), "/messages.csv?tag=camp").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(
        resp.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = resp.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", resp.body);
    assert!(lines[0].starts_with("id,created_at,state"));
    assert!(lines[1].starts_with(&b.id.to_string()), "newest first");
    assert!(lines[2].starts_with(&a.id.to_string()));
    assert!(lines[2].contains("+420777000001") && lines[2].contains("WAITING"));
    assert!(!resp.body.contains("+420777000003"));
    // A bad filter is refused in words.
    let resp = get(&r, Some(&c), "/messages.csv?state=NOPE").await;
    assert_eq!(resp.status, StatusCode::BAD_REQUEST);
    assert!(resp.body.contains("NOPE"));
}

#[tokio::test]
async fn messages_filters_recipient_state_and_time_range() {
    let (r, s) = router(DashboardOptions {
        page_size: 2,
        ..Default::default()
    });
    let mut sent = Vec::new();
    for i in 1..=3 {
        let mut req = SendRequest::new(format!("+42077700000{i}"), format!("Message {i}"));
        req.options = SendOptions {
            queued: true,
            ..Default::default()
        };
        sent.push(s.dialer.send(req).await.unwrap().message);
    }
    let c = session(&r, common::READ).await;
    let page = get(&r, Some(&c), "/messages?recipient=%2B420%20777%20000%20002").await;
    assert!(page.body.contains("Message 2") && !page.body.contains("Message 1"));
    // Pages of two: the first links to the next.
    let page = get(&r, Some(&c), "/messages").await;
    assert!(page.body.contains("Message 3") && page.body.contains("Message 2"));
    assert!(!page.body.contains("Message 1"));
    let next = format!("before={}", sent[1].id);
    assert!(page.body.contains(&next), "a link to the next page");
    let page = get(&r, Some(&c), &format!("/messages?{next}")).await;
    assert!(page.body.contains("Message 1") && !page.body.contains("Message 2"));
    let page = get(&r, Some(&c), "/messages?state=ERROR").await;
    assert!(page.body.contains("No messages match."));
    let page = get(&r, Some(&c), "/messages?until=2000-01-01").await;
    assert!(page.body.contains("No messages match."));
    let page = get(&r, Some(&c), "/messages?since=2000-01-01T00:00").await;
    assert!(page.body.contains("Message 3"));
    let page = get(&r, Some(&c), "/messages?since=yesterday").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // The form again, the mistake beside its field, the other fields kept.
    assert!(page.body.contains("id=\"filters\""), "{}", page.body);
    assert!(page.body.contains("id=\"error-since\""), "{}", page.body);
    assert!(page.body.contains("value=\"yesterday\""), "{}", page.body);
    assert!(!page.body.contains("id=\"rows\""), "no table");
}

#[tokio::test]
async fn the_overview_lists_the_workers_heard_from() {
    let (r, s) = router(DashboardOptions::default());
    let c = session(&r, common::READ).await;
    let resp = get(&r, Some(&c), "/").await;
    assert!(
        resp.body.contains("No worker has been heard from"),
        "{}",
        resp.body
    );

    // A worker beats once as it starts.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let worker = s.dialer.worker(dialout_dialer::WorkerOptions::default());
    let owner = worker.owner().to_string();
    let running = tokio::spawn(async move { worker.run(stop).await });
    let mut body = String::new();
    for _ in 0..100 {
        body = get(&r, Some(&c), "/").await.body;
        if body.contains(&owner) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
    assert!(body.contains(&owner), "{body}");
    assert!(body.contains(">running<"), "{body}");
    // Its last beat says it stopped cleanly.
    let body = get(&r, Some(&c), "/").await.body;
    assert!(
        body.contains(">stopped<") && !body.contains(">running<"),
        "{body}"
    );
    let beats = s.dialer.workers(jiff::Timestamp::UNIX_EPOCH).await.unwrap();
    assert!(beats.len() == 1 && beats[0].stopped, "{beats:?}");
}
