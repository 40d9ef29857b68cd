//! `worker._worker.Engine`: the engine, its source loader, and the calls that run workers. The
//! Python layer (`worker/__init__.py`) turns the plain tuples returned here into `Response`
//! objects and exceptions.
use crate::conv::{error_message, field, headers, headers_to_py, required, to_bytes};
use crate::dispatch::runtime_fn;
use crate::env::PyEnv;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};
use worker_core::{
    Engine, EngineConfig, Env, ExecuteResult, FunctionResult, LogEntry, Module, ModuleType,
    SourceLoader, WorkerError, WorkerRequest, WorkerSource,
};

/// Drives `execute_async` calls: each waits for its reply here and hands the result to the
/// caller's asyncio loop, so no Python thread waits.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wk-python-async")
            .enable_all()
            .build()
            .expect("start the tokio runtime for execute_async")
    })
}

// ---------------------------------------------------------------------- sources

fn module_type(name: &str) -> PyResult<ModuleType> {
    Ok(match name {
        "esm" | "module" | "js" => ModuleType::EsModule,
        "script" => ModuleType::Script,
        "text" => ModuleType::Text,
        "json" => ModuleType::Json,
        "data" => ModuleType::Data,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown module type {other:?} (esm, script, text, json or data)"
            )));
        }
    })
}

/// A worker's code from Python: a `str`/`bytes` script (module or service-worker syntax,
/// detected as wrangler does) or a `WorkerSource` with `main_module` and `modules`.
pub fn worker_source(v: &Bound<'_, PyAny>) -> PyResult<WorkerSource> {
    if v.is_instance_of::<PyString>() || v.is_instance_of::<PyBytes>() {
        let code = String::from_utf8(to_bytes(v)?)
            .map_err(|_| PyValueError::new_err("worker code must be UTF-8"))?;
        return Ok(WorkerSource::detect("worker.js", code));
    }
    let mut modules = Vec::new();
    for m in required(v, "modules", "a WorkerSource")?.try_iter()? {
        let m = m?;
        let name: String = required(&m, "name", "a Module")?.extract()?;
        let content = to_bytes(&required(&m, "content", "a Module")?)?;
        let kind = match field(&m, "type")? {
            Some(t) => module_type(&t.extract::<String>()?)?,
            None if worker_core::engine::has_module_syntax(&String::from_utf8_lossy(&content)) => {
                ModuleType::EsModule
            }
            None => ModuleType::Script,
        };
        modules.push(Module {
            name,
            kind,
            content,
        });
    }
    let main_module = match field(v, "main_module")? {
        Some(m) => m.extract()?,
        None => modules
            .first()
            .map(|m| m.name.clone())
            .ok_or_else(|| PyValueError::new_err("a WorkerSource needs at least one module"))?,
    };
    Ok(WorkerSource {
        main_module,
        modules,
    })
}

/// A Python source loader: a callable `(site_id, deploy_key)` or an object with `load`, plain
/// or `async def` (awaited on the package's private loop: the engine asks from its own thread).
struct PyLoader(Option<Arc<Py<PyAny>>>);

impl SourceLoader for PyLoader {
    fn load(&self, site_id: &str, deploy_key: &str) -> Result<WorkerSource, String> {
        let Some(loader) = &self.0 else {
            return Err(
                "the engine has no source loader (give one, or use compile_and_cache)".into(),
            );
        };
        Python::attach(|py| {
            let f = loader.bind(py);
            let result = if f.hasattr("load")? {
                f.call_method1("load", (site_id, deploy_key))?
            } else {
                f.call1((site_id, deploy_key))?
            };
            let result = if result.hasattr("__await__")? {
                runtime_fn(py, "run_sync")?.call1((result,))?
            } else {
                result
            };
            if result.is_none() {
                return Err(PyValueError::new_err("the source loader returned None"));
            }
            worker_source(&result)
        })
        .map_err(|e: PyErr| Python::attach(|py| error_message(py, &e)))
    }
}

