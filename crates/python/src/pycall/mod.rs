//! `dialout.pycall`'s native half: checks, renders and spools pycall-style objects with
//! dialout-callfile. The Python classes only hold attributes (pycall validates late); every
//! function here reads them at call time.

mod raise;
mod read;

use dialout_callfile::{Action, Call, CallFile, DEFAULT_SPOOL_DIR, STAGING_SUBDIR, render};
use pyo3::prelude::*;

/// Registers the `pycall_*` functions and `DEFAULT_SPOOL_DIR` on `dialout._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DEFAULT_SPOOL_DIR", DEFAULT_SPOOL_DIR)?;
    m.add("STAGING_SUBDIR", STAGING_SUBDIR)?;
    m.add_function(wrap_pyfunction!(pycall_new_name, m)?)?;
    m.add_function(wrap_pyfunction!(pycall_call_lines, m)?)?;
    m.add_function(wrap_pyfunction!(pycall_action_lines, m)?)?;
    m.add_function(wrap_pyfunction!(pycall_render, m)?)?;
    m.add_function(wrap_pyfunction!(pycall_spool, m)?)?;
    Ok(())
}

/// A unique call file name, `<UUID v7>.call`, as the crate makes them.
#[pyfunction]
fn pycall_new_name() -> String {
    format!("{}.call", uuid::Uuid::now_v7())
}

fn lines(call: &Call, action: &Action) -> Vec<String> {
    render(call, action, false)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The call's lines, checked. The crate renders whole files, so the call is rendered with a
/// placeholder action whose two lines (`Application`, `Data`) are dropped.
#[pyfunction]
fn pycall_call_lines(py: Python<'_>, call: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let call = read::call(call).map_err(|r| raise::refusal(py, r))?;
    let mut out = lines(&call, &Action::application("NoOp", ""));
    out.truncate(out.len() - 2);
    Ok(out)
}

/// The action's lines, checked, rendered after a placeholder `Channel` line that is dropped.
#[pyfunction]
fn pycall_action_lines(py: Python<'_>, action: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let action = read::action(action).map_err(|r| raise::refusal(py, r))?;
    let placeholder = Call::builder()
        .channel("Local/s@placeholder")
        .build()
        .map_err(|e| raise::build(py, &e))?;
    let mut out = lines(&placeholder, &action);
    out.remove(0);
    Ok(out)
}

fn callfile(py: Python<'_>, cf: &Bound<'_, PyAny>) -> PyResult<CallFile> {
    read::callfile(cf).map_err(|r| raise::refusal(py, r))
}

/// The whole file's text, checked, exactly as `spool()` writes it (ending with a newline).
#[pyfunction]
fn pycall_render(py: Python<'_>, cf: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(callfile(py, cf)?.render())
}

/// Spools the file (at `at`, Unix seconds, or now) and returns its path in the spool
/// directory. The GIL is released while the file is written, owned, timed and renamed.
#[pyfunction]
#[pyo3(signature = (cf, at=None))]
fn pycall_spool(py: Python<'_>, cf: &Bound<'_, PyAny>, at: Option<i64>) -> PyResult<String> {
    let cf = callfile(py, cf)?;
    let at = at
        .map(jiff::Timestamp::from_second)
        .transpose()
        .map_err(|e| raise::invalid_time(py, format!("time: out of range: {e}")))?;
    let path = py
        .detach(|| cf.spool(at))
        .map_err(|e| raise::spool(py, e))?;
    Ok(path.to_string_lossy().into_owned())
}
