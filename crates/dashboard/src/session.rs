//! Server-side sessions: a random id in a cookie, the rest in memory. The token a session
//! was opened with stays here (never in the cookie) so that its scopes can be checked again
//! and a revoked token ends its sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::render::Views;

pub(crate) const COOKIE: &str = "dialout_session";

/// What an API token may do; the dashboard needs `read` to sign in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Scopes {
    pub read: bool,
    pub send: bool,
    pub admin: bool,
}

impl Scopes {
    /// `send,read,admin` as the server's tokens list them; unknown names are ignored.
    pub fn parse(list: &str) -> Scopes {
        let mut s = Scopes::default();
        for part in list.split(',').map(str::trim) {
            match part {
                "read" => s.read = true,
                "send" => s.send = true,
                "admin" => s.admin = true,
                _ => {}
            }
        }
        s
    }
}

struct Entry {
    token: String,
    scopes: Scopes,
    csrf: String,
    last_used: Instant,
    checked: Instant,
}

#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

/// 256 random bits as hex.
pub(crate) fn random_id() -> String {
    let a: [u64; 4] = [
        rand::random(),
        rand::random(),
        rand::random(),
        rand::random(),
    ];
    a.iter().map(|n| format!("{n:016x}")).collect()
}

pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Sessions {
    /// A new session; returns its id. Sessions idle longer than `idle` are dropped on the
    /// way, so that abandoned ones do not pile up.
    pub(crate) fn open(&self, token: String, scopes: Scopes, idle: std::time::Duration) -> String {
        let id = random_id();
        let now = Instant::now();
        let entry = Entry {
            token,
            scopes,
            csrf: random_id(),
            last_used: now,
            checked: now,
        };
        let mut map = self.map.lock().unwrap();
        map.retain(|_, e| now.duration_since(e.last_used) < idle);
        map.insert(id.clone(), entry);
        id
    }

    pub(crate) fn close(&self, id: &str) {
        self.map.lock().unwrap().remove(id);
    }
}

/// The value of cookie `name` in the request's headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value with the attributes every dashboard cookie has.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The signed-in user of a request; a request without a live session is sent to the
/// sign-in page.
#[derive(Clone)]
pub(crate) struct Session {
    pub id: String,
    pub scopes: Scopes,
    pub csrf: String,
    /// The pages, so that a refusal is a page like any other.
    views: Arc<Views>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Refuses a form whose CSRF token is missing or wrong.
    pub(crate) fn check_csrf(&self, sent: Option<&String>) -> Result<(), Response> {
        match sent {
            Some(t) if same(t, &self.csrf) => Ok(()),
            _ => Err(self.views.error(
                StatusCode::FORBIDDEN,
                self,
                "The form's CSRF token is missing or wrong, so nothing was done. \
                 Reload the page and try again.",
            )),
        }
    }

    /// Refuses an action the session's token has no scope for.
    pub(crate) fn require(&self, ok: bool, scope: &str) -> Result<(), Response> {
        self.require_to(ok, "This", scope)
    }

    /// Refuses `action` (`Cancelling a message`) when the token lacks `scope`, saying which
    /// scope it needs and which the token has.
    pub(crate) fn require_to(&self, ok: bool, action: &str, scope: &str) -> Result<(), Response> {
        if ok {
            return Ok(());
        }
        let has: Vec<&str> = [
            (self.scopes.read, "read"),
            (self.scopes.send, "send"),
            (self.scopes.admin, "admin"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        Err(self.views.error(
            StatusCode::FORBIDDEN,
            self,
            &format!(
                "{action} needs a token with the {scope} scope; you signed in with a token that \
                 has only {}, so nothing was done. To do this, sign out and sign in with a token \
                 that has {scope} (dialout token create NAME --scope read,{scope}).",
                has.join(", ")
            ),
        ))
    }
}

fn to_sign_in(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = format!(
        "/sign-in?{}",
        serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
    );
    if parts.headers.contains_key("hx-request") {
        // htmx follows this header instead of swapping the sign-in page into a fragment.
        return (StatusCode::UNAUTHORIZED, [("HX-Redirect", target)]).into_response();
    }
    Redirect::to(&target).into_response()
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let Some(id) = cookie(&parts.headers, COOKIE).map(str::to_string) else {
            return Err(to_sign_in(parts));
        };
        let now = Instant::now();
        let recheck = {
            let mut map = app.sessions.map.lock().unwrap();
            match map.get_mut(&id) {
                Some(e) if now.duration_since(e.last_used) < app.opts.session_idle => {
                    e.last_used = now;
                    (now.duration_since(e.checked) >= app.opts.recheck_token)
                        .then(|| e.token.clone())
                }
                Some(_) => {
                    map.remove(&id);
                    return Err(to_sign_in(parts));
                }
                None => return Err(to_sign_in(parts)),
            }
        };
        if let Some(token) = recheck {
            let scopes = app.auth.scopes(&token).await;
            let mut map = app.sessions.map.lock().unwrap();
            match scopes {
                Some(s) if s.read => {
                    if let Some(e) = map.get_mut(&id) {
                        e.scopes = s;
                        e.checked = now;
                    }
                }
                _ => {
                    map.remove(&id);
                    return Err(to_sign_in(parts));
                }
            }
        }
        let map = app.sessions.map.lock().unwrap();
        let e = map.get(&id).ok_or_else(|| to_sign_in(parts))?;
        Ok(Session {
            scopes: e.scopes,
            csrf: e.csrf.clone(),
            id,
            views: app.views.clone(),
        })
    }
}