// ---------------------------------------------------------------------- results

pub fn logs_to_py<'py>(py: Python<'py>, logs: &[LogEntry]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(
        py,
        logs.iter().map(|l| (l.level.as_str(), l.message.as_str())),
    )
}

pub fn error_to_py<'py>(py: Python<'py>, e: &Option<WorkerError>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match e {
        None => py.None().into_bound(py),
        Some(e) => (e.kind.as_str(), &e.name, &e.message, &e.stack, &e.location)
            .into_pyobject(py)?
            .into_any(),
    })
}

/// `(status, status_text, headers, body, logs, duration_s, error, pass_through)`.
pub fn result_to_py<'py>(py: Python<'py>, r: &ExecuteResult) -> PyResult<Bound<'py, PyTuple>> {
    (
        r.status,
        &r.status_text,
        headers_to_py(py, &r.headers)?,
        PyBytes::new(py, &r.body),
        logs_to_py(py, &r.logs)?,
        r.duration.as_secs_f64(),
        error_to_py(py, &r.error)?,
        r.pass_through,
    )
        .into_pyobject(py)
}

/// `(data_json | None, logs, duration_s, error)`.
fn function_to_py<'py>(py: Python<'py>, r: &FunctionResult) -> PyResult<Bound<'py, PyTuple>> {
    (
        r.data.as_deref(),
        logs_to_py(py, &r.logs)?,
        r.duration.as_secs_f64(),
        error_to_py(py, &r.error)?,
    )
        .into_pyobject(py)
}

/// A `worker.Request` (or anything with `method`, `url`, `headers`, `body`).
pub fn request(v: &Bound<'_, PyAny>) -> PyResult<WorkerRequest> {
    Ok(WorkerRequest {
        method: field(v, "method")?
            .map(|m| m.extract())
            .transpose()?
            .unwrap_or_else(|| "GET".to_string()),
        url: required(v, "url", "a Request")?.extract()?,
        headers: headers(field(v, "headers")?.as_ref())?,
        body: field(v, "body")?
            .map(|b| to_bytes(&b))
            .transpose()?
            .unwrap_or_default(),
    })
}

/// An asyncio future on `lp` that `work` settles from the runtime, with its output converted by
/// `to_py` (with the GIL taken).
pub fn future_on_loop<'py, T>(
    lp: &Bound<'py, PyAny>,
    work: impl Future<Output = T> + Send + 'static,
    to_py: impl for<'a> FnOnce(Python<'a>, &T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>> {
    let fut = lp.call_method0("create_future")?;
    let (lp_owned, fut_owned) = (lp.clone().unbind(), fut.clone().unbind());
    runtime().spawn(async move {
        let output = work.await;
        Python::attach(|py| settle_on_loop(&lp_owned, &fut_owned, to_py(py, &output)));
    });
    Ok(fut)
}

/// Hands `value` to the asyncio future `fut` on its loop.
fn settle_on_loop(lp: &Py<PyAny>, fut: &Py<PyAny>, value: PyResult<Bound<'_, PyAny>>) {
    Python::attach(|py| {
        let (v, e) = match value {
            Ok(v) => (v.unbind(), py.None()),
            Err(e) => (py.None(), e.value(py).clone().into_any().unbind()),
        };
        let settle = runtime_fn(py, "settle");
        let sent = settle.and_then(|s| {
            lp.bind(py)
                .call_method1("call_soon_threadsafe", (s, fut, v, e))
        });
        if let Err(err) = sent {
            // The loop is closed: nobody waits for this result any more.
            let _ = err;
        }
    });
}

// ---------------------------------------------------------------------- the engine

#[pyclass(name = "Engine", module = "worker._worker", frozen)]
pub struct PyEngine {
    engine: RwLock<Option<Engine>>,
}

