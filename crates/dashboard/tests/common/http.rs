//! Requests to the router in process, and signing in through its forms.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub async fn call(router: &Router, req: Request<Body>) -> Resp {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body =
        String::from_utf8_lossy(&r.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Resp {
        status,
        headers,
        body,
    }
}

pub async fn get(router: &Router, cookie: Option<&str>, path: &str) -> Resp {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    call(router, b.body(Body::empty()).unwrap()).await
}

pub async fn post(router: &Router, cookie: Option<&str>, path: &str, form: &str) -> Resp {
    let mut b =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    call(router, b.body(Body::from(form.to_string())).unwrap()).await
}

pub fn cookies(r: &Resp) -> Vec<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the page"))
        + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_string()
}

/// Signs in; returns the session cookie (`name=value`) and the set-cookie line.
pub async fn sign_in(router: &Router, token: &str) -> (Resp, Option<(String, String)>) {
    let page = get(router, None, "/sign-in").await;
    let pre = cookies(&page)[0].split(';').next().unwrap().to_string();
    let nonce = hidden(&page.body, "_csrf");
    let r = post(
        router,
        Some(&pre),
        "/sign-in",
        &format!("_csrf={nonce}&next=%2Fmessages&token={token}"),
    )
    .await;
    let session = cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("dialout_session="))
        .map(|line| (line.split(';').next().unwrap().to_string(), line));
    (r, session)
}

pub async fn session(router: &Router, token: &str) -> String {
    sign_in(router, token).await.1.expect("signed in").0
}

pub async fn csrf(router: &Router, cookie: &str) -> String {
    hidden(&get(router, Some(cookie), "/templates").await.body, "_csrf")
}
