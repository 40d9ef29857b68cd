//! `worker.Env`: vars, secrets, JSON vars and the stores behind a worker's bindings. Each store
//! is one of the embedded stores (`worker.SqliteKv`, ...) or any Python object with the
//! binding's protocol methods, plain or `async def`.
use crate::conv::py_to_json;
use crate::dispatch::PyTarget;
use crate::embedded::{PyDirAssets, PyFsR2, PyMemoryCache, PySqliteD1, PySqliteKv, PySqliteQueue};
use crate::stores::{PyAssets, PyCache, PyD1, PyKv, PyQueue, PyR2};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;
use std::sync::Arc;
use worker_core::Env;
use worker_core::assets::AssetsFetcher;
use worker_core::cache::CacheStore;
use worker_core::d1::D1Database;
use worker_core::kv::KvStore;
use worker_core::queue::QueueSender;
use worker_core::r2::R2Store;

/// A binding's store: one of ours, or a Python object to call.
enum Slot<T: ?Sized> {
    Native(Arc<T>),
    Python(PyTarget),
}

impl<T: ?Sized> Clone for Slot<T> {
    fn clone(&self) -> Self {
        match self {
            Slot::Native(n) => Slot::Native(n.clone()),
            Slot::Python(t) => Slot::Python(t.clone()),
        }
    }
}

#[derive(Default)]
struct Stores {
    kv: Vec<(String, Slot<dyn KvStore>)>,
    r2: Vec<(String, Slot<dyn R2Store>)>,
    d1: Vec<(String, Slot<dyn D1Database>)>,
    assets: Vec<(String, Slot<dyn AssetsFetcher>)>,
    queues: Vec<(String, Slot<dyn QueueSender>)>,
    cache: Option<Slot<dyn CacheStore>>,
}

#[pyclass(name = "Env", module = "worker._worker", frozen)]
pub struct PyEnv {
    stores: Stores,
    /// The env with every Python store on the loop it was registered on.
    base: Arc<Env>,
    has_python: bool,
}

fn strings(d: Option<&Bound<'_, PyDict>>) -> PyResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(d) = d {
        for (k, v) in d.iter() {
            out.insert(k.extract()?, v.str()?.to_string());
        }
    }
    Ok(out)
}

