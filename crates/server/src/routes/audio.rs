//! `GET /audio/{key}.wav`: a message's audio, fetched by Asterisk (AMI backend with
//! `audio_url`). No token: Asterisk has none to send; the 64-hex-digit key is the secret,
//! and it names a file only while its message is in flight. The key never reaches the
//! filesystem: the Dialer maps it to a path it made itself.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::problem::Problem;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/audio/{file}", get(audio))
}

/// The audio of a message in flight.
#[utoipa::path(get, path = "/audio/{file}", tag = "audio",
    params(("file" = String, Path, description = "`<key>.wav`, the key as the AMI backend gave it to Asterisk")),
    responses(
        (status = 200, description = "The audio", content_type = "audio/wav", body = Vec<u8>),
        (status = "default", description = "A problem (404: unknown or expired key)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn audio(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, Problem> {
    let gone = || Problem::not_found("no such audio");
    let key = file.strip_suffix(".wav").ok_or_else(gone)?;
    let path = state.dialer.audio(key).await?.ok_or_else(gone)?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        // Removed since the Dialer looked (the message just ended): as unknown.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(gone()),
        Err(e) => {
            return Err(Problem::internal(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    Ok(r)
}
