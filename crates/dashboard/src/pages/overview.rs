//! The overview: messages by state over 24 hours and 7 days, the queue, the backends.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use dialout_dialer::{State as MsgState, StateCount};
use jiff::{SignedDuration, Timestamp};
use minijinja::context;
use serde::Serialize;

use crate::AppState;
use crate::pages::dialer_error;
use crate::render::category;
use crate::session::Session;

#[derive(Serialize)]
struct Series {
    state: &'static str,
    category: &'static str,
    counts: Vec<u64>,
    total: u64,
}

#[derive(Serialize)]
struct Window {
    title: &'static str,
    id: &'static str,
    labels: Vec<String>,
    series: Vec<Series>,
    total: u64,
    final_total: u64,
    succeeded: u64,
    /// Of the messages that ended, the share that reached someone; None before any ended.
    success_rate: Option<String>,
}

fn window(
    title: &'static str,
    id: &'static str,
    since: Timestamp,
    buckets: usize,
    bucket: SignedDuration,
    counts: &[StateCount],
) -> Window {
    let mut by_state: BTreeMap<i16, Vec<u64>> = BTreeMap::new();
    for c in counts {
        if c.bucket < 0 || c.bucket as usize >= buckets {
            continue;
        }
        by_state
            .entry(c.state.code())
            .or_insert_with(|| vec![0; buckets])[c.bucket as usize] += c.count;
    }
    let fmt = if bucket < SignedDuration::from_hours(24) {
        "%H:%M"
    } else {
        "%a %d"
    };
    let labels = (0..buckets)
        .map(|i| {
            let at = since + bucket * i as i32;
            at.strftime(fmt).to_string()
        })
        .collect();
    let (mut total, mut final_total, mut succeeded) = (0, 0, 0);
    let series = by_state
        .into_iter()
        .filter_map(|(code, counts)| {
            let state = MsgState::from_code(code.into())?;
            let n: u64 = counts.iter().sum();
            total += n;
            if state.is_final_by_default() || state == MsgState::Done {
                final_total += n;
                if category(state) == "ok" {
                    succeeded += n;
                }
            }
            Some(Series {
                state: state.name(),
                category: category(state),
                counts,
                total: n,
            })
        })
        .collect();
    Window {
        title,
        id,
        labels,
        series,
        total,
        final_total,
        succeeded,
        success_rate: (final_total > 0)
            .then(|| format!("{:.1} %", 100.0 * succeeded as f64 / final_total as f64)),
    }
}

pub(crate) async fn page(State(app): State<AppState>, s: Session) -> Response {
    let now = Timestamp::now();
    let hour = SignedDuration::from_hours(1);
    let day = SignedDuration::from_hours(24);
    // Whole hours and whole UTC days, the current one last.
    let floor = |unit: i64| {
        Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(unit)).unwrap_or(now)
    };
    let since_24h = floor(3600) - hour * 23;
    let since_7d = floor(86_400) - day * 6;
    let d = &app.dialer;
    // One pass over the week by hour: the last 24 hours are its tail, the days its sums.
    let (hourly, depth, backends, beats) = match tokio::try_join!(
        d.state_counts(since_7d, hour),
        d.queue_depth(),
        d.backend_health(),
        d.workers(now - day),
    ) {
        Ok(x) => x,
        Err(e) => return dialer_error(&app, &s, e),
    };
    // The page still shows the rest when the webhook tables cannot be read.
    let hooks = match crate::pages::webhooks::failure_count(d).await {
        Ok((endpoints, failed, capped)) => Some(context! { endpoints, failed, capped }),
        Err(e) => {
            tracing::error!("dashboard overview: webhook failures: {e}");
            None
        }
    };
    let offset = (since_24h.as_second() - since_7d.as_second()) / 3600;
    let c24: Vec<StateCount> = hourly
        .iter()
        .filter(|c| c.bucket >= offset)
        .map(|c| StateCount {
            bucket: c.bucket - offset,
            ..*c
        })
        .collect();
    let c7: Vec<StateCount> = hourly
        .iter()
        .map(|c| StateCount {
            bucket: c.bucket.div_euclid(24),
            ..*c
        })
        .collect();
    let workers: Vec<_> = beats
        .iter()
        .map(|b| {
            context! {
                owner => b.owner.clone(),
                started_at => b.started_at.to_string(),
                seen_at => b.seen_at.to_string(),
                seen_secs_ago => now.duration_since(b.seen_at).as_secs().max(0),
                // Stopped cleanly, running, or fallen silent (killed or cut off).
                status => if b.stopped {
                    "stopped"
                } else if b.silent(now) {
                    "silent"
                } else {
                    "running"
                },
                claimed => b.claimed,
                recorded => b.recorded,
            }
        })
        .collect();
    let windows = vec![
        window("Last 24 hours", "h24", since_24h, 24, hour, &c24),
        window("Last 7 days", "d7", since_7d, 7, day, &c7),
    ];
    app.views.ok(
        "overview.html",
        &s,
        context! {
            nav => "overview",
            windows => crate::render::val(&windows),
            queue_depth => depth,
            backends => crate::render::val(&backends),
            hooks,
            workers,
            now => now.to_string(),
        },
    )
}
