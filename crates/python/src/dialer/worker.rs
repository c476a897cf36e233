//! `Dialer.worker(...)`: delivery in process, as `dialout worker` runs it (due messages,
//! results, status checks, webhook deliveries), for a script that wants no separate worker.
//!
//! It runs on the shared runtime while the calling thread waits in short slices, so that
//! Ctrl-C (KeyboardInterrupt) stops it as SIGINT stops `dialout worker`: what is held is
//! finished and released first, then the exception is raised.

use std::time::{Duration, Instant};

use dialout_dialer::{Dialer, WorkerOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{convert, errors, runtime};

pub struct Run {
    pub once: bool,
    pub seconds: Option<f64>,
    pub interval: Option<f64>,
    pub status_interval: Option<f64>,
    pub no_status: bool,
    pub batch_size: Option<usize>,
}

fn secs(field: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|s| {
        Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                errors::invalid(
                    format!("invalid {field}: expected seconds > 0"),
                    Some(field),
                )
            })
    })
    .transpose()
}

pub fn run<'py>(py: Python<'py>, dialer: &Dialer, r: Run) -> PyResult<Bound<'py, PyDict>> {
    if r.batch_size == Some(0) {
        return Err(errors::invalid(
            "invalid batch_size 0: must be at least 1",
            Some("batch_size"),
        ));
    }
    let deadline = secs("seconds", r.seconds)?.map(|d| Instant::now() + d);
    let options = WorkerOptions {
        once: r.once,
        interval: secs("interval", r.interval)?,
        status_interval: secs("status_interval", r.status_interval)?,
        no_status: r.no_status,
        batch_size: r.batch_size,
        ..Default::default()
    };
    let worker = dialer.worker(options);
    let hooks = dialer
        .webhook_deliverer()
        .map_err(|e| errors::failed(e.to_string(), None))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let rt = runtime()?;
    let once = r.once;
    let mut task = rt.spawn(async move {
        let beside = (!once).then(|| {
            let hooks = hooks.clone();
            let stopped = stopped.clone();
            tokio::spawn(async move { hooks.run(stopped).await })
        });
        let stats = worker.run(stopped).await;
        match beside {
            Some(t) => drop(t.await),
            None => drop(hooks.drain().await),
        }
        stats
    });
    let mut interrupted = None;
    let outcome = loop {
        let slice = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(Duration::from_millis(100), &mut task).await })
        });
        if let Ok(done) = slice {
            break done;
        }
        if interrupted.is_none()
            && let Err(e) = py.check_signals()
        {
            interrupted = Some(e);
            let _ = stop.send(true);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = stop.send(true);
        }
    };
    if let Some(e) = interrupted {
        return Err(e);
    }
    let stats = outcome
        .map_err(|e| errors::failed(format!("the worker stopped: {e}"), None))?
        .map_err(|e| errors::failed(e.to_string(), None))?;
    let v = serde_json::to_value(&stats).map_err(|e| errors::failed(e.to_string(), None))?;
    match v {
        serde_json::Value::Object(m) => convert::map_to_py(py, &m),
        _ => Ok(PyDict::new(py)),
    }
}
