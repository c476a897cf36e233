//! The Webhooks page over HTTP: endpoints, deliveries, failures, replay (CSRF and `admin`),
//! and the overview's failure count.

mod common;

use axum::Router;
use axum::http::{StatusCode, header};
use dialout_dashboard::DashboardOptions;
use dialout_dialer::webhooks::{Delivery, DeliveryState};

use common::http::*;

fn router() -> (Router, common::Server) {
    let (router, dialer, tokens, dir) = common::router_parts(DashboardOptions::default());
    (router, common::Server::for_router(dialer, tokens, dir))
}

/// An endpoint that never answered: the queued message's events, given up when it was
/// disabled. Returns the endpoint's id and its failed deliveries.
async fn failed_endpoint(s: &common::Server) -> (i64, Vec<Delivery>) {
    let (ep, _secret) = s
        .dialer
        .add_webhook("http://127.0.0.1:9/hook", None, None)
        .await
        .unwrap();
    let m = s.queue("+420777000001", "Hello.", "t").await;
    s.dialer.cancel(m.id).await.unwrap();
    s.store()
        .webhooks()
        .disable_endpoint(ep.id, "receiver gone", jiff::Timestamp::now())
        .unwrap();
    let failed = s.dialer.webhook_deliveries(ep.id, true, 100).await.unwrap();
    assert!(!failed.is_empty(), "the cancel queued events");
    (ep.id, failed)
}

/// On again (its failed deliveries stay failed until replayed).
fn enable(s: &common::Server, ep: i64) {
    assert!(s.store().webhooks().enable_endpoint(ep).unwrap().is_some());
}

async fn state(s: &common::Server, id: i64) -> DeliveryState {
    s.dialer.webhook_delivery(id).await.unwrap().state
}

#[tokio::test]
async fn the_pages_need_a_session_and_show_endpoints_deliveries_and_failures() {
    let (r, s) = router();
    let (ep, failed) = failed_endpoint(&s).await;
    for path in ["/webhooks".to_string(), format!("/webhooks/{ep}")] {
        let resp = get(&r, None, &path).await;
        assert_eq!(resp.status, StatusCode::SEE_OTHER, "{path}");
        assert!(!resp.body.contains("127.0.0.1:9"), "{path} leaks data");
    }
    let c = session(&r, common::READ).await;
    let list = get(&r, Some(&c), "/webhooks").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("127.0.0.1:9&#x2f;hook"), "{}", list.body);
    assert!(list.body.contains("DISABLED") && list.body.contains("receiver gone"));
    assert!(
        list.body.contains(&format!(
            "<td class=\"num failed-count\">{}</td>",
            failed.len()
        )),
        "{}",
        list.body
    );
    let page = get(&r, Some(&c), &format!("/webhooks/{ep}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for d in &failed {
        assert!(page.body.contains(&format!("data-delivery=\"{}\"", d.id)));
        assert!(page.body.contains(&d.event_id()));
    }
    assert!(page.body.contains("FAILED") && page.body.contains("message.final"));
    assert!(
        !page.body.contains("class=\"replay\"") && !page.body.contains("replay-failed"),
        "a read token is offered no replay"
    );
    let overview = get(&r, Some(&c), "/").await;
    assert!(
        overview.body.contains(&format!(
            "id=\"webhook-failures-count\">{}</span>",
            failed.len()
        )),
        "{}",
        overview.body
    );
    assert_eq!(
        get(&r, Some(&c), "/webhooks/999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_overview_says_when_no_webhook_is_configured() {
    let (r, _s) = router();
    let c = session(&r, common::READ).await;
    let overview = get(&r, Some(&c), "/").await;
    assert!(overview.body.contains("No webhooks are configured."));
    assert!(!overview.body.contains("webhook-failures-count"));
}

#[tokio::test]
async fn replay_needs_the_csrf_token_and_the_admin_scope() {
    let (r, s) = router();
    let (ep, failed) = failed_endpoint(&s).await;
    let one = failed[0].id;
    let path = format!("/webhooks/deliveries/{one}/replay");

    let reader = session(&r, common::READ).await;
    let reader_csrf = csrf(&r, &reader).await;
    let resp = post(&r, Some(&reader), &path, &format!("_csrf={reader_csrf}")).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert!(resp.body.contains("admin"), "{}", resp.body);

    let admin = session(&r, common::ALL).await;
    for form in ["", "_csrf=0000", &format!("_csrf={reader_csrf}")] {
        let resp = post(&r, Some(&admin), &path, form).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{form:?}");
    }
    assert!(
        post(&r, None, &path, "").await.status == StatusCode::SEE_OTHER,
        "no session: to the sign-in page"
    );
    assert_eq!(
        state(&s, one).await,
        DeliveryState::Failed,
        "nothing replayed"
    );

    let token = csrf(&r, &admin).await;
    // While the endpoint is disabled a replay would never be posted: refused, with why.
    let resp = post(&r, Some(&admin), &path, &format!("_csrf={token}")).await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
    assert!(
        resp.body.contains("is disabled") && resp.body.contains("nothing was queued"),
        "{}",
        resp.body
    );
    assert_eq!(state(&s, one).await, DeliveryState::Failed);
    enable(&s, ep);
    let page = get(&r, Some(&admin), &format!("/webhooks/{ep}")).await;
    assert!(
        page.body.contains(&format!("action=\"{path}\"")),
        "{}",
        page.body
    );
    let resp = post(&r, Some(&admin), &path, &format!("_csrf={token}")).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers[header::LOCATION],
        format!("/webhooks/{ep}?replayed=1").as_str()
    );
    assert_eq!(state(&s, one).await, DeliveryState::Pending);
    let after = get(&r, Some(&admin), &format!("/webhooks/{ep}?replayed=1")).await;
    assert!(
        after.body.contains("1 delivery queued again."),
        "{}",
        after.body
    );

    let resp = post(
        &r,
        Some(&admin),
        "/webhooks/deliveries/424242/replay",
        &format!("_csrf={token}"),
    )
    .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn replay_all_failures_of_an_endpoint() {
    let (r, s) = router();
    let (ep, failed) = failed_endpoint(&s).await;
    enable(&s, ep);
    let admin = session(&r, common::ALL).await;
    let token = csrf(&r, &admin).await;
    let path = format!("/webhooks/{ep}/replay-failed");
    let resp = post(&r, Some(&admin), &path, "").await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "no CSRF token");
    let resp = post(&r, Some(&admin), &path, &format!("_csrf={token}")).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers[header::LOCATION],
        format!("/webhooks/{ep}?replayed={}", failed.len()).as_str()
    );
    for d in &failed {
        assert_eq!(state(&s, d.id).await, DeliveryState::Pending);
    }
    assert!(
        s.dialer
            .webhook_deliveries(ep, true, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
