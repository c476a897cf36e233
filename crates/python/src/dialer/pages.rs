//! `Dialer.messages(...)`: an iterator over pages (lists of messages), newest first. Each
//! page is one store query; the next starts after the last message of the one before, so a
//! long listing keeps memory flat and sees no message twice.

use dialout_dialer::{Dialer, MessageFilter};
use pyo3::prelude::*;
use std::sync::Mutex;

use super::message::PyMessage;
use super::{errors, wait};

#[pyclass(name = "MessagePages", module = "dialout", frozen)]
pub struct PyPages {
    dialer: Dialer,
    /// None once the last page was returned.
    filter: Mutex<Option<MessageFilter>>,
}

impl PyPages {
    pub fn new(dialer: Dialer, filter: MessageFilter) -> Self {
        PyPages {
            dialer,
            filter: Mutex::new(Some(filter)),
        }
    }
}

#[pymethods]
impl PyPages {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Vec<PyMessage>>> {
        let Some(filter) = self.filter.lock().map_err(poisoned)?.take() else {
            return Ok(None);
        };
        let page = wait(py, self.dialer.messages(filter.clone()))?.map_err(errors::from_api)?;
        if let Some(next) = page.next {
            *self.filter.lock().map_err(poisoned)? = Some(MessageFilter {
                before: Some(next),
                ..filter
            });
        }
        if page.messages.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            page.messages
                .into_iter()
                .map(|m| PyMessage::new(m, false))
                .collect(),
        ))
    }
}

fn poisoned<T>(_: T) -> PyErr {
    errors::failed("a listing was interrupted by a panic", None)
}
