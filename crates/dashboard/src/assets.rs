//! Vendored assets, compiled in: the dashboard works without internet.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "chart.umd.min.js",
        "text/javascript",
        include_bytes!("../assets/chart.umd.min.js"),
    ),
    (
        "dashboard.js",
        "text/javascript",
        include_bytes!("../assets/dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css",
        include_bytes!("../assets/dashboard.css"),
    ),
];

/// Static files only, with no data in them: served without a session so that the sign-in
/// page has its style.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
