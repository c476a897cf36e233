//! The one way async code runs blocking store work (and the dialer its other blocking work).

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinError;

/// Runs `f` off the async executor and returns what it returned.
///
/// On a multi-threaded runtime `f` runs on this thread while the runtime hands its other
/// tasks to another worker (`block_in_place`): no hop to the blocking pool, which costs
/// more than a short SQLite transaction. A current-thread runtime cannot do that: `f` runs
/// on the blocking pool. Without a runtime it simply runs. A panic in `f` is resumed here;
/// the error is only ever a runtime that shut down before `f` finished.
pub async fn run<T, F>(f: F) -> Result<T, JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let Ok(handle) = Handle::try_current() else {
        return Ok(f());
    };
    if handle.runtime_flavor() == RuntimeFlavor::MultiThread {
        return Ok(tokio::task::block_in_place(f));
    }
    match handle.spawn_blocking(f).await {
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        other => other,
    }
}

/// [`run`] for synchronous callers that may be inside a runtime (`Dialer::open` called from
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
