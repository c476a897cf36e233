//! `dialout.Message` (pymess's field names) and `dialout.HistoryEntry`. Fields are turned
//! into Python values when read, so a `send` that only checks the state pays for no others.

use dialout_dialer::{HistoryEntry, Message, State};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::convert;

static STATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `dialout.State(code)`, the IntEnum of pymess's codes.
pub fn state<'py>(py: Python<'py>, s: State) -> PyResult<Bound<'py, PyAny>> {
    let cls = STATE.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("dialout._dialer")?.getattr("State")?.unbind())
    })?;
    cls.bind(py).call1((s.code(),))
}

/// A stored message as the dialer returned it; a snapshot (read it again with
/// `Dialer.message(id)`).
#[pyclass(name = "Message", module = "dialout", frozen)]
pub struct PyMessage {
    pub inner: Message,
    existing: bool,
}

impl PyMessage {
    pub fn new(inner: Message, existing: bool) -> Self {
        PyMessage { inner, existing }
    }
}

#[pymethods]
impl PyMessage {
    #[getter]
    fn id(&self) -> String {
        self.inner.id.to_string()
    }
    #[getter]
    fn recipient(&self) -> String {
        self.inner.recipient.to_string()
    }
    #[getter]
    fn content(&self) -> &str {
        &self.inner.content
    }
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        state(py, self.inner.state)
    }
    #[getter]
    fn is_final_state(&self) -> bool {
        self.inner.is_final_state
    }
    /// pymess's `failed`: ERROR or ERROR_RETRY.
    #[getter]
    fn failed(&self) -> bool {
        self.inner.failed()
    }
    #[getter]
    fn error(&self) -> Option<&str> {
        self.inner.error.as_deref()
    }
    #[getter]
    fn extra_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(convert::map_to_py(py, &self.inner.extra_data)?.into_any())
    }
    #[getter]
    fn extra_sender_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(convert::map_to_py(py, &self.inner.extra_sender_data)?.into_any())
    }
    #[getter]
    fn tag(&self) -> Option<String> {
        self.inner.tag.as_ref().map(|t| t.to_string())
    }
    /// `TYPE:ID` strings (`auth.user:42` from `dialout.django`).
    #[getter]
    fn related_objects(&self) -> Vec<String> {
        self.inner.related.iter().map(|r| r.to_string()).collect()
    }
    #[getter]
    fn template_slug(&self) -> Option<&str> {
        self.inner.template_slug.as_deref()
    }
    /// The template's id while it existed (pymess's `template` foreign key).
    #[getter]
    fn template_id(&self) -> Option<i64> {
        self.inner.template_id
    }
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.backend
    }
    #[getter]
    fn priority(&self) -> u8 {
        self.inner.priority.get()
    }
    #[getter]
    fn predictive(&self) -> bool {
        self.inner.predictive
    }
    /// pymess's name: not predictive.
    #[getter]
    fn is_autodialer(&self) -> bool {
        !self.inner.predictive
    }
    #[getter]
    fn created_at(&self) -> jiff::Timestamp {
        self.inner.created_at
    }
    #[getter]
    fn changed_at(&self) -> jiff::Timestamp {
        self.inner.changed_at
    }
    #[getter]
    fn sent_at(&self) -> Option<jiff::Timestamp> {
        self.inner.sent_at
    }
    #[getter]
    fn not_before(&self) -> Option<jiff::Timestamp> {
        self.inner.not_before
    }
    #[getter]
    fn next_attempt_at(&self) -> Option<jiff::Timestamp> {
        self.inner.next_attempt_at
    }
    #[getter]
    fn attempts(&self) -> u32 {
        self.inner.attempts
    }
    #[getter]
    fn idempotency_key(&self) -> Option<&str> {
        self.inner.idempotency_key.as_deref()
    }
    #[getter]
    fn resent_from(&self) -> Option<String> {
        self.inner.resent_from.map(|id| id.to_string())
    }
    #[getter]
    fn time_zone(&self) -> Option<&str> {
        self.inner.time_zone.as_deref()
    }
    /// True when an idempotency key matched an earlier message: that one came back and
    /// nothing was sent.
    #[getter]
    fn existing(&self) -> bool {
        self.existing
    }
    /// Keys pressed in answer to `gather`.
    #[getter]
    fn digits(&self) -> Option<&str> {
        self.inner.reply.digits.as_deref()
    }
    /// The label of `gather`'s answer the keys matched.
    #[getter]
    fn answer(&self) -> Option<&str> {
        self.inner.reply.answer.as_deref()
    }
    /// `human` or `machine`, when answering-machine detection ran.
    #[getter]
    fn answered_by(&self) -> Option<&'static str> {
        self.inner.reply.answered_by.map(|a| a.as_str())
    }
    #[getter]
    fn answered_at(&self) -> Option<jiff::Timestamp> {
        self.inner.reply.answered_at
    }
    /// The keys asked for after the message, as a dict (`prompt`, `keys`, `digits`, ...).
    #[getter]
    fn gather<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(g) = &self.inner.interactive.gather else {
            return Ok(None);
        };
        let v = serde_json::to_value(g)
            .map_err(|e| super::errors::failed(e.to_string(), Some("gather")))?;
        Ok(Some(convert::to_py(py, &v)?))
    }
    /// What to do when a machine answers: `hangup`, `leave_message` or `ignore`.
    #[getter]
    fn machine(&self) -> Option<&'static str> {
        self.inner.interactive.machine.map(|m| m.as_str())
    }

    fn __repr__(&self) -> String {
        format!(
            "<Message {} to {} {}>",
            self.inner.id,
            self.inner.recipient,
            self.inner.state.name()
        )
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyMessage>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __hash__(&self) -> u64 {
        let id = self.inner.id.to_string();
        id.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
    }
}

/// One state change of a message (`Dialer.history`).
#[pyclass(name = "HistoryEntry", module = "dialout", frozen)]
pub struct PyHistoryEntry {
    pub inner: HistoryEntry,
}

#[pymethods]
impl PyHistoryEntry {
    #[getter]
    fn at(&self) -> jiff::Timestamp {
        self.inner.at
    }
    /// None for the first entry (the message's creation).
    #[getter(from_state)]
    fn previous_state<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.from.map(|s| state(py, s)).transpose()
    }
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        state(py, self.inner.to)
    }
    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }
    fn __repr__(&self) -> String {
        let from = self.inner.from.map_or("-", |s| s.name());
        format!(
            "<HistoryEntry {} {from} -> {}>",
            self.inner.at,
            self.inner.to.name()
        )
    }
}
