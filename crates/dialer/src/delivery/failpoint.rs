//! Failpoints for crash tests. `DIALOUT_FAILPOINT=NAME` makes the process announce on
//! stderr that it reached NAME and then stop there for good, so that a test can `kill -9`
//! it at exactly that point; `DIALOUT_FAILPOINT=NAME:delay=MS` announces and pauses MS
//! milliseconds (a slow backend, for stop-signal tests). Names: `after-claim` (claimed, no
//! attempt begun) and `after-publish` (the backend took the messages, nothing recorded).

use std::sync::OnceLock;
use std::time::Duration;

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            std::env::var("DIALOUT_FAILPOINT")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .as_deref()
}

pub(crate) async fn reached(name: &str) {
    let Some(spec) = armed() else { return };
    let (point, delay) = match spec.split_once(":delay=") {
        Some((p, ms)) => (p, ms.parse::<u64>().ok().map(Duration::from_millis)),
        None => (spec, None),
    };
    if point != name {
        return;
    }
    eprintln!("dialout: failpoint {name} reached");
    match delay {
        Some(d) => tokio::time::sleep(d).await,
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}
