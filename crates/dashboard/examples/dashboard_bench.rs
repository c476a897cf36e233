//! How long the dashboard's pages take over a store of 1,000,000 messages (issue 17's goal:
//! the messages page under 200 ms). Run:
//!
//!     cargo run --release -p dialout-dashboard --example dashboard_bench [-- MESSAGES]
//!
//! The SQLite file is kept in target/dashboard_bench.db and reused while it holds as many
//! messages as asked (filling it takes a while). Each page is asked for 20 times through
//! the router, in process (no socket); the median and the slowest are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use dialout_backends::{Backends, Dummy};
use dialout_dashboard::{DashboardOptions, Scopes, TokenCheck};
use dialout_dialer::{Dialer, MessageFilter, MessageId, NewMessage, PhoneNumber, Tag};
use dialout_store::{Change, InsertMode};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use tower::ServiceExt;

struct AnyToken;

#[async_trait::async_trait]
impl TokenCheck for AnyToken {
    async fn scopes(&self, _token: &str) -> Option<Scopes> {
        Some(Scopes::parse("read,send,admin"))
    }
}

const BATCH: usize = 5_000;

fn fill(store: &dyn dialout_store::Store, total: usize) {
    let have: u64 = store
        .state_counts(
            Timestamp::UNIX_EPOCH,
            SignedDuration::from_hours(24 * 365 * 100),
        )
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum();
    let have = have as usize;
    if have >= total {
        eprintln!("reusing the {have} messages stored");
        return;
    }
    assert_eq!(have, 0, "delete target/dashboard_bench.db and run again");
    let start = Instant::now();
    // Spread over the last 7 days, oldest first, as they would have been sent.
    let span = SignedDuration::from_hours(24 * 7);
    let t0 = Timestamp::now() - span;
    let step = span / total as i32;
    let tags: Vec<Tag> = (0..10)
        .map(|i| Tag::new(&format!("campaign-{i}")).unwrap())
        .collect();
    let mut i = 0;
    while i < total {
        let n = BATCH.min(total - i);
        let batch: Vec<NewMessage> = (i..i + n)
            .map(|k| {
                let phone =
                    PhoneNumber::parse(&format!("+420777{:06}", k % 100_000), None).unwrap();
                let mut m = NewMessage::new(phone, format!("Reminder number {k}"), "dummy");
                m.tag = Some(tags[k % tags.len()].clone());
                m.related = vec![format!("order:{k}").parse().unwrap()];
                m
            })
            .collect();
        let now = t0 + step * i as i32;
        store.insert(&batch, InsertMode::QUEUED, now).unwrap();
        // One in ten ends (cancelled: ERROR, final), so states differ.
        let ends: Vec<(MessageId, Change)> = batch
            .iter()
            .step_by(10)
            .map(|m| {
                (
                    m.id,
                    Change::Cancelled {
                        reason: "bench".into(),
                    },
                )
            })
            .collect();
        store.apply(&ends, None, now).unwrap();
        i += n;
        if i % 100_000 == 0 {
            eprintln!("{i} messages stored ({:.0?})", start.elapsed());
        }
    }
}

async fn get(router: &axum::Router, cookie: &str, path: &str) -> (u16, usize) {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body.len())
}

async fn sign_in(router: &axum::Router) -> String {
    let resp = router
        .clone()
        .oneshot(Request::get("/sign-in").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let pre = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    let pre = pre.split(';').next().unwrap().to_string();
    let nonce = pre.split_once('=').unwrap().1.to_string();
    let form = format!("_csrf={nonce}&next=%2F&token=bench");
    let resp = router
        .clone()
        .oneshot(
            Request::post("/sign-in")
                .header(header::COOKIE, &pre)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap();
    let c = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("dialout_session="))
        .expect("signed in");
    c.split(';').next().unwrap().to_string()
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("MESSAGES: a number"))
        .unwrap_or(1_000_000);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard_bench.db");
    let store = dialout_store::open(&format!("sqlite://{}", path.display())).unwrap();
    fill(store.as_ref(), total);
    // The worker keeps SQLite's related-objects index caught up as it runs; do its share.
    let t = Instant::now();
    for _ in 0..total.div_ceil(100_000) {
        store.catch_up(Timestamp::now(), 100_000).unwrap();
    }
    eprintln!("indexes caught up ({:.0?})", t.elapsed());
    // The newest message older than 3.5 days: about the middle of the table.
    let middle = store
        .messages(&MessageFilter {
            created_before: Some(Timestamp::now() - SignedDuration::from_hours(84)),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap()
        .pop()
        .unwrap();
    let dialer = Arc::new(Dialer::new(
        store,
        Backends::single(Arc::new(Dummy::new("dummy"))),
    ));
    let router = dialout_dashboard::router(dialer, Arc::new(AnyToken), DashboardOptions::default());
    let cookie = sign_in(&router).await;

    let recipient = middle.recipient.as_str().replace('+', "%2B");
    let pages = [
        ("messages, first page".to_string(), "/messages".to_string()),
        (
            "messages, page in the middle".into(),
            format!("/messages?before={}", middle.id),
        ),
        ("messages, by tag".into(), "/messages?tag=campaign-3".into()),
        (
            "messages, by state ERROR".into(),
            "/messages?state=ERROR".into(),
        ),
        (
            "messages, by a state no message is in".into(),
            "/messages?state=DONE".into(),
        ),
        (
            "messages, by related object".into(),
            "/messages?related=order:123456".into(),
        ),
        (
            "messages, by recipient".into(),
            format!("/messages?recipient={recipient}"),
        ),
        (
            "messages, a wide time range".into(),
            "/messages?since=2000-01-01&until=2100-01-01".into(),
        ),
        (
            "table refresh (htmx)".into(),
            "/messages/rows?tag=campaign-3".into(),
        ),
        ("a message".into(), format!("/messages/{}", middle.id)),
        ("overview (counts of 24 h and 7 days)".into(), "/".into()),
    ];
    println!("dashboard pages over {total} messages (SQLite), 20 requests each:");
    println!(
        "{:<40} {:>10} {:>10} {:>8}",
        "page", "median", "slowest", "bytes"
    );
    for (name, p) in pages {
        let (status, _) = get(&router, &cookie, &p).await;
        assert_eq!(status, 200, "{p}");
        let mut times: Vec<Duration> = Vec::new();
        let mut bytes = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let (_, b) = get(&router, &cookie, &p).await;
            times.push(t.elapsed());
            bytes = b;
        }
        times.sort();
        println!(
            "{:<40} {:>8.1}ms {:>8.1}ms {:>8}",
            name,
            times[10].as_secs_f64() * 1e3,
            times[19].as_secs_f64() * 1e3,
            bytes
        );
    }
    println!("goal: the messages page under 200 ms");
}
