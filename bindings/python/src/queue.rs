//! Queues from the consumer side: delivering a batch to a worker's `queue()` handler
//! (`Engine.execute_queue`), the embedded broker that does so for `SqliteQueue` files
//! (`worker.QueueBroker`), and the broker events a host observes (also `Project`'s
//! `on_queue_event`). Results and events cross as plain tuples; `worker/_queue.py` turns them
//! into the package's dataclasses.
use crate::conv::{error_message, field, required, to_bytes, type_name};
use crate::embedded::PySqliteQueue;
use crate::engine::{PyEngine, error_to_py, logs_to_py};
use crate::env::PyEnv;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyTuple};
use std::cell::Cell;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use worker_core::queue::{
    QueueBatch, QueueBatchMessage, QueueContentType, QueueOutcome, QueueResult,
};
use worker_core::stores::{BrokerEvent, QueueBroker, QueueConsumer};

/// Cloudflare's largest batch (`max_batch_size`), which is also all `sendBatch` takes.
const MAX_BATCH_MESSAGES: usize = 100;
/// Cloudflare's limits on a consumer's settings.
const MAX_BATCH_TIMEOUT_SECONDS: f64 = 60.0;
const MAX_RETRIES: u32 = 100;
const MAX_RETRY_DELAY_SECONDS: u32 = 43_200;

/// A function of `worker._queue`, the Python half of this module.
fn queue_fn<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let m = MODULE.get_or_try_init(py, || py.import("worker._queue").map(Bound::unbind))?;
    m.bind(py).getattr(name)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---------------------------------------------------------------------- batches

/// A message's send time: a `datetime` (anything with `timestamp()`), or milliseconds since the
/// UNIX epoch; absent means now.
fn timestamp_ms(v: Option<Bound<'_, PyAny>>) -> PyResult<u64> {
    let Some(v) = v else {
        return Ok(now_ms());
    };
    let ms = if v.hasattr("timestamp")? {
        v.call_method0("timestamp")?.extract::<f64>()? * 1000.0
    } else {
        v.extract::<f64>().map_err(|_| {
            PyTypeError::new_err(format!(
                "timestamp must be a datetime or milliseconds since the epoch, not {}",
                type_name(&v)
            ))
        })?
    };
    if !ms.is_finite() || ms < 0.0 {
        return Err(PyValueError::new_err(format!(
            "timestamp {ms} ms is before the UNIX epoch"
        )));
    }
    Ok(ms as u64)
}

/// One `QueueDelivery` (or a dict with its keys), checked so that a bad message is a Python
/// error here rather than a failed batch in the worker.
fn delivery(v: &Bound<'_, PyAny>, index: usize) -> PyResult<QueueBatchMessage> {
    let what = format!("message {index}");
    let id = required(v, "id", &what)?;
    let id: String = id.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what}: id must be a str, not {}", type_name(&id)))
    })?;
    let what = format!("message {index} (id {id:?})");
    let content_type = match field(v, "content_type")? {
        None => QueueContentType::Json,
        Some(t) => {
            let name: String = t.extract()?;
            QueueContentType::parse(&name).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "{what}: unknown content type {name:?} (json, text, bytes or v8)"
                ))
            })?
        }
    };
    let body = required(v, "body", &what)?;
    // `bytes(n)` would make n zero bytes of an int: not what anyone means by a body.
    let body = if body.is_instance_of::<PyInt>() {
        Err(PyTypeError::new_err("expected bytes or str, got int"))
    } else {
        to_bytes(&body)
    }
    .map_err(|e| PyTypeError::new_err(format!("{what}: body: {}", error_message(v.py(), &e))))?;
    match content_type {
        QueueContentType::Json if serde_json::from_slice::<serde_json::Value>(&body).is_err() => {
            return Err(PyValueError::new_err(format!(
                "{what}: the body is not JSON text, which content type \"json\" needs \
                 (send json.dumps(value), or use content type \"text\")"
            )));
        }
        QueueContentType::Text if std::str::from_utf8(&body).is_err() => {
            return Err(PyValueError::new_err(format!(
                "{what}: the body is not UTF-8, which content type \"text\" needs"
            )));
        }
        _ => {}
    }
    let attempts: i64 = match field(v, "attempts")? {
        Some(a) => a.extract()?,
        None => 1,
    };
    if attempts < 1 || attempts > u32::MAX as i64 {
        return Err(PyValueError::new_err(format!(
            "{what}: attempts is {attempts}; it counts deliveries, starting at 1"
        )));
    }
    Ok(QueueBatchMessage {
        id,
        timestamp_ms: timestamp_ms(field(v, "timestamp")?)?,
        body,
        content_type,
        attempts: attempts as u32,
    })
}

