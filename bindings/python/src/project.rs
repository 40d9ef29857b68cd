//! `worker.Project`: a wrangler project (config, modules, bindings with embedded stores, static
//! assets, queue consumers) running in an engine, as `wk serve` runs it, with any binding
//! replaced by a store from an `Env`.
use crate::conv::json_to_py;
use crate::engine::{PyEngine, future_on_loop, request, result_to_py, running_loop_or_err};
use crate::env::PyEnv;
use crate::queue::{check_not_in_callback, observer};
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use worker_core::project::{Project, ProjectOptions, QueueObserver};

#[pyclass(name = "Project", module = "worker._worker", frozen)]
pub struct PyProject {
    project: RwLock<Option<Arc<Project>>>,
    name: String,
    warnings: Vec<String>,
}

impl PyProject {
    fn project(&self) -> PyResult<Arc<Project>> {
        self.project
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the project is closed"))
    }
}

#[pymethods]
impl PyProject {
    /// Opens the project (returns `(project, None)`, or `(None, error_tuple)` when its worker
    /// does not load). Python stores in `env` keep the loop they were registered on;
    /// `on_queue_event` gets the queue consumers' events as `queue::observer` delivers them.
    #[staticmethod]
    #[pyo3(signature = (engine, path, state_dir=None, env=None, on_queue_event=None))]
    fn open<'py>(
        py: Python<'py>,
        engine: &Bound<'py, PyEngine>,
        path: PathBuf,
        state_dir: Option<PathBuf>,
        env: Option<&Bound<'py, PyEnv>>,
        on_queue_event: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let engine = engine.get().engine()?;
        let options = ProjectOptions {
            state_dir,
            env: env.map(|e| (*e.get().base()).clone()).unwrap_or_default(),
            on_queue_event: on_queue_event
                .filter(|cb| !cb.is_none(py))
                .map(|cb| Arc::new(observer(cb)) as QueueObserver),
        };
        match py.detach(|| Project::open(&engine, &path, options)) {
            Ok(p) => {
                let name = p.name().to_string();
                let warnings = p.spec().warnings.clone();
                let p = PyProject {
                    project: RwLock::new(Some(Arc::new(p))),
                    name,
                    warnings,
                };
                (Py::new(py, p)?, py.None()).into_pyobject(py)
            }
            Err(e) => (
                py.None(),
                (e.kind.as_str(), e.name, e.message, e.stack, e.location),
            )
                .into_pyobject(py),
        }
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// What the config asks for that libworker ignores, one sentence each.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// One request through static assets and the worker; the raw result tuple of `execute`.
    fn fetch<'py>(
        &self,
        py: Python<'py>,
        req: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let project = self.project()?;
        let req = request(req)?;
        let r = py.detach(|| project.fetch_blocking(req));
        result_to_py(py, &r)
    }

    fn fetch_async<'py>(
        &self,
        py: Python<'py>,
        req: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let project = self.project()?;
        let lp = running_loop_or_err(py, "fetch_async")?;
        let req = request(req)?;
        future_on_loop(&lp, async move { project.fetch(req).await }, |py, r| {
            result_to_py(py, r).map(Bound::into_any)
        })
    }

    /// Stops the queue consumers (after the batches in flight); later fetches raise.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        check_not_in_callback("the project")?;
        let p = self.project.write().unwrap().take();
        if let Some(p) = p {
            py.detach(move || {
                p.close();
                drop(p);
            });
        }
        Ok(())
    }
}

impl Drop for PyProject {
    fn drop(&mut self) {
        if let Some(p) = self.project.get_mut().unwrap().take() {
            // Closing waits for queue batches, whose worker may call a Python store.
            Python::attach(|py| py.detach(move || drop(p)));
        }
    }
}

/// A wrangler config (`.jsonc`, `.json` or `.toml`) parsed into Python values.
#[pyfunction]
pub fn read_config<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let v = worker_core::project::read_config(&path).map_err(PyOSError::new_err)?;
    json_to_py(py, &v)
}
