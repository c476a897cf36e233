//! `dialout.Dialer`: opened as the CLI opens it, with pymess's `send`/`send_template` and the
//! rest of the dialer's API. Each method is a thin layer: arguments to the dialer's types,
//! the call with the GIL released, the result or error back to Python.

use std::path::PathBuf;

use dialout_dialer::{
    CancelOutcome, Config, Dialer, Gather, Interactive, MessageFilter, MessageId, NewTemplate,
    RelatedObject, SendRequest, State, Tag, TemplateChange, TemplateRequest,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::message::{PyHistoryEntry, PyMessage};
use super::options::{self, Options};
use super::pages::PyPages;
use super::templates::{self, PyTemplate};
use super::{convert, errors, runtime, wait, worker};

#[pyclass(name = "Dialer", module = "dialout", frozen)]
pub struct PyDialer {
    inner: Dialer,
    url: String,
}

fn message_id(id: &str) -> PyResult<MessageId> {
    id.parse()
        .map_err(|e| errors::invalid(format!("{e}"), Some("id")))
}

#[pymethods]
impl PyDialer {
    /// Opens the database (migrating it) and starts the configured backends, as `dialout`
    /// does: `config` (or `DIALOUT_CONFIG`, or `./dialout.toml`), the `DIALOUT_*`
    /// environment, then `database_url` over all.
    #[new]
    #[pyo3(signature = (database_url=None, config=None))]
    fn new(
        py: Python<'_>,
        database_url: Option<String>,
        config: Option<PathBuf>,
    ) -> PyResult<Self> {
        let config = Config::resolve(config.as_deref(), database_url.as_deref())
            .map_err(|e| errors::invalid(e.to_string(), Some("config")))?;
        let rt = runtime()?;
        // Some backends start tasks when they are built: inside the runtime.
        let inner = py
            .detach(|| {
                let _in = rt.enter();
                Dialer::open(&config)
            })
            .map_err(errors::from_open)?;
        // Shown by repr without a PostgreSQL password.
        let url = match config.database_url().split_once('@') {
            Some((scheme_user, host))
                if scheme_user.contains(':') && scheme_user.matches(':').count() > 1 =>
            {
                let (head, _) = scheme_user.rsplit_once(':').unwrap_or((scheme_user, ""));
                format!("{head}:***@{host}")
            }
            _ => config.database_url().to_string(),
        };
        Ok(PyDialer { inner, url })
    }

    fn __repr__(&self) -> String {
        format!("<Dialer {}>", self.url)
    }

    /// pymess's `send`: stores the message and publishes it (unless queued, scheduled with
    /// `at`, or `batch_sending` is configured). Extra keyword arguments are the extra data.
    #[pyo3(signature = (recipient, content, related_objects=None, tag=None, *, priority=None,
        at=None, queued=false, idempotency_key=None, time_zone=None, backend=None,
        predictive=false, is_autodialer=None, allow_duplicate=false, send_immediately=None,
        gather=None, machine=None, **extra_data))]
    #[allow(clippy::too_many_arguments)]
    fn send<'py>(
        &self,
        py: Python<'py>,
        recipient: String,
        content: String,
        related_objects: Option<Bound<'py, PyAny>>,
        tag: Option<String>,
        priority: Option<i64>,
        at: Option<Bound<'py, PyAny>>,
        queued: bool,
        idempotency_key: Option<String>,
        time_zone: Option<String>,
        backend: Option<String>,
        predictive: bool,
        is_autodialer: Option<bool>,
        allow_duplicate: bool,
        send_immediately: Option<bool>,
        gather: Option<Bound<'py, PyAny>>,
        machine: Option<String>,
        extra_data: Option<Bound<'py, PyDict>>,
    ) -> PyResult<PyMessage> {
        let _ = send_immediately;
        let o = Options {
            related_objects,
            tag,
            priority,
            at,
            queued,
            idempotency_key,
            time_zone,
            backend,
            predictive,
            is_autodialer,
            allow_duplicate,
            extra: extra_data,
            gather,
            machine,
        };
        let request = SendRequest {
            recipient,
            content,
            options: o.build()?,
        };
        let sent = wait(py, self.inner.send(request))?.map_err(errors::from_send)?;
        Ok(PyMessage::new(sent.message, sent.existing))
    }

    /// pymess's `send_template`: renders the stored template `slug` with `context_data` and
    /// sends it. A template that refuses (inactive, a duplicate) raises `Refused`.
    #[pyo3(signature = (recipient, slug, context_data=None, related_objects=None, tag=None, *,
        priority=None, at=None, queued=false, idempotency_key=None, time_zone=None,
        backend=None, predictive=false, is_autodialer=None, allow_duplicate=false,
        send_immediately=None, extra_data=None, gather=None, machine=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_template<'py>(
        &self,
        py: Python<'py>,
        recipient: String,
        slug: String,
        context_data: Option<Bound<'py, PyAny>>,
        related_objects: Option<Bound<'py, PyAny>>,
        tag: Option<String>,
        priority: Option<i64>,
        at: Option<Bound<'py, PyAny>>,
        queued: bool,
        idempotency_key: Option<String>,
        time_zone: Option<String>,
        backend: Option<String>,
        predictive: bool,
        is_autodialer: Option<bool>,
        allow_duplicate: bool,
        send_immediately: Option<bool>,
        extra_data: Option<Bound<'py, PyAny>>,
        gather: Option<Bound<'py, PyAny>>,
        machine: Option<String>,
    ) -> PyResult<PyMessage> {
        let _ = send_immediately;
        let extra = PyDict::new(py);
        if let Some(x) = extra_data {
            extra.set_item("extra_data", x)?;
        }
        let o = Options {
            related_objects,
            tag,
            priority,
            at,
            queued,
            idempotency_key,
            time_zone,
            backend,
            predictive,
            is_autodialer,
            allow_duplicate,
            extra: Some(extra),
            gather,
            machine,
        };
        let context = match &context_data {
            Some(c) => convert::to_json(c, "context_data")?,
            None => serde_json::Value::Null,
        };
        let request = TemplateRequest {
            recipient,
            slug,
            context,
            options: o.build()?,
        };
        let sent = wait(py, self.inner.send_template(request))?.map_err(errors::from_send)?;
        Ok(PyMessage::new(sent.message, sent.existing))
    }

    /// Stores every request in one transaction (all or none) and publishes them. Each
    /// request is a dict: `recipient`, `content` and any keyword argument of `send`
    /// (extra data under `extra_data`).
    fn send_many(&self, py: Python<'_>, requests: Bound<'_, PyAny>) -> PyResult<Vec<PyMessage>> {
        let batch = requests
            .try_iter()?
            .map(|r| options::request(&r?))
            .collect::<PyResult<Vec<_>>>()?;
        let sent = wait(py, self.inner.send_many(batch))?.map_err(errors::from_send)?;
        Ok(sent
            .into_iter()
            .map(|s| PyMessage::new(s.message, s.existing))
            .collect())
    }

    /// The message with this id, or None.
    fn message(&self, py: Python<'_>, id: &str) -> PyResult<Option<PyMessage>> {
        let id = message_id(id)?;
        let m = wait(py, self.inner.message(id))?.map_err(errors::from_api)?;
        Ok(m.map(|m| PyMessage::new(m, false)))
    }

    /// The message's state changes, oldest first (the first is its creation).
    fn history(&self, py: Python<'_>, id: &str) -> PyResult<Vec<PyHistoryEntry>> {
        let id = message_id(id)?;
        let h = wait(py, self.inner.history(id))?.map_err(errors::from_api)?;
        Ok(h.into_iter()
            .map(|inner| PyHistoryEntry { inner })
            .collect())
    }

    /// Pages (lists) of messages, newest first, matching every filter given.
    #[pyo3(signature = (*, state=None, tag=None, related=None, recipient=None, since=None,
        until=None, backend=None, page_size=100))]
    #[allow(clippy::too_many_arguments)]
    fn messages(
        &self,
        state: Option<Bound<'_, PyAny>>,
        tag: Option<String>,
        related: Option<String>,
        recipient: Option<String>,
        since: Option<Bound<'_, PyAny>>,
        until: Option<Bound<'_, PyAny>>,
        backend: Option<String>,
        page_size: usize,
    ) -> PyResult<PyPages> {
        if page_size == 0 {
            return Err(errors::invalid(
                "invalid page_size 0: must be at least 1",
                Some("page_size"),
            ));
        }
        let bad = |field: &'static str| {
            move |e: String| errors::invalid(format!("invalid {field}: {e}"), Some(field))
        };
        let filter = MessageFilter {
            state: state
                .as_ref()
                .filter(|s| !s.is_none())
                .map(state_of)
                .transpose()?,
            tag: tag
                .as_deref()
                .map(|t| Tag::new(t).map_err(|e| bad("tag")(e.to_string())))
                .transpose()?,
            related: related
                .as_deref()
                .map(|r| {
                    r.parse::<RelatedObject>()
                        .map_err(|e| bad("related")(e.to_string()))
                })
                .transpose()?,
            recipient: recipient
                .map(|r| dialout_dialer::PhoneNumber::parse(&r, None).map_or(r, |p| p.to_string())),
            created_since: since
                .as_ref()
                .map(|s| convert::instant(s, "since"))
                .transpose()?,
            created_before: until
                .as_ref()
                .map(|u| convert::instant(u, "until"))
                .transpose()?,
            backend,
            limit: Some(page_size),
            ..MessageFilter::default()
        };
        Ok(PyPages::new(self.inner.clone(), filter))
    }

    /// Cancels a message: one never published never will be; one handed over is withdrawn
    /// where its backend can. Raises `Refused` for a final message and `Failed` when the
    /// backend could not withdraw it.
    fn cancel(&self, py: Python<'_>, id: &str) -> PyResult<PyMessage> {
        let id = message_id(id)?;
        let out = wait(py, self.inner.cancel(id))?.map_err(errors::from_api)?;
        match out {
            CancelOutcome::Cancelled { message } | CancelOutcome::Withdrawn { message } => {
                Ok(PyMessage::new(message, false))
            }
            CancelOutcome::TooLate { reason, .. } => Err(errors::failed(
                format!("message {id} not cancelled: {reason}"),
                Some("id"),
            )),
            CancelOutcome::Unsupported { message } => Err(errors::failed(
                format!(
                    "message {id} not cancelled: backend {:?} cannot withdraw messages",
                    message.backend
                ),
                Some("id"),
            )),
        }
    }

    /// Sends a message again as a new one linked to it (`resent_from`).
    fn resend(&self, py: Python<'_>, id: &str) -> PyResult<PyMessage> {
        let id = message_id(id)?;
        let m = wait(py, self.inner.resend(id))?.map_err(errors::from_api)?;
        Ok(PyMessage::new(m, false))
    }

    #[pyo3(signature = (slug, body, is_active=true, is_allowed_duplicate_messages=true, *,
        gather=None, machine=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_template(
        &self,
        py: Python<'_>,
        slug: String,
        body: String,
        is_active: bool,
        is_allowed_duplicate_messages: bool,
        gather: Option<Bound<'_, PyAny>>,
        machine: Option<String>,
    ) -> PyResult<PyTemplate> {
        let new = NewTemplate {
            slug,
            body,
            active: is_active,
            allow_duplicates: is_allowed_duplicate_messages,
            interactive: Interactive {
                gather: gather.as_ref().map(template_gather).transpose()?,
                machine: machine.as_deref().map(options::machine).transpose()?,
            },
        };
        templates::add(py, &self.inner, new)
    }

    #[pyo3(signature = (slug, *, body=None, is_active=None, is_allowed_duplicate_messages=None,
        gather=None, machine=None))]
    #[allow(clippy::too_many_arguments)]
    fn update_template(
        &self,
        py: Python<'_>,
        slug: &str,
        body: Option<String>,
        is_active: Option<bool>,
        is_allowed_duplicate_messages: Option<bool>,
        gather: Option<Bound<'_, PyAny>>,
        machine: Option<String>,
    ) -> PyResult<PyTemplate> {
        let change = TemplateChange {
            body,
            active: is_active,
            allow_duplicates: is_allowed_duplicate_messages,
            gather: gather.as_ref().map(template_gather).transpose()?.map(Some),
            machine: machine
                .as_deref()
                .map(options::machine)
                .transpose()?
                .map(Some),
        };
        templates::update(py, &self.inner, slug, change)
    }

    /// The template with this slug, or None.
    fn template(&self, py: Python<'_>, slug: &str) -> PyResult<Option<PyTemplate>> {
        templates::get(py, &self.inner, slug)
    }

    fn templates(&self, py: Python<'_>) -> PyResult<Vec<PyTemplate>> {
        templates::list(py, &self.inner)
    }

    fn remove_template(&self, py: Python<'_>, slug: &str) -> PyResult<()> {
        templates::remove(py, &self.inner, slug)
    }

    /// Delivers in this process: with `once`, what is due now (then returns); with
    /// `seconds`, for that long; otherwise until KeyboardInterrupt. Returns the counts.
    #[pyo3(signature = (*, once=false, seconds=None, interval=None, status_interval=None,
        no_status=false, batch_size=None))]
    #[allow(clippy::too_many_arguments)]
    fn worker<'py>(
        &self,
        py: Python<'py>,
        once: bool,
        seconds: Option<f64>,
        interval: Option<f64>,
        status_interval: Option<f64>,
        no_status: bool,
        batch_size: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let run = worker::Run {
            once,
            seconds,
            interval,
            status_interval,
            no_status,
            batch_size,
        };
        worker::run(py, &self.inner, run)
    }
}

/// A `State`, its code, or its name.
fn state_of(obj: &Bound<'_, PyAny>) -> PyResult<State> {
    let bad = |what: String| errors::invalid(format!("invalid state {what}"), Some("state"));
    if let Ok(s) = obj.cast::<PyString>() {
        let name = s.to_cow()?;
        return State::parse(&name).ok_or_else(|| bad(format!("{name:?}")));
    }
    let code: i64 = obj
        .extract()
        .map_err(|_| bad("(expected a State, code or name)".into()))?;
    State::from_code(code).ok_or_else(|| bad(code.to_string()))
}

/// A template's `gather` dict, checked at once (a template is checked when saved).
fn template_gather(g: &Bound<'_, PyAny>) -> PyResult<Gather> {
    Gather::try_from(options::gather_spec(g)?)
        .map_err(|e| errors::invalid(e.to_string(), Some("gather")))
}
