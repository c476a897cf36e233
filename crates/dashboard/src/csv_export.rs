//! The filtered message list as CSV, streamed page by page so that a large export does not
//! sit in memory.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dialout_dialer::{Message, MessageFilter};
use futures_util::stream;

use crate::AppState;
use crate::filters::Filters;
use crate::session::Session;

const PAGE: usize = 1000;

const HEADER: [&str; 13] = [
    "id",
    "created_at",
    "state",
    "state_code",
    "recipient",
    "backend",
    "tag",
    "related",
    "template_slug",
    "attempts",
    "sent_at",
    "changed_at",
    "error",
];

fn record(m: &Message) -> [String; 13] {
    let opt = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    [
        m.id.to_string(),
        m.created_at.to_string(),
        m.state.name().to_string(),
        m.state.code().to_string(),
        m.recipient.as_str().to_string(),
        m.backend.clone(),
        m.tag
            .as_ref()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        m.related
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        m.template_slug.clone().unwrap_or_default(),
        m.attempts.to_string(),
        opt(m.sent_at),
        m.changed_at.to_string(),
        m.error.clone().unwrap_or_default(),
    ]
}

fn chunk(rows: &[Message], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(HEADER)?;
    }
    for m in rows {
        w.write_record(record(m))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

pub(crate) async fn export(
    State(app): State<AppState>,
    s: Session,
    Query(f): Query<Filters>,
) -> Response {
    let filter = match f.to_filter(Some(PAGE)) {
        Ok(mut filter) => {
            filter.before = None;
            filter
        }
        Err(errors) => {
            let words: Vec<String> = errors.iter().map(|(k, e)| format!("{k}: {e}")).collect();
            return app
                .views
                .error(StatusCode::BAD_REQUEST, &s, &words.join("; "));
        }
    };
    // (next page's filter, whether the header is still to write); None when done.
    let start: Option<(MessageFilter, bool)> = Some((filter, true));
    let body = stream::unfold((app, start), |(app, state)| async move {
        let (filter, first) = state?;
        let next_filter = filter.clone();
        match app.dialer.messages(filter).await {
            Ok(page) => {
                let bytes = chunk(&page.messages, first).map_err(std::io::Error::other);
                let next = page.next.map(|id| {
                    (
                        MessageFilter {
                            before: Some(id),
                            ..next_filter
                        },
                        false,
                    )
                });
                Some((bytes, (app, next)))
            }
            Err(e) => {
                tracing::error!("dashboard CSV export stopped: {e}");
                Some((Err(std::io::Error::other("export failed")), (app, None)))
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"messages.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
