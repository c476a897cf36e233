//! The one way async code runs blocking work: a backend's file I/O, and the dialer's store
//! calls (the store itself is synchronous; its `blocking::run_sync` is for synchronous callers).

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
