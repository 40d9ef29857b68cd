//! Calling a host's Python store from the engine. A method may be plain or `async def`:
//!
//! - The call itself runs on a pool thread (`pool.rs`) that takes the GIL, so a plain method
//!   that blocks holds up neither an executor's event loop nor other calls.
//! - When the method returns an awaitable, it is awaited on the asyncio loop the store belongs
//!   to (see [`PyTarget::loop_`]) with `asyncio.run_coroutine_threadsafe`, and its result is
//!   converted when it completes, on that loop's thread. No thread waits meanwhile.
//!
//! Either way the converted value (or the exception's message as a `HostError`) goes back to the
//! engine through a oneshot channel.
use crate::conv::error_message;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use worker_core::HostError;

/// A Python object behind a binding, and the asyncio loop its `async def` methods run on.
#[derive(Clone)]
pub struct PyTarget {
    pub obj: Arc<Py<PyAny>>,
    /// `None`: the package's private loop thread (a plain `execute` outside any running loop).
    pub loop_: Option<Arc<Py<PyAny>>>,
}

/// Positional and keyword arguments, built with the GIL held on the calling thread.
pub type Args<'py> = (Bound<'py, PyTuple>, Option<Bound<'py, PyDict>>);

/// Turns the method's (awaited) result into the Rust value the store trait returns.
type Convert<T> = Box<dyn for<'py> FnOnce(&Bound<'py, PyAny>) -> PyResult<T> + Send>;
type Reply<T> = oneshot::Sender<Result<T, HostError>>;

/// `worker._runtime`, the Python half of the dispatch (loop selection, the private loop).
pub fn runtime_fn<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let m = MODULE.get_or_try_init(py, || py.import("worker._runtime").map(Bound::unbind))?;
    m.bind(py).getattr(name)
}

fn settle<T>(
    py: Python<'_>,
    reply: Reply<T>,
    convert: Convert<T>,
    value: PyResult<Bound<'_, PyAny>>,
) {
    let result = value
        .and_then(|v| convert(&v))
        .map_err(|e| HostError::new(error_message(py, &e)));
    let _ = reply.send(result);
}

impl PyTarget {
    pub fn new(obj: Py<PyAny>, loop_: Option<Py<PyAny>>) -> PyTarget {
        PyTarget {
            obj: Arc::new(obj),
            loop_: loop_.map(Arc::new),
        }
    }

    /// Calls `obj.<method>(*args, **kwargs)` and converts what it returns (or resolves to).
    pub async fn call<T: Send + 'static>(
        &self,
        method: &'static str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Args<'py>> + Send + 'static,
        convert: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> PyResult<T> + Send + 'static,
    ) -> Result<T, HostError> {
        match self.call_optional(method, args, convert).await? {
            Some(v) => Ok(v),
            None => Err(HostError::new(format!(
                "the store has no `{method}` method"
            ))),
        }
    }

    /// Like [`PyTarget::call`], but `Ok(None)` when the object has no such method, for the
    /// optional parts of a protocol (R2 multipart uploads, D1 dumps, queue metrics).
    pub async fn call_optional<T: Send + 'static>(
        &self,
        method: &'static str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Args<'py>> + Send + 'static,
        convert: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> PyResult<T> + Send + 'static,
    ) -> Result<Option<T>, HostError> {
        let (tx, rx) = oneshot::channel::<Result<Option<T>, HostError>>();
        let target = self.clone();
        crate::pool::submit(move || {
            Python::attach(|py| {
                let obj = target.obj.bind(py);
                match obj.hasattr(method) {
                    Ok(true) => {}
                    Ok(false) => {
                        let _ = tx.send(Ok(None));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(HostError::new(error_message(py, &e))));
                        return;
                    }
                }
                let convert: Convert<Option<T>> = Box::new(move |v| convert(v).map(Some));
                let result = args(py).and_then(|(a, kw)| obj.call_method(method, a, kw.as_ref()));
                match result {
                    Ok(v) if is_awaitable(&v) => {
                        if let Err((e, tx, convert)) = target.await_on_loop(py, v, tx, convert) {
                            settle(py, tx, convert, Err(e));
                        }
                    }
                    other => settle(py, tx, convert, other),
                }
            })
        });
        rx.await
            .unwrap_or_else(|_| Err(HostError::new("the Python store call was dropped")))
    }

    /// Schedules `awaitable` on the store's loop; the done-callback settles `tx`. On failure to
    /// schedule, hands `tx` and `convert` back so the caller can report the error.
    #[allow(clippy::type_complexity)]
    fn await_on_loop<T: Send + 'static>(
        &self,
        py: Python<'_>,
        awaitable: Bound<'_, PyAny>,
        tx: Reply<T>,
        convert: Convert<T>,
    ) -> Result<(), (PyErr, Reply<T>, Convert<T>)> {
        let lp = self.loop_.as_ref().map(|l| l.clone_ref(py));
        let future = match runtime_fn(py, "schedule").and_then(|f| f.call1((awaitable, lp))) {
            Ok(f) => f,
            Err(e) => return Err((e, tx, convert)),
        };
        // The callback may in principle run more than once; only the first settles.
        let slot = Arc::new(Mutex::new(Some((tx, convert))));
        let cb_slot = slot.clone();
        let callback = PyCFunction::new_closure(py, None, None, move |args, _kwargs| {
            let py = args.py();
            if let Some((tx, convert)) = cb_slot.lock().unwrap().take() {
                let value = args.get_item(0).and_then(|fut| fut.call_method0("result"));
                settle(py, tx, convert, value);
            }
        });
        let added = callback.and_then(|cb| future.call_method1("add_done_callback", (cb,)));
        if let Err(e) = added
            && let Some((tx, convert)) = slot.lock().unwrap().take()
        {
            return Err((e, tx, convert));
        }
        Ok(())
    }
}

/// Whether `v` must be awaited: a coroutine, a future or any object with `__await__`.
fn is_awaitable(v: &Bound<'_, PyAny>) -> bool {
    v.hasattr(pyo3::intern!(v.py(), "__await__"))
        .unwrap_or(false)
}
