//! Sign-in with an API token, sign-out.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use crate::AppState;
use crate::session::{COOKIE, Session, cookie, random_id, same, set_cookie};

/// Ties the sign-in form to the browser that loaded it (there is no session yet).
const SIGN_IN_COOKIE: &str = "dialout_sign_in";

/// Only paths of this site: never an open redirect.
fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.clone(),
        _ => "/".to_string(),
    }
}

fn form_page(app: &AppState, status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let nonce = random_id();
    let mut resp = app.views.page(
        status,
        "sign_in.html",
        None,
        context! { csrf => nonce.clone(), next, error },
    );
    if let Ok(v) = set_cookie(SIGN_IN_COOKIE, &nonce, 3600, app.opts.secure_cookies).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub(crate) async fn sign_in_page(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    form_page(&app, StatusCode::OK, &safe_next(q.get("next")), None)
}

pub(crate) async fn sign_in(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let next = safe_next(form.get("next"));
    let expected = cookie(&headers, SIGN_IN_COOKIE);
    let csrf_ok = matches!((expected, form.get("_csrf")), (Some(a), Some(b)) if same(a, b));
    if !csrf_ok {
        return form_page(
            &app,
            StatusCode::FORBIDDEN,
            &next,
            Some("The form had expired or was not sent from this page: sign in again."),
        );
    }
    let token = form.get("token").map(|t| t.trim()).unwrap_or_default();
    let scopes = if token.is_empty() {
        None
    } else {
        app.auth.scopes(token).await
    };
    match scopes {
        Some(s) if s.read => {
            let id = app
                .sessions
                .open(token.to_string(), s, app.opts.session_idle);
            let max_age = app.opts.session_idle.as_secs();
            let mut resp = Redirect::to(&next).into_response();
            let h = resp.headers_mut();
            for c in [
                set_cookie(COOKIE, &id, max_age, app.opts.secure_cookies),
                set_cookie(SIGN_IN_COOKIE, "", 0, app.opts.secure_cookies),
            ] {
                if let Ok(v) = c.parse() {
                    h.append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Some(_) => form_page(
            &app,
            StatusCode::FORBIDDEN,
            &next,
            Some("This token has no read scope."),
        ),
        None => form_page(
            &app,
            StatusCode::UNAUTHORIZED,
            &next,
            Some("Unknown or revoked token."),
        ),
    }
}

pub(crate) async fn sign_out(
    State(app): State<AppState>,
    session: Session,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = session.check_csrf(form.get("_csrf")) {
        return r;
    }
    app.sessions.close(&session.id);
    let mut resp = Redirect::to("/sign-in").into_response();
    if let Ok(v) = set_cookie(COOKIE, "", 0, app.opts.secure_cookies).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