impl PyEngine {
    pub fn engine(&self) -> PyResult<Engine> {
        self.engine
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the engine is closed"))
    }
}

fn env_for(
    py: Python<'_>,
    env: Option<&Bound<'_, PyEnv>>,
    lp: Option<&Bound<'_, PyAny>>,
) -> PyResult<Arc<Env>> {
    match env {
        Some(e) => e.get().for_call(py, lp),
        None => Ok(Arc::new(Env::new())),
    }
}

pub fn running_loop_or_err<'py>(py: Python<'py>, call: &str) -> PyResult<Bound<'py, PyAny>> {
    crate::env::running_loop(py)?
        .ok_or_else(|| PyRuntimeError::new_err(format!("{call} needs a running asyncio loop")))
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (source_loader=None, *, pool_size=None, memory_limit_mb=None,
                        cpu_time_ms=None, wall_time_ms=None, max_subrequests=None,
                        max_response_bytes=None, max_resident_workers=None, warm_isolates=None,
                        allow_code_generation=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source_loader: Option<Py<PyAny>>,
        pool_size: Option<usize>,
        memory_limit_mb: Option<usize>,
        cpu_time_ms: Option<u64>,
        wall_time_ms: Option<u64>,
        max_subrequests: Option<u32>,
        max_response_bytes: Option<usize>,
        max_resident_workers: Option<usize>,
        warm_isolates: Option<usize>,
        allow_code_generation: Option<bool>,
    ) -> PyResult<Self> {
        let mut c = EngineConfig::default();
        c.pool_size = pool_size.unwrap_or(c.pool_size);
        c.memory_limit_mb = memory_limit_mb.unwrap_or(c.memory_limit_mb);
        c.cpu_time_ms = cpu_time_ms.unwrap_or(c.cpu_time_ms);
        c.wall_time_ms = wall_time_ms.unwrap_or(c.wall_time_ms);
        c.max_subrequests = max_subrequests.unwrap_or(c.max_subrequests);
        c.max_response_bytes = max_response_bytes.unwrap_or(c.max_response_bytes);
        c.max_resident_workers = max_resident_workers.unwrap_or(c.max_resident_workers);
        c.warm_isolates = warm_isolates.unwrap_or(c.warm_isolates);
        c.allow_code_generation = allow_code_generation.unwrap_or(c.allow_code_generation);
        let loader = Arc::new(PyLoader(source_loader.map(Arc::new)));
        let engine = py
            .detach(|| Engine::new(c, loader))
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(PyEngine {
            engine: RwLock::new(Some(engine)),
        })
    }

    /// Runs the fetch handler; returns the raw result tuple (see `result_to_py`).
    #[pyo3(signature = (site_id, deploy_key, env, request))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        site_id: &str,
        deploy_key: &str,
        env: Option<&Bound<'py, PyEnv>>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let engine = self.engine()?;
        let env = env_for(py, env, None)?;
        let req = self::request(request)?;
        let r = py.detach(|| engine.execute_blocking(site_id, deploy_key, env, req));
        result_to_py(py, &r)
    }

    /// Like `execute`, but returns an asyncio future of the raw result tuple.
    #[pyo3(signature = (site_id, deploy_key, env, request))]
    fn execute_async<'py>(
        &self,
        py: Python<'py>,
        site_id: String,
        deploy_key: String,
        env: Option<&Bound<'py, PyEnv>>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        let lp = running_loop_or_err(py, "execute_async")?;
        let env = env_for(py, env, Some(&lp))?;
        let req = self::request(request)?;
        future_on_loop(
            &lp,
            async move { engine.execute(&site_id, &deploy_key, env, req).await },
            |py, r| result_to_py(py, r).map(Bound::into_any),
        )
    }

    /// Calls a named export with `(env, ...args)`; `args_json` is a JSON array.
    fn execute_function<'py>(
        &self,
        py: Python<'py>,
        site_id: &str,
        deploy_key: &str,
        env: Option<&Bound<'py, PyEnv>>,
        name: &str,
        args_json: &str,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let engine = self.engine()?;
        let env = env_for(py, env, None)?;
        let r = py
            .detach(|| engine.execute_function_blocking(site_id, deploy_key, env, name, args_json));
        function_to_py(py, &r)
    }

    fn execute_function_async<'py>(
        &self,
        py: Python<'py>,
        site_id: String,
        deploy_key: String,
        env: Option<&Bound<'py, PyEnv>>,
        name: String,
        args_json: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        let lp = running_loop_or_err(py, "execute_function_async")?;
        let env = env_for(py, env, Some(&lp))?;
        future_on_loop(
            &lp,
            async move {
                engine
                    .execute_function(&site_id, &deploy_key, env, &name, &args_json)
                    .await
            },
            |py, r| function_to_py(py, r).map(Bound::into_any),
        )
    }

    /// Delivers `messages` as one batch of `queue` to the worker's `queue()` handler; returns
    /// the raw queue result tuple (see `queue::result_to_py`).
    #[pyo3(signature = (site_id, deploy_key, env, queue, messages))]
    fn execute_queue<'py>(
        &self,
        py: Python<'py>,
        site_id: &str,
        deploy_key: &str,
        env: Option<&Bound<'py, PyEnv>>,
        queue: &str,
        messages: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let engine = self.engine()?;
        let batch = crate::queue::batch(queue, messages)?;
        let env = env_for(py, env, None)?;
        let r = py.detach(|| engine.queue_blocking(site_id, deploy_key, env, batch));
        crate::queue::result_to_py(py, &r)
    }

    /// Like `execute_queue`, but returns an asyncio future of the raw result tuple.
    #[pyo3(signature = (site_id, deploy_key, env, queue, messages))]
    fn execute_queue_async<'py>(
        &self,
        py: Python<'py>,
        site_id: String,
        deploy_key: String,
        env: Option<&Bound<'py, PyEnv>>,
        queue: &str,
        messages: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine()?;
        let lp = running_loop_or_err(py, "execute_queue_async")?;
        let batch = crate::queue::batch(queue, messages)?;
        let env = env_for(py, env, Some(&lp))?;
        future_on_loop(
            &lp,
            async move { engine.queue(&site_id, &deploy_key, env, batch).await },
            |py, r| crate::queue::result_to_py(py, r).map(Bound::into_any),
        )
    }

    /// Compiles `source` for (site, deploy) and returns `(code_cache, None)`, or
    /// `(None, error)` with the error tuple of a failed result.
    fn compile_and_cache<'py>(
        &self,
        py: Python<'py>,
        site_id: &str,
        deploy_key: &str,
        source: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let engine = self.engine()?;
        let source = worker_source(source)?;
        let r = py.detach(|| engine.compile_and_cache(site_id, deploy_key, source));
        match r {
            Ok(cache) => (PyBytes::new(py, &cache), py.None()).into_pyobject(py),
            Err(e) => (py.None(), error_to_py(py, &Some(e))?).into_pyobject(py),
        }
    }

    /// Stops the engine: in-flight requests finish (their Python stores can still run, as the
    /// GIL is released meanwhile), later calls raise.
    fn close(&self, py: Python<'_>) {
        let engine = self.engine.write().unwrap().take();
        if let Some(e) = engine {
            py.detach(move || {
                e.shutdown();
                drop(e);
            });
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        self.engine.read().unwrap().is_none()
    }

    #[staticmethod]
    fn v8_version() -> String {
        Engine::v8_version()
    }
}

impl Drop for PyEngine {
    fn drop(&mut self) {
        if let Some(e) = self.engine.get_mut().unwrap().take() {
            // Shutting down waits for in-flight work, which may need the GIL for a Python store.
            Python::attach(|py| py.detach(move || drop(e)));
        }
    }
}
