//! R2 object bodies between the engine and a Python store: `worker.Body` is what a store reads a
//! put's bytes from (a chunk at a time, or whole), and an iterable of bytes a store returns from
//! `get` becomes a body the worker streams, so large objects need not be in memory at once.
use crate::conv::{error_message, to_bytes};
use async_trait::async_trait;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use worker_core::HostError;
use worker_core::body::{Body, BodyReader, next_chunk_blocking};

/// The bytes of an R2 `put` (or multipart part), read in chunks: `read()` returns the next
/// chunk or `None` at the end, iteration yields chunks, `read_all()` returns everything left.
/// Reading waits with the GIL released. A body whose checksum does not match what the worker
/// declared raises at its end, so a store that writes only after reading to the end never
/// keeps a corrupt object.
#[pyclass(name = "Body", module = "worker._worker", frozen)]
pub struct PyBody {
    body: Mutex<Option<Body>>,
}

impl PyBody {
    pub fn new(body: Body) -> PyBody {
        PyBody {
            body: Mutex::new(Some(body)),
        }
    }

    pub fn take(&self) -> Option<Body> {
        self.body.lock().unwrap().take()
    }

    fn next(&self, py: Python<'_>) -> PyResult<Option<Vec<u8>>> {
        py.detach(|| {
            let mut guard = self.body.lock().unwrap();
            let Some(body) = guard.as_mut() else {
                return Ok(None);
            };
            match next_chunk_blocking(body) {
                Ok(Some(c)) => Ok(Some(c)),
                Ok(None) => {
                    *guard = None;
                    Ok(None)
                }
                Err(Some(e)) => {
                    *guard = None;
                    Err(PyOSError::new_err(e.message))
                }
                Err(None) => Err(PyRuntimeError::new_err(
                    "a body cannot be read from an engine thread",
                )),
            }
        })
    }
}

#[pymethods]
impl PyBody {
    /// The next chunk, or `None` at the end.
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        Ok(self.next(py)?.map(|c| PyBytes::new(py, &c)))
    }

    /// Everything not read yet.
    fn read_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = Vec::new();
        while let Some(c) = self.next(py)? {
            out.extend_from_slice(&c);
        }
        Ok(PyBytes::new(py, &out))
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        match self.next(py)? {
            Some(c) => Ok(PyBytes::new(py, &c)),
            None => Err(PyStopIteration::new_err(())),
        }
    }
}

/// A body read from a Python iterator of bytes, one `next()` per chunk on a pool thread.
struct IterBody {
    it: Arc<Py<PyAny>>,
    done: bool,
}

pub fn iter_body(it: Py<PyAny>) -> Body {
    Box::new(IterBody {
        it: Arc::new(it),
        done: false,
    })
}

#[async_trait]
impl BodyReader for IterBody {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        if self.done {
            return Ok(None);
        }
        let (tx, rx) = oneshot::channel();
        let it = self.it.clone();
        crate::pool::submit(move || {
            let r = Python::attach(|py| {
                let it = it.bind(py);
                match it.call_method0("__next__") {
                    Ok(v) => to_bytes(&v)
                        .map(Some)
                        .map_err(|e| HostError::new(error_message(py, &e))),
                    Err(e) if e.is_instance_of::<PyStopIteration>(py) => Ok(None),
                    Err(e) => Err(HostError::new(error_message(py, &e))),
                }
            });
            let _ = tx.send(r);
        });
        let r = rx
            .await
            .unwrap_or_else(|_| Err(HostError::new("the body's iterator was dropped")));
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r
    }
}
