//! `/openapi.json` and `/docs`: the document generated from the handlers' annotations, and a
//! small page of our own that renders it (no CDN: every asset is served from here).

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/docs", get(|| asset("text/html; charset=utf-8", PAGE)))
        .route(
            "/docs/docs.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/docs/docs.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
}

const PAGE: &[u8] = include_bytes!("../../assets/docs.html");
const SCRIPT: &[u8] = include_bytes!("../../assets/docs.js");
const STYLE: &[u8] = include_bytes!("../../assets/docs.css");

async fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'"),
    );
    r
}

async fn openapi() -> Response {
    let mut r = (StatusCode::OK, crate::openapi::document()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