/// The batch for `execute_queue`: at most 100 messages of the queue named `queue`.
pub fn batch(queue: &str, messages: &Bound<'_, PyAny>) -> PyResult<QueueBatch> {
    if queue.is_empty() {
        return Err(PyValueError::new_err("the queue name is empty"));
    }
    if messages.is_instance_of::<PyString>() || messages.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "messages must be a sequence of QueueDelivery, not a single str or bytes",
        ));
    }
    let mut out = Vec::new();
    for (i, m) in messages.try_iter()?.enumerate() {
        if i == MAX_BATCH_MESSAGES {
            return Err(PyValueError::new_err(format!(
                "a batch holds at most {MAX_BATCH_MESSAGES} messages"
            )));
        }
        out.push(delivery(&m?, i)?);
    }
    Ok(QueueBatch {
        queue: queue.to_string(),
        messages: out,
        metrics: Default::default(),
    })
}

// ---------------------------------------------------------------------- results and events

/// `(outcomes, logs, duration_ms, error)`, each outcome `(ack, retry_delay | None)`.
pub fn result_to_py<'py>(py: Python<'py>, r: &QueueResult) -> PyResult<Bound<'py, PyTuple>> {
    let outcomes = PyList::new(
        py,
        r.outcomes.iter().map(|o| match o {
            QueueOutcome::Ack => (true, None),
            QueueOutcome::Retry { delay_seconds } => (false, *delay_seconds),
        }),
    )?;
    (
        outcomes,
        logs_to_py(py, &r.logs)?,
        r.duration.as_secs_f64() * 1000.0,
        error_to_py(py, &r.error)?,
    )
        .into_pyobject(py)
}

/// `(kind, ...)` with the fields of each kind of event, in the order of `worker._queue`.
fn event_to_py<'py>(py: Python<'py>, e: &BrokerEvent) -> PyResult<Bound<'py, PyTuple>> {
    Ok(match e {
        BrokerEvent::Delivered { queue, ids, result } => {
            ("delivered", queue, ids, result_to_py(py, result)?).into_pyobject(py)?
        }
        BrokerEvent::DeadLettered {
            queue,
            dead_letter_queue,
            id,
        } => ("dead_lettered", queue, dead_letter_queue, id).into_pyobject(py)?,
        BrokerEvent::Dropped {
            queue,
            id,
            attempts,
        } => ("dropped", queue, id, *attempts).into_pyobject(py)?,
        BrokerEvent::StorageError { queue, message } => {
            ("storage_error", queue, message).into_pyobject(py)?
        }
    })
}

thread_local! {
    /// Set while this thread runs a host's event callback, during which closing the broker
    /// that called it would wait for that very callback.
    static IN_EVENT_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// RuntimeError when called from inside an event callback, where closing would never return.
pub fn check_not_in_callback(what: &str) -> PyResult<()> {
    if IN_EVENT_CALLBACK.with(Cell::get) {
        return Err(PyRuntimeError::new_err(format!(
            "{what} cannot be closed from its own queue event callback"
        )));
    }
    Ok(())
}

/// A broker observer calling `callback(event)` with the GIL taken, on the broker's thread. An
/// exception is reported through `sys.unraisablehook` and the broker carries on.
pub fn observer(callback: Py<PyAny>) -> impl Fn(&BrokerEvent) + Send + Sync + 'static {
    move |e| {
        Python::attach(|py| {
            let cb = callback.bind(py);
            IN_EVENT_CALLBACK.with(|f| f.set(true));
            let called = event_to_py(py, e)
                .and_then(|raw| queue_fn(py, "broker_event")?.call1((raw,)))
                .and_then(|event| cb.call1((event,)));
            IN_EVENT_CALLBACK.with(|f| f.set(false));
            if let Err(err) = called {
                err.write_unraisable(py, Some(cb));
            }
        })
    }
}

// ---------------------------------------------------------------------- the broker

#[pyclass(name = "QueueBroker", module = "worker._worker", frozen)]
pub struct PyQueueBroker {
    broker: RwLock<Option<Arc<QueueBroker>>>,
}

#[pymethods]
impl PyQueueBroker {
    #[new]
    #[pyo3(signature = (engine, on_event=None))]
    fn new(engine: &Bound<'_, PyEngine>, on_event: Option<Py<PyAny>>) -> PyResult<Self> {
        let broker = QueueBroker::new(engine.get().engine()?).map_err(PyRuntimeError::new_err)?;
        if let Some(cb) = on_event.filter(|cb| !cb.is_none(engine.py())) {
            broker.set_observer(observer(cb));
        }
        Ok(PyQueueBroker {
            broker: RwLock::new(Some(Arc::new(broker))),
        })
    }

