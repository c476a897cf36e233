//! `dialout.Dialer`: the dialer crate's `Dialer` in process. Every call runs on one shared
//! tokio runtime with the GIL released, so Python threads sharing a `Dialer` overlap in the
//! store instead of queueing behind the interpreter.

mod convert;
mod errors;
mod message;
mod options;
mod pages;
mod py_dialer;
mod templates;
mod worker;

use std::future::Future;
use std::sync::OnceLock;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<py_dialer::PyDialer>()?;
    m.add_class::<message::PyMessage>()?;
    m.add_class::<message::PyHistoryEntry>()?;
    m.add_class::<templates::PyTemplate>()?;
    m.add_class::<pages::PyPages>()?;
    Ok(())
}

/// One runtime for every `Dialer` of the process: a script opening several dialers (or one
/// per thread) does not start a thread pool each.
fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dialout")
        .enable_all()
        .build()
        .map_err(|e| errors::failed(format!("cannot start the async runtime: {e}"), None))?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Runs `f` to its end on the shared runtime, with the GIL released meanwhile.
fn wait<F>(py: Python<'_>, f: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    Ok(py.detach(|| rt.block_on(f)))
}
