//! The native half of the `worker` Python package (`worker._worker`): PyO3 over worker-core.
//! `python/worker/__init__.py` is the public face; see `bindings/python/README.md`.
mod body;
mod conv;
mod dispatch;
mod embedded;
mod engine;
mod env;
mod pool;
mod project;
mod queue;
mod stores;

use conv::py_to_json;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use worker_core::r2::{R2Conditional, R2RangeRequest};

/// Whether an R2 `onlyIf` condition (the dict a store's `put`/`get` options carry) holds for
/// the current object (`None`: the key has no object), by R2's rules.
#[pyfunction]
#[pyo3(signature = (only_if, current))]
fn r2_conditional_holds(
    only_if: Option<&Bound<'_, PyAny>>,
    current: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    let Some(c) = only_if.filter(|c| !c.is_none()) else {
        return Ok(true);
    };
    let cond = R2Conditional::from_json(&py_to_json(c)?);
    let current = match current.filter(|c| !c.is_none()) {
        Some(o) => {
            let etag: String = conv::required(o, "etag", "an R2 object")?.extract()?;
            let uploaded: f64 = conv::field(o, "uploaded")?
                .map(|u| u.extract())
                .transpose()?
                .unwrap_or(0.0);
            Some((etag, uploaded))
        }
        None => None,
    };
    Ok(cond.holds(current.as_ref().map(|(e, u)| (e.as_str(), *u))))
}

/// The `(offset, length)` an R2 `range` option (a dict, or None for all) covers in an object of
/// `size` bytes; raises ValueError (R2's error text) for a range past the end.
#[pyfunction]
fn r2_resolve_range(range: Option<&Bound<'_, PyAny>>, size: u64) -> PyResult<(u64, u64)> {
    let r = match range.filter(|r| !r.is_none()) {
        Some(r) => R2RangeRequest::from_json(&py_to_json(r)?)
            .resolve(size)
            .map_err(|e| PyValueError::new_err(e.message))?,
        None => return Ok((0, size)),
    };
    Ok((r.offset, r.length))
}

#[pymodule]
fn _worker(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<env::PyEnv>()?;
    m.add_class::<body::PyBody>()?;
    m.add_class::<embedded::PySqliteKv>()?;
    m.add_class::<embedded::PyFsR2>()?;
    m.add_class::<embedded::PySqliteD1>()?;
    m.add_class::<embedded::PyMemoryCache>()?;
    m.add_class::<embedded::PyDirAssets>()?;
    m.add_class::<embedded::PySqliteQueue>()?;
    m.add_class::<project::PyProject>()?;
    m.add_class::<queue::PyQueueBroker>()?;
    m.add_function(wrap_pyfunction!(project::read_config, m)?)?;
    m.add_function(wrap_pyfunction!(r2_conditional_holds, m)?)?;
    m.add_function(wrap_pyfunction!(r2_resolve_range, m)?)?;
    Ok(())
}
