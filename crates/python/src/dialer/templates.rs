//! `dialout.Template`, with pymess's field names (`is_active`,
//! `is_allowed_duplicate_messages`), and the template methods of `Dialer`.

use dialout_dialer::{Dialer, Error, NewTemplate, Template, TemplateChange};
use pyo3::prelude::*;

use super::{errors, wait};

#[pyclass(name = "Template", module = "dialout", frozen)]
pub struct PyTemplate {
    inner: Template,
}

#[pymethods]
impl PyTemplate {
    #[getter]
    fn id(&self) -> i64 {
        self.inner.id
    }
    #[getter]
    fn slug(&self) -> &str {
        &self.inner.slug
    }
    #[getter]
    fn body(&self) -> &str {
        &self.inner.body
    }
    #[getter]
    fn is_active(&self) -> bool {
        self.inner.active
    }
    #[getter]
    fn is_allowed_duplicate_messages(&self) -> bool {
        self.inner.allow_duplicates
    }
    #[getter]
    fn created_at(&self) -> jiff::Timestamp {
        self.inner.created_at
    }
    #[getter]
    fn changed_at(&self) -> jiff::Timestamp {
        self.inner.changed_at
    }
    fn __repr__(&self) -> String {
        format!("<Template {:?}>", self.inner.slug)
    }
}

fn wrap(r: Result<Template, Error>) -> PyResult<PyTemplate> {
    r.map(|inner| PyTemplate { inner })
        .map_err(errors::from_api)
}

pub fn add(py: Python<'_>, d: &Dialer, new: NewTemplate) -> PyResult<PyTemplate> {
    wrap(wait(py, d.add_template(new))?)
}

pub fn update(
    py: Python<'_>,
    d: &Dialer,
    slug: &str,
    change: TemplateChange,
) -> PyResult<PyTemplate> {
    wrap(wait(py, d.update_template(slug, change))?)
}

/// None when no template has this slug (as `Dialer.message` for an id).
pub fn get(py: Python<'_>, d: &Dialer, slug: &str) -> PyResult<Option<PyTemplate>> {
    match wait(py, d.template(slug))? {
        Err(Error::NoTemplate(_)) => Ok(None),
        other => wrap(other).map(Some),
    }
}

pub fn list(py: Python<'_>, d: &Dialer) -> PyResult<Vec<PyTemplate>> {
    let all = wait(py, d.templates())?.map_err(errors::from_api)?;
    Ok(all.into_iter().map(|inner| PyTemplate { inner }).collect())
}

pub fn remove(py: Python<'_>, d: &Dialer, slug: &str) -> PyResult<()> {
    wait(py, d.remove_template(slug))?.map_err(errors::from_api)
}
