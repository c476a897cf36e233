//! The keyword arguments `send`, `send_template` and `send_many` share, as the dialer's
//! `SendOptions`.

use dialout_dialer::{GatherSpec, MachinePolicy};
use dialout_dialer::{SendOptions, SendRequest};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::Value;

use super::convert;
use super::errors;

/// What a caller may pass besides the recipient and the content (or template).
#[derive(Default)]
pub struct Options<'py> {
    pub related_objects: Option<Bound<'py, PyAny>>,
    pub tag: Option<String>,
    pub priority: Option<i64>,
    pub at: Option<Bound<'py, PyAny>>,
    pub queued: bool,
    pub idempotency_key: Option<String>,
    pub time_zone: Option<String>,
    pub backend: Option<String>,
    pub predictive: bool,
    /// pymess's name: `is_autodialer=False` is a predictive call.
    pub is_autodialer: Option<bool>,
    pub allow_duplicate: bool,
    /// pymess's `**kwargs`; an `extra_data` dict among them is merged in (pymess dropped it).
    pub extra: Option<Bound<'py, PyDict>>,
    /// Keys to gather after the message: a dict as the HTTP API's `gather` object.
    pub gather: Option<Bound<'py, PyAny>>,
    /// `hangup`, `leave_message` or `ignore`.
    pub machine: Option<String>,
}

impl Options<'_> {
    pub fn build(&self) -> PyResult<SendOptions> {
        Ok(SendOptions {
            related: match &self.related_objects {
                Some(r) if !r.is_none() => related(r)?,
                _ => Vec::new(),
            },
            tag: self.tag.clone(),
            extra_data: match &self.extra {
                Some(d) if !d.is_empty() => extra_data(d)?,
                _ => None,
            },
            backend: self.backend.clone(),
            priority: self.priority,
            not_before: self
                .at
                .as_ref()
                .filter(|a| !a.is_none())
                .map(|a| convert::instant(a, "at"))
                .transpose()?,
            predictive: self.predictive || self.is_autodialer == Some(false),
            idempotency_key: self.idempotency_key.clone(),
            queued: self.queued,
            resent_from: None,
            allow_duplicate: self.allow_duplicate,
            time_zone: self.time_zone.clone(),
            gather: self
                .gather
                .as_ref()
                .filter(|g| !g.is_none())
                .map(gather_spec)
                .transpose()?,
            machine: self.machine.as_deref().map(machine).transpose()?,
        })
    }
}

/// A `gather` dict as the dialer's spec; its checks run in `send`.
pub fn gather_spec(g: &Bound<'_, PyAny>) -> PyResult<GatherSpec> {
    serde_json::from_value(convert::to_json(g, "gather")?)
        .map_err(|e| errors::invalid(format!("invalid gather: {e}"), Some("gather")))
}

pub fn machine(m: &str) -> PyResult<MachinePolicy> {
    m.parse()
        .map_err(|e: dialout_dialer::UnknownMachinePolicy| {
            errors::invalid(e.to_string(), Some("machine"))
        })
}

/// `TYPE:ID` strings (`order:42`); `dialout.django` turns model instances into them.
fn related(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(errors::invalid(
            "invalid related_objects: expected a list of TYPE:ID strings, not one string",
            Some("related_objects"),
        ));
    }
    obj.try_iter()?
        .map(|item| {
            let item = item?;
            item.extract::<String>().map_err(|_| {
                errors::invalid(
                    format!(
                        "invalid related_objects: expected TYPE:ID strings, not {}",
                        item.get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ),
                    Some("related_objects"),
                )
            })
        })
        .collect()
}

fn extra_data(kwargs: &Bound<'_, PyDict>) -> PyResult<Option<Value>> {
    let mut map = serde_json::Map::new();
    if let Some(explicit) = kwargs.get_item("extra_data")? {
        match explicit.cast::<PyDict>() {
            Ok(d) => map = convert::dict_to_map(d, "extra_data")?,
            Err(_) if explicit.is_none() => {}
            Err(_) => {
                return Err(errors::invalid(
                    "invalid extra_data: expected a dict",
                    Some("extra_data"),
                ));
            }
        }
    }
    for (k, v) in kwargs.iter() {
        let key: String = k.extract()?;
        if key != "extra_data" {
            map.insert(key, convert::to_json(&v, "extra_data")?);
        }
    }
    Ok(Some(Value::Object(map)))
}

/// One item of `send_many`: a dict with `recipient`, `content` and any of `send`'s keyword
/// arguments (extra data under `extra_data`).
pub fn request(item: &Bound<'_, PyAny>) -> PyResult<SendRequest> {
    let d = item
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err("send_many: each request is a dict"))?;
    let mut o = Options::default();
    let (mut recipient, mut content) = (None, None);
    let extra = PyDict::new(item.py());
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        let none = v.is_none();
        match key.as_str() {
            "recipient" => recipient = Some(v.extract::<String>()?),
            "content" => content = Some(v.extract::<String>()?),
            "related_objects" => o.related_objects = Some(v),
            "tag" => o.tag = v.extract()?,
            "priority" => o.priority = v.extract()?,
            "at" => o.at = Some(v),
            "queued" => o.queued = !none && v.extract()?,
            "idempotency_key" => o.idempotency_key = v.extract()?,
            "time_zone" => o.time_zone = v.extract()?,
            "backend" => o.backend = v.extract()?,
            "predictive" => o.predictive = !none && v.extract()?,
            "is_autodialer" => o.is_autodialer = v.extract()?,
            "allow_duplicate" => o.allow_duplicate = !none && v.extract()?,
            "extra_data" => extra.set_item("extra_data", v)?,
            "gather" => o.gather = Some(v),
            "machine" => o.machine = v.extract()?,
            other => {
                return Err(errors::invalid(
                    format!("send_many: unknown key {other:?} (extra data goes under extra_data)"),
                    Some(other),
                ));
            }
        }
    }
    o.extra = Some(extra);
    let missing = |f: &str| errors::invalid(format!("send_many: a request without {f}"), Some(f));
    Ok(SendRequest {
        recipient: recipient.ok_or_else(|| missing("recipient"))?,
        content: content.ok_or_else(|| missing("content"))?,
        options: o.build()?,
    })
}
