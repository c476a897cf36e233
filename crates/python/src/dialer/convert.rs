//! Python values to JSON and back (extra data, template context, stats), and instants.

use jiff::Timestamp;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use super::errors;

/// A JSON-able Python value: dict (string keys), list, tuple, str, int, float, bool, None.
/// `field` names the argument in the error.
pub fn to_json(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if obj.is_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => Ok(Value::from(obj.extract::<u64>().map_err(|_| {
                errors::invalid(
                    format!("invalid {field}: an integer out of range"),
                    Some(field),
                )
            })?)),
        }
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                errors::invalid(format!("invalid {field}: NaN or infinity"), Some(field))
            })
    } else if let Ok(d) = obj.cast::<PyDict>() {
        Ok(Value::Object(dict_to_map(d, field)?))
    } else if let Ok(l) = obj.cast::<PyList>() {
        l.iter()
            .map(|v| to_json(&v, field))
            .collect::<PyResult<_>>()
            .map(Value::Array)
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        t.iter()
            .map(|v| to_json(&v, field))
            .collect::<PyResult<_>>()
            .map(Value::Array)
    } else {
        Err(PyTypeError::new_err(format!(
            "{field}: {} is not JSON (use dict, list, str, int, float, bool or None)",
            obj.get_type().name()?
        )))
    }
}

pub fn dict_to_map(d: &Bound<'_, PyDict>, field: &str) -> PyResult<Map<String, Value>> {
    let mut map = Map::with_capacity(d.len());
    for (k, v) in d.iter() {
        let key = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("{field}: keys must be strings")))?;
        map.insert(key.to_cow()?.into_owned(), to_json(&v, field)?);
    }
    Ok(map)
}

pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (_, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => map_to_py(py, m)?.into_any(),
    })
}

pub fn map_to_py<'py>(py: Python<'py>, m: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in m {
        d.set_item(k, to_py(py, v)?)?;
    }
    Ok(d)
}

/// An instant: a `datetime` (naive ones are local time, as Python's `timestamp()` reads
/// them) or an RFC 3339 string.
pub fn instant(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Timestamp> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_cow()?;
        return text
            .parse()
            .map_err(|e| errors::invalid(format!("invalid {field} {text:?}: {e}"), Some(field)));
    }
    let secs: f64 = obj
        .call_method0("timestamp")
        .and_then(|t| t.extract())
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "{field}: expected a datetime or an RFC 3339 string"
            ))
        })?;
    Timestamp::from_microsecond((secs * 1e6).round() as i64)
        .map_err(|e| errors::invalid(format!("invalid {field}: {e}"), Some(field)))
}
