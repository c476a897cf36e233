//! Turns dialout-callfile's errors into pycall's exception classes (defined in Python, in
//! `dialout.pycall.errors`, so that they are plain classes exactly as pycall has them).

use dialout_callfile::{BuildError, SpoolError};
use pyo3::prelude::*;

use super::read::Refusal;

/// The crate names settings as its builder does; the Python objects as pycall does.
fn pycall_words(message: String) -> String {
    for (rust, python) in [("staging_dir:", "tempdir:"), ("at:", "time:")] {
        if let Some(rest) = message.strip_prefix(rust) {
            return format!("{python}{rest}");
        }
    }
    message
}

/// An instance of `dialout.pycall.errors.<class>` with the message, and `field` set to the
/// setting it is about (or None).
fn error(py: Python<'_>, class: &str, message: String, field: Option<&str>) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let class = py.import("dialout.pycall.errors")?.getattr(class)?;
        let e = class.call1((pycall_words(message.clone()),))?;
        let field = field.map(|f| if f == "staging_dir" { "tempdir" } else { f });
        e.setattr("field", field)?;
        Ok(PyErr::from_value(e))
    };
    make().unwrap_or_else(|e| e)
}

pub(crate) fn invalid_time(py: Python<'_>, message: String) -> PyErr {
    error(py, "InvalidTimeError", message, Some("time"))
}

pub(crate) fn refusal(py: Python<'_>, r: Refusal) -> PyErr {
    match r {
        Refusal::Build(e) => build(py, &e),
        Refusal::Plain(m) => {
            let field = m.split_once(':').map(|(f, _)| f.to_owned());
            error(py, "ValidationError", m, field.as_deref())
        }
        Refusal::Py(e) => e,
    }
}

pub(crate) fn build(py: Python<'_>, e: &BuildError) -> PyErr {
    error(py, "ValidationError", e.to_string(), Some(e.field().name()))
}

/// pycall's classes for each way spooling fails. A missing directory is a ValidationError, as
/// in pycall (whose `is_valid()` checks that the spool directory exists).
pub(crate) fn spool(py: Python<'_>, e: SpoolError) -> PyErr {
    let (class, field) = match &e {
        SpoolError::NoSuchUser { .. } => ("NoUserError", Some("user")),
        SpoolError::NoSuchGroup { .. } => ("NoUserError", Some("group")),
        SpoolError::NoPermissionToChown { .. } => ("NoUserPermissionError", Some("user")),
        SpoolError::SpoolDirPermission { field, .. } => {
            ("NoSpoolPermissionError", Some(field.name()))
        }
        SpoolError::MissingDir { field, .. } => ("ValidationError", Some(field.name())),
        SpoolError::CrossFilesystem { .. } => ("NoSpoolPermissionError", Some("tempdir")),
        SpoolError::AlreadyExists { .. } => ("NoSpoolPermissionError", Some("filename")),
        SpoolError::InvalidTime { .. } => ("InvalidTimeError", Some("time")),
        SpoolError::Io { .. } | SpoolError::NotDurable { .. } => ("UnknownError", None),
    };
    error(py, class, e.to_string(), field)
}
