//! `dialout serve` serves the dashboard beside the API, on the same port: a token made with
//! `dialout token create` signs in over HTTP and the overview shows the store.

mod runner;
#[path = "../../dialer/tests/webhooks_support/mod.rs"]
mod webhooks_support;
mod worker_support;

use std::io::Write;
use std::process::Child;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runner::wait_with_deadline;
use webhooks_support::{Mode, Receiver};
use worker_support::Env;

const HOOKS: &str = "[webhooks]\ntimeout = \"1s\"\nretry_base = \"100ms\"\nretry_max = \"200ms\"\ninterval = \"50ms\"\n";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn token(env: &Env, name: &str, scopes: &str) -> String {
    let t = env
        .run(&["token", "create", name, "--scope", scopes])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(t.starts_with("dlo_"), "{t:?}");
    t
}

/// `dialout serve --no-worker`: queued messages stay queued, so the queue depth is known.
fn serve(env: &Env) -> (Child, String) {
    serve_with(env, &["--no-worker"])
}

fn serve_with(env: &Env, extra: &[&str]) -> (Child, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen];
    args.extend_from_slice(extra);
    let child = env
        .cmd(&args)
        .env("DIALOUT_LOG", "info")
        .spawn_until("listening on http://", Duration::from_secs(60));
    (child, format!("http://127.0.0.1:{port}"))
}

fn stop(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(30));
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A browser-like client: keeps cookies, follows redirects.
fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Without redirects or cookies: to look at one answer.
fn bare() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the page: {body}"))
        + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

/// Signs in through the sign-in form; returns the page the browser ends on and its status.
async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> (reqwest::StatusCode, String) {
    let page = http.get(format!("{base}/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let nonce = hidden(&page.text().await.unwrap(), "_csrf");
    let resp = http
        .post(format!("{base}/sign-in"))
        .form(&[("_csrf", nonce.as_str()), ("next", "/"), ("token", token)])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[test]
fn serve_mounts_the_dashboard_beside_the_api() {
    let env = Env::sqlite("");
    env.insert(3);
    let reader = token(&env, "support", "read");
    let sender = token(&env, "app", "send");
    let (child, base) = serve(&env);
    let rt = runtime();
    rt.block_on(async {
        // No session: every page sends to the sign-in page, which gives nothing away.
        let resp = bare().get(format!("{base}/")).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], "/sign-in?next=%2F");
        let resp = bare().get(format!("{base}/messages")).send().await.unwrap();
        assert_eq!(resp.status(), 303);

        // A token without the read scope, or an unknown one, is refused.
        let (status, body) = sign_in(&browser(), &base, &sender).await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = sign_in(&browser(), &base, "dlo_0000000000000000_00").await;
        assert_eq!(status, 401);

        // The CLI's token signs in; the overview shows the three queued messages.
        let http = browser();
        let (status, overview) = sign_in(&http, &base, &reader).await;
        assert_eq!(status, 200, "{overview}");
        assert!(
            overview.contains("<h1>Overview</h1>"),
            "the overview: {overview}"
        );
        assert!(
            overview.contains("id=\"queue-depth\">3</span>"),
            "{overview}"
        );
        assert!(overview.contains("id=\"total-h24\">3</span>"), "{overview}");
        assert!(!overview.contains(&reader), "the token is not in the page");
        // The session carries on to the other pages.
        let messages = http.get(format!("{base}/messages")).send().await.unwrap();
        assert_eq!(messages.status(), 200);
        assert!(messages.text().await.unwrap().contains("+420777123456"));
        let asset = bare()
            .get(format!("{base}/assets/dashboard.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200);

        // The API is still there on the same port, with its own rules.
        let health = bare().get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let api = bare()
            .get(format!("{base}/v1/messages"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 200);
        let api = http
            .get(format!("{base}/v1/messages"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            api.status(),
            401,
            "the dashboard's cookie is not an API credential"
        );
        let unknown = bare().get(format!("{base}/nope")).send().await.unwrap();
        assert_eq!(unknown.status(), 404);
    });
    stop(child);
}

#[test]
fn http_secure_cookies_marks_the_session_cookie_secure() {
    let env = Env::sqlite("");
    let reader = token(&env, "support", "read");
    let cookie_line = |secure: bool| {
        let env = &env;
        let reader = &reader;
        move || {
            let (child, base) = serve(env);
            let line = runtime().block_on(async {
                let http = bare();
                let page = http.get(format!("{base}/sign-in")).send().await.unwrap();
                let pre = page.headers()["set-cookie"].to_str().unwrap().to_string();
                assert_eq!(pre.contains("; Secure"), secure, "{pre}");
                let pre = pre.split(';').next().unwrap().to_string();
                let nonce = hidden(&page.text().await.unwrap(), "_csrf");
                let resp = http
                    .post(format!("{base}/sign-in"))
                    .header("cookie", pre)
                    .form(&[("_csrf", nonce.as_str()), ("token", reader.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 303);
                resp.headers()
                    .get_all("set-cookie")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_string())
                    .find(|c| c.starts_with("dialout_session="))
                    .expect("a session cookie")
            });
            stop(child);
            line
        }
    };
    let plain = cookie_line(false)();
    assert!(
        plain.contains("HttpOnly") && plain.contains("SameSite=Strict"),
        "{plain}"
    );
    assert!(!plain.contains("Secure"), "default false: {plain}");
    std::fs::OpenOptions::new()
        .append(true)
        .open(env.config())
        .unwrap()
        .write_all(b"\n[http]\nsecure_cookies = true\n")
        .unwrap();
    let secure = cookie_line(true)();
    assert!(secure.contains("; Secure"), "{secure}");
}

/// With its worker, `serve` also posts webhook events, and a replay from the dashboard goes
/// out again.
#[test]
fn serve_delivers_webhooks_and_the_dashboard_replays_one() {
    let env = Env::sqlite(HOOKS);
    let rt = runtime();
    let rx = rt.block_on(Receiver::start(Mode::Ok));
    let added = env
        .run(&["--json", "webhook", "add", &rx.url()])
        .ok()
        .json();
    let endpoint = added["id"].as_i64().unwrap();
    env.insert(1);
    let admin = token(&env, "ops", "read,admin");
    let (child, base) = serve_with(&env, &[]);
    rt.block_on(rx.wait_for(1, Duration::from_secs(30)));
    let deliveries = env
        .run(&["--json", "webhook", "deliveries", &endpoint.to_string()])
        .ok()
        .json();
    let delivered = deliveries
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["state"] == "delivered")
        .unwrap_or_else(|| panic!("a delivered event: {deliveries}"))["id"]
        .as_i64()
        .unwrap();
    rt.block_on(async {
        let http = browser();
        let (status, _) = sign_in(&http, &base, &admin).await;
        assert_eq!(status, 200);
        let page = http
            .get(format!("{base}/webhooks/{endpoint}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let action = format!("/webhooks/deliveries/{delivered}/replay");
        assert!(page.contains(&action), "{page}");
        let csrf = hidden(&page, "_csrf");
        let before = rx.count();
        let resp = http
            .post(format!("{base}{action}"))
            .form(&[("_csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("1 delivery queued again.")
        );
        rx.wait_for(before + 1, Duration::from_secs(30)).await;
    });
    stop(child);
}
