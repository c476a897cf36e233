//! `Authorization: Bearer <token>`: no token or an unknown one is 401, a token without the
//! scope an endpoint needs is 403. The token itself is never logged.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use dialout_dialer::{Scope, Token};

use crate::problem::Problem;
use crate::state::AppState;

const TOUCH_EVERY: Duration = Duration::from_secs(60);

pub const SEND: u8 = 0;
pub const READ: u8 = 1;
pub const ADMIN: u8 = 2;

/// A caller whose token has scope `S` ([`SEND`], [`READ`] or [`ADMIN`]); checked before the
/// body is read.
/// Holds the token for handlers that need its name.
#[allow(dead_code)]
pub struct Auth<const S: u8>(pub Token);

fn scope(s: u8) -> Scope {
    match s {
        SEND => Scope::Send,
        READ => Scope::Read,
        _ => Scope::Admin,
    }
}

impl<const S: u8> FromRequestParts<AppState> for Auth<S> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = authenticate(parts, state).await?;
        let need = scope(S);
        if !token.allows(need) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this token lacks the {need} scope"),
            ));
        }
        Ok(Auth(token))
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Token, Problem> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or_else(|| Problem::unauthorized("expected Authorization: Bearer <token>"))?;
    let token = state
        .dialer
        .authenticate(presented)
        .await?
        .ok_or_else(|| Problem::unauthorized("unknown or revoked token"))?;
    touch(state, &token.name).await;
    Ok(token)
}

async fn touch(state: &AppState, name: &str) {
    let due = {
        let mut touched = state.touched.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match touched.get(name) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                touched.insert(name.to_string(), now);
                true
            }
        }
    };
    if due && let Err(e) = state.dialer.touch_token(name).await {
        tracing::warn!(token = name, "cannot record the token's use: {e}");
    }
}
