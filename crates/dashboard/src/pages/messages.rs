//! The messages table: filters, pages, refreshed in place.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};

use crate::AppState;
use crate::filters::{FieldError, Filters};
use crate::pages::{dialer_error, row};
use crate::session::Session;

/// The table, or (as `Ok(Err(..))`) the fields the filter cannot be read from.
async fn table(
    app: &AppState,
    s: &Session,
    f: &Filters,
) -> Result<Result<Value, Vec<FieldError>>, Response> {
    let filter = match f.to_filter(Some(app.opts.page_size)) {
        Ok(filter) => filter,
        Err(errors) => return Ok(Err(errors)),
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
    Ok(Ok(context! {
        rows => crate::render::val(&rows),
        next,
        query,
        first_page => f.before.trim().is_empty(),
        poll => app.opts.poll_seconds,
    }))
}

pub(crate) async fn page(
    State(app): State<AppState>,
    s: Session,
    Query(f): Query<Filters>,
) -> Response {
    let states: Vec<&str> = dialout_dialer::State::ALL
        .iter()
        .map(|s| s.name())
        .collect();
    let page = context! { nav => "messages", f => crate::render::val(&f), states };
    match table(&app, &s, &f).await {
        Ok(Ok(t)) => app.views.ok("messages.html", &s, context! { ..page, ..t }),
        // The form again, each mistake beside its field, and no table until it is fixed.
        Ok(Err(errors)) => {
            let errors: BTreeMap<&str, String> = errors.into_iter().collect();
            app.views.page(
                StatusCode::BAD_REQUEST,
                "messages.html",
                Some(&s),
                context! { errors, query => f.query(), ..page },
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
        Ok(Ok(t)) => app.views.ok("rows.html", &s, t),
        Ok(Err(errors)) => app.views.page(
            StatusCode::BAD_REQUEST,
            "rows.html",
            Some(&s),
            context! { errors => errors.into_iter().map(|(_, e)| e).collect::<Vec<_>>() },
        ),
        Err(r) => r,
    }
}