/// The asyncio loop running on this thread, if any.
pub fn running_loop(py: Python<'_>) -> PyResult<Option<Bound<'_, PyAny>>> {
    let l = py.import("asyncio")?.call_method0("_get_running_loop")?;
    Ok((!l.is_none()).then_some(l))
}

fn slots<T: ?Sized>(
    d: Option<&Bound<'_, PyDict>>,
    lp: &Option<Py<PyAny>>,
    native: impl Fn(&Bound<'_, PyAny>) -> Option<Arc<T>>,
) -> PyResult<Vec<(String, Slot<T>)>> {
    let mut out = Vec::new();
    if let Some(d) = d {
        for (k, v) in d.iter() {
            out.push((k.extract()?, slot(&v, lp, &native)?));
        }
    }
    Ok(out)
}

fn slot<T: ?Sized>(
    v: &Bound<'_, PyAny>,
    lp: &Option<Py<PyAny>>,
    native: impl Fn(&Bound<'_, PyAny>) -> Option<Arc<T>>,
) -> PyResult<Slot<T>> {
    if v.is_none() {
        return Err(PyTypeError::new_err("a binding's store cannot be None"));
    }
    Ok(match native(v) {
        Some(s) => Slot::Native(s),
        None => Slot::Python(PyTarget::new(
            v.clone().unbind(),
            lp.as_ref().map(|l| l.clone_ref(v.py())),
        )),
    })
}

impl Stores {
    fn has_python(&self) -> bool {
        fn any<T: ?Sized>(v: &[(String, Slot<T>)]) -> bool {
            v.iter().any(|(_, s)| matches!(s, Slot::Python(_)))
        }
        any(&self.kv)
            || any(&self.r2)
            || any(&self.d1)
            || any(&self.assets)
            || any(&self.queues)
            || matches!(self.cache, Some(Slot::Python(_)))
    }

    /// Fills `env`'s bindings, each Python store with the loop `pick` chooses for it.
    fn fill(&self, env: &mut Env, pick: &dyn Fn(&PyTarget) -> PyTarget) {
        fn each<T: ?Sized>(
            from: &[(String, Slot<T>)],
            to: &mut BTreeMap<String, Arc<T>>,
            wrap: impl Fn(PyTarget) -> Arc<T>,
            pick: &dyn Fn(&PyTarget) -> PyTarget,
        ) {
            for (name, s) in from {
                let store = match s {
                    Slot::Native(n) => n.clone(),
                    Slot::Python(t) => wrap(pick(t)),
                };
                to.insert(name.clone(), store);
            }
        }
        each(&self.kv, &mut env.kv, |t| Arc::new(PyKv(t)), pick);
        each(&self.r2, &mut env.r2, |t| Arc::new(PyR2(t)), pick);
        each(&self.d1, &mut env.d1, |t| Arc::new(PyD1(t)), pick);
        each(
            &self.assets,
            &mut env.assets,
            |t| Arc::new(PyAssets(t)),
            pick,
        );
        each(
            &self.queues,
            &mut env.queues,
            |t| Arc::new(PyQueue(t)),
            pick,
        );
        env.cache = self.cache.as_ref().map(|s| match s {
            Slot::Native(n) => n.clone(),
            Slot::Python(t) => Arc::new(PyCache(pick(t))) as Arc<dyn CacheStore>,
        });
    }
}

#[pymethods]
impl PyEnv {
    /// `kv`, `r2`, `d1`, `assets` and `queues` map binding names to stores; `cache` is the store
    /// behind `caches` (default: the engine's in-memory cache). `async def` store methods run on
    /// the asyncio loop running here, if any, else on the loop of `execute_async`.
    #[new]
    #[pyo3(signature = (*, vars=None, secrets=None, json=None, kv=None, r2=None, d1=None,
                        assets=None, queues=None, cache=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        vars: Option<&Bound<'_, PyDict>>,
        secrets: Option<&Bound<'_, PyDict>>,
        json: Option<&Bound<'_, PyDict>>,
        kv: Option<&Bound<'_, PyDict>>,
        r2: Option<&Bound<'_, PyDict>>,
        d1: Option<&Bound<'_, PyDict>>,
        assets: Option<&Bound<'_, PyDict>>,
        queues: Option<&Bound<'_, PyDict>>,
        cache: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyEnv> {
        let lp = running_loop(py)?.map(Bound::unbind);
        let stores = Stores {
            kv: slots(kv, &lp, |v| {
                v.cast::<PySqliteKv>()
                    .ok()
                    .map(|s| s.get().0.clone() as Arc<dyn KvStore>)
            })?,
            r2: slots(r2, &lp, |v| {
                v.cast::<PyFsR2>()
                    .ok()
                    .map(|s| s.get().0.clone() as Arc<dyn R2Store>)
            })?,
            d1: slots(d1, &lp, |v| {
                v.cast::<PySqliteD1>()
                    .ok()
                    .map(|s| s.get().0.clone() as Arc<dyn D1Database>)
            })?,
            assets: slots(assets, &lp, |v| {
                v.cast::<PyDirAssets>()
                    .ok()
                    .map(|s| s.get().0.clone() as Arc<dyn AssetsFetcher>)
            })?,
            queues: slots(queues, &lp, |v| {
                v.cast::<PySqliteQueue>()
                    .ok()
                    .map(|s| s.get().0.clone() as Arc<dyn QueueSender>)
            })?,
            cache: cache
                .filter(|c| !c.is_none())
                .map(|c| {
                    slot(c, &lp, |v| {
                        v.cast::<PyMemoryCache>()
                            .ok()
                            .map(|s| s.get().0.clone() as Arc<dyn CacheStore>)
                    })
                })
                .transpose()?,
        };
        let mut env = Env::new();
        env.vars = strings(vars)?;
        env.secrets = strings(secrets)?;
        if let Some(j) = json {
            for (k, v) in j.iter() {
                env.json.insert(k.extract()?, py_to_json(&v)?);
            }
        }
        stores.fill(&mut env, &|t| t.clone());
        Ok(PyEnv {
            has_python: stores.has_python(),
            stores,
            base: Arc::new(env),
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.base)
    }
}

impl PyEnv {
    pub fn base(&self) -> Arc<Env> {
        self.base.clone()
    }

    /// The env for one call. `async_loop` is the loop of `execute_async` (None for `execute`).
    ///
    /// - `execute_async`: a store registered outside a running loop, or on one that no longer
    ///   runs, awaits on the caller's loop.
    /// - `execute` from a thread that runs a loop: that loop is blocked in this very call, so
    ///   stores registered on it await on the private loop instead of deadlocking.
    pub fn for_call(
        &self,
        py: Python<'_>,
        async_loop: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Arc<Env>> {
        if !self.has_python {
            return Ok(self.base.clone());
        }
        let replace: Box<dyn Fn(&PyTarget) -> Rebind> = match async_loop {
            Some(current) => {
                let current = current.clone().unbind();
                Box::new(move |t: &PyTarget| match &t.loop_ {
                    Some(l) if is_running(py, l.bind(py)) => None,
                    _ => Some(Some(current.clone_ref(py))),
                })
            }
            None => match running_loop(py)? {
                None => return Ok(self.base.clone()),
                Some(blocked) => {
                    let blocked = blocked.unbind();
                    Box::new(move |t: &PyTarget| match &t.loop_ {
                        Some(l) if l.is(&blocked) => Some(None),
                        _ => None,
                    })
                }
            },
        };
        let mut env = Env::new();
        env.vars = self.base.vars.clone();
        env.secrets = self.base.secrets.clone();
        env.json = self.base.json.clone();
        self.stores.fill(&mut env, &|t| match replace(t) {
            None => t.clone(),
            Some(l) => PyTarget {
                obj: t.obj.clone(),
                loop_: l.map(Arc::new),
            },
        });
        Ok(Arc::new(env))
    }
}

/// A store's loop for one call: `None` keeps the one it has; `Some(None)` is the private loop,
/// `Some(Some(l))` the loop `l`.
type Rebind = Option<Option<Py<PyAny>>>;

fn is_running(_py: Python<'_>, l: &Bound<'_, PyAny>) -> bool {
    l.call_method0("is_running")
        .and_then(|r| r.is_truthy())
        .unwrap_or(false)
}
