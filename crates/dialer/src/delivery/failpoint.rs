//! Failpoints for crash tests: with `DIALOUT_FAILPOINT=NAME`, the process announces on
//! stderr that it reached NAME and then stops there, so that a test can `kill -9` it at
//! exactly that point. Names: `after-claim` (claimed, no attempt begun) and `after-publish`
//! (the backend took the messages, nothing recorded yet).

use std::sync::OnceLock;

pub(crate) fn reached(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("DIALOUT_FAILPOINT").ok().filter(|v| !v.is_empty()));
    if armed.as_deref() == Some(name) {
        eprintln!("dialout: failpoint {name} reached");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
