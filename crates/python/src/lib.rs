//! The native half of the `dialout` Python package. Each Python-facing area is one module
//! here that registers its classes; the Python package (`python/dialout`) arranges them into
//! pycall's and pymess's module layout.

mod dialer;

use pyo3::prelude::*;

mod pycall;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    pycall::register(m)?;
    dialer::register(m)?;
    Ok(())
}
