//! The messages table: filters, pages, refreshed in place.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};

use crate::AppState;
use crate::filters::Filters;
use crate::pages::{dialer_error, row};
use crate::session::Session;

async fn table(app: &AppState, s: &Session, f: &Filters) -> Result<Value, Response> {
    let filter = match f.to_filter(Some(app.opts.page_size)) {
        Ok(filter) => filter,
        Err(msg) => {
            return Err(app.views.error(StatusCode::BAD_REQUEST, s, &msg));
        }
    };
    let page = app
        .dialer
        .messages(filter)
        .await
        .map_err(|e| dialer_error(app, s, e))?;
    let rows: Vec<_> = page.messages.iter().map(row).collect();
    let query = f.query();
    let next = page.next.map(|id| {
        let sep = if query.is_empty() { "" } else { "&" };
        format!("/messages?{query}{sep}before={id}")
    });
    Ok(context! {
        rows => crate::render::val(&rows),
        next,
        query,
        first_page => f.before.trim().is_empty(),
        poll => app.opts.poll_seconds,
    })
}

pub(crate) async fn page(
    State(app): State<AppState>,
    s: Session,
    Query(f): Query<Filters>,
) -> Response {
    match table(&app, &s, &f).await {
        Ok(t) => {
            let states: Vec<&str> = dialout_dialer::State::ALL
                .iter()
                .map(|s| s.name())
                .collect();
            app.views.ok(
                "messages.html",
                &s,
                context! { nav => "messages", f => crate::render::val(&f), states, ..t },
            )
        }
        Err(r) => r,
    }
}

/// The table's body alone, for the page's periodic refresh.
pub(crate) async fn rows(
    State(app): State<AppState>,
    s: Session,
    Query(f): Query<Filters>,
) -> Response {
    match table(&app, &s, &f).await {
        Ok(t) => app.views.ok("rows.html", &s, t),
        Err(r) => r,
    }
}
