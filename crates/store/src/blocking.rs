//! Blocking work from synchronous code that may be inside a tokio runtime.

use tokio::runtime::{Handle, RuntimeFlavor};

/// `dialout_backends::shared::blocking::run` for synchronous callers that may be inside a runtime (`Dialer::open` called from
/// async code): on a current-thread runtime `f` runs on a scoped thread of its own, since
/// nothing here can await the blocking pool.
pub fn run_sync<T, F>(f: F) -> T
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    match Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| {
            s.spawn(f)
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
    }
}