    /// Starts delivering `store` to (site_id, deploy_key); see `worker.QueueBroker.consume`.
    #[pyo3(signature = (queue, store, site_id, deploy_key, env, max_batch_size,
                        max_batch_timeout, max_retries, retry_delay, dead_letter_queue))]
    #[allow(clippy::too_many_arguments)]
    fn consume(
        &self,
        queue: String,
        store: &Bound<'_, PyAny>,
        site_id: String,
        deploy_key: String,
        env: Option<&Bound<'_, PyEnv>>,
        max_batch_size: i64,
        max_batch_timeout: f64,
        max_retries: i64,
        retry_delay: i64,
        dead_letter_queue: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if queue.is_empty() {
            return Err(PyValueError::new_err("the queue name is empty"));
        }
        if !(1..=MAX_BATCH_MESSAGES as i64).contains(&max_batch_size) {
            return Err(PyValueError::new_err(format!(
                "max_batch_size is {max_batch_size}; it must be 1 to {MAX_BATCH_MESSAGES}"
            )));
        }
        if !(0.0..=MAX_BATCH_TIMEOUT_SECONDS).contains(&max_batch_timeout) {
            return Err(PyValueError::new_err(format!(
                "max_batch_timeout is {max_batch_timeout}; it must be 0 to \
                 {MAX_BATCH_TIMEOUT_SECONDS} seconds"
            )));
        }
        if !(0..=MAX_RETRIES as i64).contains(&max_retries) {
            return Err(PyValueError::new_err(format!(
                "max_retries is {max_retries}; it must be 0 to {MAX_RETRIES}"
            )));
        }
        if !(0..=MAX_RETRY_DELAY_SECONDS as i64).contains(&retry_delay) {
            return Err(PyValueError::new_err(format!(
                "retry_delay is {retry_delay}; it must be 0 to {MAX_RETRY_DELAY_SECONDS} seconds"
            )));
        }
        let dead_letter_queue = match dead_letter_queue.filter(|d| !d.is_none()) {
            None => None,
            Some(d) => {
                let (name, store): (String, Bound<'_, PyAny>) = d.extract().map_err(|_| {
                    PyTypeError::new_err("dead_letter_queue must be a (name, SqliteQueue) pair")
                })?;
                if name.is_empty() {
                    return Err(PyValueError::new_err(
                        "the dead-letter queue's name is empty",
                    ));
                }
                Some((name, sqlite_queue(&store, "dead_letter_queue")?))
            }
        };
        let mut consumer = QueueConsumer::new(
            queue,
            sqlite_queue(store, "store")?,
            site_id,
            deploy_key,
            // The broker calls Python stores from its own thread: each keeps the loop it was
            // registered on (else the package's private loop), as in a project.
            env.map(|e| e.get().base())
                .unwrap_or_else(|| Arc::new(worker_core::Env::new())),
        );
        consumer.max_batch_size = max_batch_size as usize;
        consumer.max_batch_timeout = Duration::from_secs_f64(max_batch_timeout);
        consumer.max_retries = max_retries as u32;
        consumer.retry_delay = retry_delay as u32;
        consumer.dead_letter_queue = dead_letter_queue;
        self.broker()?
            .consume(consumer)
            .map_err(PyRuntimeError::new_err)
    }

    /// Stops every consumer after its batch in flight (the GIL is released meanwhile, so
    /// event callbacks and Python stores can finish). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        check_not_in_callback("the queue broker")?;
        let broker = self.broker.write().unwrap().take();
        if let Some(b) = broker {
            py.detach(move || b.shutdown());
        }
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        self.broker.read().unwrap().is_none()
    }
}

impl PyQueueBroker {
    fn broker(&self) -> PyResult<Arc<QueueBroker>> {
        self.broker
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the queue broker is closed"))
    }
}

impl Drop for PyQueueBroker {
    fn drop(&mut self) {
        if let Some(b) = self.broker.get_mut().unwrap().take() {
            // Shutting down waits for the batch in flight, whose events need the GIL.
            Python::attach(|py| py.detach(move || b.shutdown()));
        }
    }
}

/// The store handle inside a `worker.SqliteQueue`: the broker shares its open file.
fn sqlite_queue(v: &Bound<'_, PyAny>, what: &str) -> PyResult<worker_core::stores::SqliteQueue> {
    let q = v.cast::<PySqliteQueue>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a worker.SqliteQueue, not {}",
            type_name(v)
        ))
    })?;
    Ok((*q.get().0).clone())
}
