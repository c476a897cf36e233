//! Reads pycall-style Python objects (plain attributes, as given) into dialout-callfile's
//! builders. The objects validate late, like pycall's: every check happens here, at
//! `is_valid()`/`render()`/`spool()` time, and a refusal is a `Refusal` naming the field.

use std::path::PathBuf;

use dialout_callfile::{
    Action, BuildError, Call, CallFile, Durability, Field, LineLimit, ValidationError,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

/// Why an object cannot become a call file: the crate's own error, or a Python value of the
/// wrong type (which pycall would have choked on with a `TypeError` mid-render).
pub(crate) enum Refusal {
    Build(BuildError),
    /// A setting with no field of its own in the crate (`max_line`, a missing attribute):
    /// the whole message, starting with the setting's name.
    Plain(String),
    Py(PyErr),
}

impl From<BuildError> for Refusal {
    fn from(e: BuildError) -> Self {
        Refusal::Build(e)
    }
}
impl From<ValidationError> for Refusal {
    fn from(e: ValidationError) -> Self {
        Refusal::Build(e.into())
    }
}
impl From<PyErr> for Refusal {
    fn from(e: PyErr) -> Self {
        Refusal::Py(e)
    }
}

fn refuse(field: Field, reason: impl Into<String>) -> Refusal {
    ValidationError::new(field, reason).into()
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Result<Bound<'py, PyAny>, Refusal> {
    obj.getattr(name).map_err(|_| {
        Refusal::Plain(format!(
            "{name}: {} has no attribute {name} (a dialout.pycall object is expected)",
            type_name(obj)
        ))
    })
}

/// A text value; `None` when pycall would leave the line out (a falsy value).
fn text_or_none(v: &Bound<'_, PyAny>, field: Field) -> Result<Option<String>, Refusal> {
    if !v.is_truthy()? {
        return Ok(None);
    }
    text(v, field).map(Some)
}

fn text(v: &Bound<'_, PyAny>, field: Field) -> Result<String, Refusal> {
    match v.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(refuse(
            field,
            format!("must be a str, not {}", type_name(v)),
        )),
    }
}

/// pycall accepts exactly `int` (not `bool`, not `float`) for the timing values.
fn whole(v: &Bound<'_, PyAny>, field: Field) -> Result<Option<i64>, Refusal> {
    if v.is_none() {
        return Ok(None);
    }
    if !v.is_instance_of::<PyInt>() || v.is_instance_of::<PyBool>() {
        return Err(refuse(
            field,
            format!("must be an int, not {}", type_name(v)),
        ));
    }
    match v.extract::<i64>() {
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(refuse(
            field,
            format!("{v} is above {}, Asterisk's largest number", i32::MAX),
        )),
    }
}

/// A count that Asterisk reads as a C `int`; `min` is the smallest value it keeps.
fn count(
    v: &Bound<'_, PyAny>,
    field: Field,
    min: i64,
    below: &str,
) -> Result<Option<u32>, Refusal> {
    let Some(n) = whole(v, field)? else {
        return Ok(None);
    };
    if n < min {
        return Err(refuse(field, format!("{n} is below {min}: {below}")));
    }
    // Above u32 the crate's own check (fits a C int) speaks.
    Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
}

/// `Call(channel, callerid, variables, account, wait_time, retry_time, max_retries)`.
pub(crate) fn call(obj: &Bound<'_, PyAny>) -> Result<Call, Refusal> {
    let py = obj.py();
    let channel = attr(obj, intern!(py, "channel"))?;
    let mut b = Call::builder().channel(text(&channel, Field::Channel)?);
    if let Some(v) = text_or_none(&attr(obj, intern!(py, "callerid"))?, Field::CallerId)? {
        b = b.callerid(v);
    }
    let vars = attr(obj, intern!(py, "variables"))?;
    if vars.is_truthy()? {
        let Ok(vars) = vars.cast::<PyDict>() else {
            return Err(refuse(
                Field::Variable,
                format!("variables must be a dict, not {}", type_name(&vars)),
            ));
        };
        // pycall writes `Set: %s=%s`: names and values go through str().
        for (k, v) in vars.iter() {
            b = b.var(k.str()?.to_cow()?, v.str()?.to_cow()?);
        }
    }
    if let Some(v) = text_or_none(&attr(obj, intern!(py, "account"))?, Field::Account)? {
        b = b.account(v);
    }
    let unset = "Asterisk would silently use its default instead";
    if let Some(n) = count(
        &attr(obj, intern!(py, "wait_time"))?,
        Field::WaitTime,
        1,
        unset,
    )? {
        b = b.wait_time(n);
    }
    if let Some(n) = count(
        &attr(obj, intern!(py, "retry_time"))?,
        Field::RetryTime,
        1,
        unset,
    )? {
        b = b.retry_time(n);
    }
    let expire = "Asterisk expires a file with negative retries at once, undialed";
    if let Some(n) = count(
        &attr(obj, intern!(py, "max_retries"))?,
        Field::MaxRetries,
        0,
        expire,
    )? {
        b = b.max_retries(n);
    }
    Ok(b.build()?)
}

