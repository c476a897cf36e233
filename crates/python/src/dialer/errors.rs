//! Dialer errors as Python exceptions: the CLI's JSON error kinds (`invalid_input`,
//! `refused`, `failed`), each a class of `dialout._dialer`, carrying the message and the
//! Python argument at fault (`field`).

use dialout_dialer::{Error, InvalidInput, OpenError, SendError, TemplateError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

#[derive(Clone, Copy)]
enum Kind {
    Invalid = 0,
    Refused = 1,
    Failed = 2,
}

/// The exception classes, looked up once: they are Python classes so that a user can
/// subclass and catch them as any other (and `InvalidInput` is also a `ValueError`).
static CLASSES: PyOnceLock<[Py<PyType>; 3]> = PyOnceLock::new();

fn raise(kind: Kind, message: String, field: Option<&str>) -> PyErr {
    Python::attach(|py| {
        let classes = CLASSES.get_or_try_init(py, || -> PyResult<_> {
            let m = py.import("dialout._dialer")?;
            let get = |n: &str| -> PyResult<Py<PyType>> {
                Ok(m.getattr(n)?.cast_into::<PyType>()?.unbind())
            };
            Ok([get("InvalidInput")?, get("Refused")?, get("Failed")?])
        });
        let classes = match classes {
            Ok(c) => c,
            Err(e) => return e,
        };
        match classes[kind as usize].bind(py).call1((message, field)) {
            Ok(value) => PyErr::from_value(value),
            Err(e) => e,
        }
    })
}

pub fn invalid(message: impl Into<String>, field: Option<&str>) -> PyErr {
    raise(Kind::Invalid, message.into(), field)
}

pub fn failed(message: impl Into<String>, field: Option<&str>) -> PyErr {
    raise(Kind::Failed, message.into(), field)
}

pub fn refused(message: impl Into<String>, field: Option<&str>) -> PyErr {
    raise(Kind::Refused, message.into(), field)
}

/// `send`, `send_many`, `send_template`: invalid input, a refusal (template rule, do-not-call
/// list, limits), or a failure of the store or backend.
pub fn from_send(e: SendError) -> PyErr {
    match e {
        SendError::Invalid(i) => invalid(i.to_string(), send_field(&i)),
        SendError::Refused(r) => refused(format!("not sent: {r}"), None),
        SendError::NotAllowed(r) => refused(format!("not sent: {r}"), Some("recipient")),
        other => failed(other.to_string(), None),
    }
}

/// The Python argument an invalid send is about.
fn send_field(e: &InvalidInput) -> Option<&'static str> {
    Some(match e {
        InvalidInput::Recipient(_) => "recipient",
        InvalidInput::Content(_) => "content",
        InvalidInput::Tag(_) => "tag",
        InvalidInput::Related(_) => "related_objects",
        InvalidInput::Priority(_) => "priority",
        InvalidInput::Backend { .. } => "backend",
        InvalidInput::Json { field, .. } if field.contains("context") => "context_data",
        InvalidInput::Json { .. } => "extra_data",
        InvalidInput::IdempotencyKey(_) | InvalidInput::IdempotencyConflict { .. } => {
            "idempotency_key"
        }
        InvalidInput::TimeZone(_) => "time_zone",
        InvalidInput::Gather(_) => "gather",
        InvalidInput::Interactive { field, .. } => field,
        InvalidInput::UnknownTemplate(_) | InvalidInput::Template(TemplateError::Slug(_)) => "slug",
        InvalidInput::Template(_) => "context_data",
        InvalidInput::InBatch { error, .. } => return send_field(error),
    })
}

/// Every other method: the caller's mistakes (an unknown id or slug, a bad template) are
/// invalid input, a state that forbids the action is a refusal, the rest failures.
pub fn from_api(e: Error) -> PyErr {
    let field = match &e {
        Error::NoMessage(_) => Some("id"),
        Error::NoTemplate(_) | Error::TemplateExists(_) => Some("slug"),
        Error::InvalidTemplate(TemplateError::Slug(_)) => Some("slug"),
        Error::InvalidTemplate(_) => Some("body"),
        _ => None,
    };
    match e {
        Error::Refused { .. } => refused(e.to_string(), Some("id")),
        e if e.is_caller_error() => invalid(e.to_string(), field),
        e => failed(e.to_string(), None),
    }
}

/// Opening a dialer: a wrong configuration or database URL is invalid input.
pub fn from_open(e: OpenError) -> PyErr {
    let field = match &e {
        OpenError::Config(_) => "config",
        OpenError::Store(_) => "database_url",
    };
    if e.is_config() {
        invalid(e.to_string(), Some(field))
    } else {
        failed(e.to_string(), Some(field))
    }
}