/// `Application(application, data)` or `Context(context, extension, priority)`, told apart by
/// the class attribute `_dialout_action` of dialout.pycall's classes.
pub(crate) fn action(obj: &Bound<'_, PyAny>) -> Result<Action, Refusal> {
    let py = obj.py();
    let kind = obj
        .getattr(intern!(py, "_dialout_action"))
        .ok()
        .and_then(|k| k.extract::<String>().ok());
    let action = match kind.as_deref() {
        Some("application") => Action::application(
            text(&attr(obj, intern!(py, "application"))?, Field::Application)?,
            text(&attr(obj, intern!(py, "data"))?, Field::Data)?,
        ),
        Some("context") => Action::context(
            text(&attr(obj, intern!(py, "context"))?, Field::Context)?,
            text(&attr(obj, intern!(py, "extension"))?, Field::Extension)?,
            priority(&attr(obj, intern!(py, "priority"))?)?,
        ),
        _ => {
            return Err(refuse(
                Field::Action,
                format!(
                    "{} is not an Application or a Context of dialout.pycall \
                     (only their lines can be checked)",
                    type_name(obj)
                ),
            ));
        }
    };
    action.validate()?;
    Ok(action)
}

/// pycall's guide writes priorities as strings (`'1'`); an int is taken too.
fn priority(v: &Bound<'_, PyAny>) -> Result<u32, Refusal> {
    let f = Field::Priority;
    let n = if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow()?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(
                f,
                format!(
                    "{s:?} is not a number: call files take numeric priorities (no labels, no 'n')"
                ),
            ));
        }
        s.parse::<i64>().unwrap_or(i64::MAX)
    } else {
        match whole(v, f)? {
            Some(n) => n,
            None => return Err(refuse(f, "missing (None)")),
        }
    };
    if n < 1 {
        return Err(refuse(
            f,
            format!("{n} is below 1: Asterisk has no such priority"),
        ));
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn path(v: &Bound<'_, PyAny>, field: Field) -> Result<PathBuf, Refusal> {
    v.extract::<PathBuf>().map_err(|_| {
        refuse(
            field,
            format!("must be a path (str or os.PathLike), not {}", type_name(v)),
        )
    })
}

/// The whole `CallFile`, with its extra keyword settings (`mode`, `max_line`,
/// `allow_set_functions`, `durable`).
pub(crate) fn callfile(obj: &Bound<'_, PyAny>) -> Result<CallFile, Refusal> {
    let py = obj.py();
    let call = call(&attr(obj, intern!(py, "call"))?)?;
    let action = action(&attr(obj, intern!(py, "action"))?)?;
    let mut b = CallFile::builder()
        .call(call)
        .action(action)
        .archive(attr(obj, intern!(py, "archive"))?.is_truthy()?)
        .spool_dir(path(
            &attr(obj, intern!(py, "spool_dir"))?,
            Field::SpoolDir,
        )?);
    let name = attr(obj, intern!(py, "filename"))?;
    if name.is_truthy()? {
        let name = path(&name, Field::Filename)?;
        let Some(name) = name.to_str() else {
            return Err(refuse(Field::Filename, "is not valid UTF-8"));
        };
        b = b.filename(name);
    }
    let tempdir = attr(obj, intern!(py, "tempdir"))?;
    if tempdir.is_truthy()? {
        b = b.staging_dir(path(&tempdir, Field::StagingDir)?);
    }
    if let Some(user) = text_or_none(&attr(obj, intern!(py, "user"))?, Field::User)? {
        b = b.user(user);
    }
    let mode = attr(obj, intern!(py, "mode"))?;
    if let Some(m) = whole(&mode, Field::Mode)? {
        let m = u32::try_from(m)
            .map_err(|_| refuse(Field::Mode, format!("{m:#o} is not a file mode")))?;
        b = b.mode(m);
    }
    let max_line = attr(obj, intern!(py, "max_line"))?;
    if !max_line.is_none() {
        let Ok(n) = max_line.extract::<i64>() else {
            return Err(Refusal::Plain(format!(
                "max_line: must be an int, not {}",
                type_name(&max_line)
            )));
        };
        let limit = usize::try_from(n).ok().and_then(LineLimit::from_bytes).ok_or_else(|| {
            Refusal::Plain(format!(
                "max_line: must be 255 (any Asterisk) or 1022 (Asterisk 13.15 / 14.4 and later), not {n}"
            ))
        })?;
        b = b.line_limit(limit);
    }
    let functions = attr(obj, intern!(py, "allow_set_functions"))?;
    b = b.allow_set_functions(functions.is_truthy()?);
    let durable = attr(obj, intern!(py, "durable"))?.is_truthy()?;
    b = b.durability(if durable {
        Durability::EachFile
    } else {
        Durability::None
    });
    Ok(b.build()?)
}
