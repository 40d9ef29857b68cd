//! Queues: producers implemented by the host (`wk_queue_vtable_t`), the embedded SQLite queue,
//! delivering a batch to a worker's `queue()` handler from C (`wk_execute_queue`), and the
//! embedded broker that delivers the embedded queue's messages itself (`wk_queue_broker_t`).
use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use worker_core::HostError;
use worker_core::LogLevel;
use worker_core::project::QueueObserver;
use worker_core::queue::{
    QueueBatch, QueueBatchMessage, QueueContentType, QueueMessage, QueueMetrics, QueueOutcome,
    QueueResult, QueueSender,
};
use worker_core::stores::{BrokerEvent, QueueBroker, QueueConsumer, SqliteQueue};

use crate::completion::*;
use crate::engine::{off_runtime, wk_engine_t};
use crate::env::{add_binding, wk_env_t};
use crate::error::*;
use crate::response::{
    WK_LOG_DEBUG, WK_LOG_ERROR, WK_LOG_INFO, WK_LOG_LOG, WK_LOG_WARN, wk_log_level_t,
};
use crate::source::{UserData, read_versioned, require_callbacks, wk_user_data_free_cb};

/// How a queue message body is encoded (`WK_QUEUE_CONTENT_*`).
pub type wk_queue_content_type_t = i32;
/// UTF-8 JSON text (the default).
pub const WK_QUEUE_CONTENT_JSON: wk_queue_content_type_t = 0;
/// A UTF-8 string.
pub const WK_QUEUE_CONTENT_TEXT: wk_queue_content_type_t = 1;
/// Raw bytes (the consumer gets an ArrayBuffer).
pub const WK_QUEUE_CONTENT_BYTES: wk_queue_content_type_t = 2;
/// V8's structured-clone serialisation: opaque bytes only libworker reads. Keep them as they are.
pub const WK_QUEUE_CONTENT_V8: wk_queue_content_type_t = 3;

fn content_code(t: QueueContentType) -> wk_queue_content_type_t {
    match t {
        QueueContentType::Json => WK_QUEUE_CONTENT_JSON,
        QueueContentType::Text => WK_QUEUE_CONTENT_TEXT,
        QueueContentType::Bytes => WK_QUEUE_CONTENT_BYTES,
        QueueContentType::V8 => WK_QUEUE_CONTENT_V8,
    }
}

fn content_type(code: wk_queue_content_type_t) -> Fallible<QueueContentType> {
    match code {
        WK_QUEUE_CONTENT_JSON => Ok(QueueContentType::Json),
        WK_QUEUE_CONTENT_TEXT => Ok(QueueContentType::Text),
        WK_QUEUE_CONTENT_BYTES => Ok(QueueContentType::Bytes),
        WK_QUEUE_CONTENT_V8 => Ok(QueueContentType::V8),
        other => Err(invalid(format!("unknown queue content type {other}"))),
    }
}

/// One message a worker sends, as the host's `send` callback sees it. Borrowed for the call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_queue_message_t {
    pub body: *const u8,
    pub body_len: usize,
    pub content_type: wk_queue_content_type_t,
    /// Seconds before the message may be delivered (0..43200), or -1 when the worker gave no
    /// `delaySeconds` (the queue's own default applies).
    pub delay_seconds: i64,
}

/// `send`: enqueue `messages[0..count]` (1 for `send()`, up to 100 for `sendBatch()`, already
/// validated against Cloudflare's limits), all or none. Copy what you keep: the array and the
/// bodies are borrowed for the call. Settle `completion` with `wk_completion_resolve(c, NULL,
/// 0)`, or with JSON text `{"backlogCount":N,"backlogBytes":N,"oldestMessageTimestamp":ms}`
/// (every field optional) to report the backlog; or reject it, and the worker's promise rejects
/// with `Queue send failed: <your message>` (`Queue sendBatch failed: ...`).
///
/// Called on a libworker executor thread, which other workers share: it must not block. Settle
/// inline, or later from any thread.
pub type wk_queue_send_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        messages: *const wk_queue_message_t,
        count: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `metrics` (optional): resolve with the backlog JSON described for `send`. NULL reports zeros.
pub type wk_queue_metrics_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, completion: *mut wk_completion_t)>;

/// A queue producer the host implements (`env.NAME.send` / `sendBatch` / `metrics`). Set
/// `struct_size = sizeof(wk_queue_vtable_t)`; later ABI versions only add fields at the end.
/// `send` is required, `metrics` optional.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_queue_vtable_t {
    pub struct_size: u32,
    pub send: wk_queue_send_cb,
    pub metrics: wk_queue_metrics_cb,
}

/// A `QueueSender` over the host's vtable.
struct CQueue {
    vtable: wk_queue_vtable_t,
    user_data: UserData,
}

fn parse_metrics(got: Completed) -> Result<QueueMetrics, HostError> {
    let json = match got {
        Completed::Null => return Ok(QueueMetrics::default()),
        Completed::Bytes(b) if b.is_empty() => return Ok(QueueMetrics::default()),
        Completed::Bytes(b) => b,
        _ => {
            return Err(HostError::new(
                "the host's queue must resolve with JSON text",
            ));
        }
    };
    let v: Value = serde_json::from_slice(&json)
        .map_err(|e| HostError::new(format!("the host's queue metrics are not JSON: {e}")))?;
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    Ok(QueueMetrics {
        backlog_count: n("backlogCount").unwrap_or(0),
        backlog_bytes: n("backlogBytes").unwrap_or(0),
        oldest_message_timestamp_ms: n("oldestMessageTimestamp"),
    })
}

#[async_trait]
impl QueueSender for CQueue {
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<QueueMetrics, HostError> {
        let (c, rx) = completion_pair();
        // A block, so the raw pointers are gone before the await.
        {
            let c_messages: Vec<wk_queue_message_t> = messages
                .iter()
                .map(|m| wk_queue_message_t {
                    body: m.body.as_ptr(),
                    body_len: m.body.len(),
                    content_type: content_code(m.content_type),
                    delay_seconds: m.delay_seconds.map_or(-1, i64::from),
                })
                .collect();
            let send = self.vtable.send.expect("validated");
            // SAFETY: the host's callback with its own user_data; the array and every body it
            // points to (owned by `messages`) are valid for the call.
            unsafe { send(self.user_data.ptr, c_messages.as_ptr(), c_messages.len(), c) };
        }
        drop(messages);
        parse_metrics(rx.await.map_err(HostError::from)?)
    }

    async fn metrics(&self) -> Result<QueueMetrics, HostError> {
        let Some(metrics) = self.vtable.metrics else {
            return Ok(QueueMetrics::default());
        };
        let (c, rx) = completion_pair();
        // SAFETY: the host's callback with its own user_data.
        unsafe { metrics(self.user_data.ptr, c) };
        parse_metrics(rx.await.map_err(HostError::from)?)
    }
}

fn add_queue(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    sender: Arc<dyn QueueSender>,
) -> Fallible<()> {
    add_binding(env, name, name_len, |e, name| {
        e.queues.insert(name, sender);
    })
}

/// Binds the queue producer `name` (UTF-8 `name[0..name_len]`; `env.NAME` in the worker) to the
/// host's queue. The vtable is copied. `user_data` is passed to every callback, from libworker's
/// executor threads, so it must be usable from any thread; `user_data_free` (may be NULL) is
/// called exactly once when no env or worker uses the queue any more (possibly on one of
/// libworker's threads), or before this function returns if it fails. Adding a name again
/// replaces the binding. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, an empty or invalid UTF-8 name, a bad
/// `struct_size` or a NULL `send`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_queue(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    vtable: *const wk_queue_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        // SAFETY: the host passes NULL or a readable vtable of `struct_size` bytes (API contract).
        let vtable = unsafe { read_versioned(vtable, "vtable", "wk_queue_vtable_t") }?;
        require_callbacks("wk_queue_vtable_t", &[(vtable.send.is_none(), "send")])?;
        add_queue(env, name, name_len, Arc::new(CQueue { vtable, user_data }))
    })
}

/// Binds the queue producer `name` to libworker's embedded queue: a SQLite file at `path` (UTF-8
/// `path[0..path_len]`, created with its directory if missing) whose messages survive restarts.
/// Every env, engine and broker in the process that opens the same file shares it, so a worker
/// consuming that file through libworker's Rust `QueueBroker` sees the messages at once. Any
/// thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or invalid UTF-8; `WK_E_INTERNAL` if the
/// file cannot be opened or created (the message names it and why).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_queue_default(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let path = text(path, path_len, "path")?;
        let queue =
            SqliteQueue::open(path).map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))?;
        add_queue(env, name, name_len, Arc::new(queue))
    })
}

/// A batch of messages to deliver to a worker's `queue()` handler. Owned by the caller
/// (`wk_queue_batch_free`); build it from one thread at a time. `wk_execute_queue` copies it.
pub struct wk_queue_batch_t {
    batch: QueueBatch,
}

/// Creates an empty batch for the queue named `queue` (UTF-8; the worker's `batch.queue`).
/// `*out_batch` is owned by the caller. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or invalid UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_batch_new(
    queue: *const c_char,
    queue_len: usize,
    out_batch: *mut *mut wk_queue_batch_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_batch, "out_batch", std::ptr::null_mut())?;
        let queue = text(queue, queue_len, "queue")?;
        *o = Box::into_raw(Box::new(wk_queue_batch_t {
            batch: QueueBatch {
                queue: queue.to_string(),
                ..QueueBatch::default()
            },
        }));
        Ok(())
    })
}

/// Frees a batch. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_batch_free(batch: *mut wk_queue_batch_t) {
    ffi_value((), || {
        if !batch.is_null() {
            // SAFETY: a non-NULL batch came from `wk_queue_batch_new` and is freed only once.
            drop(unsafe { Box::from_raw(batch) });
        }
    })
}

/// Appends a message: its `id` (UTF-8, stable across redeliveries), `timestamp_ms` (when it was
/// sent, ms since the UNIX epoch), body `body[0..body_len]` (copied; NULL allowed when the length
/// is 0) encoded as `content_type`, and `attempts` (1 on the first delivery).
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, invalid UTF-8, an unknown content type, or
/// `attempts` 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_batch_add(
    batch: *mut wk_queue_batch_t,
    id: *const c_char,
    id_len: usize,
    timestamp_ms: u64,
    body: *const u8,
    body_len: usize,
    content_type: wk_queue_content_type_t,
    attempts: u32,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let b = handle_mut(batch, "batch")?;
        let id = text(id, id_len, "id")?;
        let body = bytes(body, body_len, "body")?;
        let content_type = self::content_type(content_type)?;
        if attempts == 0 {
            return Err(invalid("attempts starts at 1"));
        }
        b.batch.messages.push(QueueBatchMessage {
            id: id.to_string(),
            timestamp_ms,
            body: body.to_vec(),
            content_type,
            attempts,
        });
        Ok(())
    })
}

/// What to do with one delivered message (`WK_QUEUE_*`).
pub type wk_queue_outcome_t = i32;
/// The message is done: delete it.
pub const WK_QUEUE_ACK: wk_queue_outcome_t = 1;
/// Deliver the message again (see `delay_seconds` of `wk_queue_result_outcome`).
pub const WK_QUEUE_RETRY: wk_queue_outcome_t = 2;

/// The outcome of `wk_execute_queue`: one decision per message, in the batch's order, and the
/// handler's console logs. Owned by the caller (`wk_queue_result_free`). Accessors may be
/// called from any thread; pointers they return live until `wk_queue_result_free`.
pub struct wk_queue_result_t {
    outcomes: Vec<QueueOutcome>,
    logs: Vec<(wk_log_level_t, Vec<u8>)>,
}

impl wk_queue_result_t {
    fn new(r: &QueueResult) -> Box<wk_queue_result_t> {
        let logs = r
            .logs
            .iter()
            .map(|l| {
                let level = match l.level {
                    LogLevel::Debug => WK_LOG_DEBUG,
                    LogLevel::Log => WK_LOG_LOG,
                    LogLevel::Info => WK_LOG_INFO,
                    LogLevel::Warn => WK_LOG_WARN,
                    LogLevel::Error => WK_LOG_ERROR,
                };
                let mut text = l.message.as_bytes().to_vec();
                text.push(0);
                (level, text)
            })
            .collect();
        Box::new(wk_queue_result_t {
            outcomes: r.outcomes.clone(),
            logs,
        })
    }
}

/// Delivers `batch` to worker (site, deploy)'s `queue(batch, env, ctx)` handler (or its `queue`
/// event listeners), in the same isolate as its fetch requests, and waits until the handler and
/// its `waitUntil` work are done. Arguments are as for `wk_execute` and borrowed for the call.
///
/// Returns `WK_OK` when the handler succeeded. When it threw, rejected, had a `waitUntil` promise
/// reject, or could not run (script error, limit, missing handler: `Handler does not export a
/// queue() function.`), it returns that status (`WK_E_EXCEPTION`, ...) and fills `*err`, AND
/// still stores the result: messages the handler acked stay acked, the rest are retried. So
/// `*out_result` is set (owned by the caller) except for `WK_E_INVALID_ARGUMENT` and
/// `WK_E_PANIC`. Blocks; any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_execute_queue(
    engine: *const wk_engine_t,
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    env: *const wk_env_t,
    batch: *const wk_queue_batch_t,
    out_result: *mut *mut wk_queue_result_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_result, "out_result", std::ptr::null_mut())?;
        let e = handle(engine, "engine")?;
        let site = text(site, site_len, "site")?;
        let deploy = text(deploy, deploy_len, "deploy")?;
        let env = if env.is_null() {
            Arc::new(worker_core::Env::new())
        } else {
            handle(env, "env")?.env.clone()
        };
        let batch = handle(batch, "batch")?.batch.clone();
        let engine = e.engine();
        let r = off_runtime(|| engine.queue_blocking(site, deploy, env, batch));
        *o = Box::into_raw(wk_queue_result_t::new(&r));
        match &r.error {
            None => Ok(()),
            Some(we) => Err(wk_error_t::from_worker(we)),
        }
    })
}

/// Frees a result. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_result_free(result: *mut wk_queue_result_t) {
    ffi_value((), || {
        if !result.is_null() {
            // SAFETY: a non-NULL result came from `wk_execute_queue` and is freed only once.
            drop(unsafe { Box::from_raw(result) });
        }
    })
}

/// Number of outcomes (the batch's message count). 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_result_count(result: *const wk_queue_result_t) -> usize {
    ffi_value(0, || {
        handle(result, "result").map_or(0, |r| r.outcomes.len())
    })
}

/// The outcome of message `index` (`WK_QUEUE_ACK` or `WK_QUEUE_RETRY`), or 0 for a NULL result or
/// an index out of range. For a retry, `*delay_seconds` (may be NULL) gets the delay the worker
/// asked for with `retry({delaySeconds})` / `retryAll(...)`, or -1 when it gave none (use the
/// consumer's retry delay); it is 0 for an ack.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_result_outcome(
    result: *const wk_queue_result_t,
    index: usize,
    delay_seconds: *mut i64,
) -> wk_queue_outcome_t {
    ffi_value(0, || {
        let Some(o) = handle(result, "result")
            .ok()
            .and_then(|r| r.outcomes.get(index))
        else {
            return 0;
        };
        let (code, delay) = match o {
            QueueOutcome::Ack => (WK_QUEUE_ACK, 0),
            QueueOutcome::Retry { delay_seconds } => {
                (WK_QUEUE_RETRY, delay_seconds.map_or(-1, i64::from))
            }
        };
        if let Some(p) = opt_out(delay_seconds) {
            *p = delay;
        }
        code
    })
}

/// Number of console log entries the handler wrote. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_result_log_count(result: *const wk_queue_result_t) -> usize {
    ffi_value(0, || handle(result, "result").map_or(0, |r| r.logs.len()))
}

/// Log entry `index`, oldest first: its level (`WK_LOG_*`) and message (UTF-8, NUL-terminated,
/// length excludes the NUL). Any out-parameter may be NULL if not wanted.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `result` is NULL; `WK_E_NOT_FOUND` if `index` is out of
/// range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_result_log_at(
    result: *const wk_queue_result_t,
    index: usize,
    level: *mut wk_log_level_t,
    message: *mut *const c_char,
    message_len: *mut usize,
) -> wk_status_t {
    ffi_status(|| {
        let r = handle(result, "result")?;
        let (lv, msg) = r
            .logs
            .get(index)
            .ok_or_else(|| wk_error_t::new(WK_E_NOT_FOUND, "notFound", "log index out of range"))?;
        if let Some(p) = opt_out(level) {
            *p = *lv;
        }
        if let Some(p) = opt_out(message) {
            *p = msg.as_ptr().cast();
        }
        if let Some(p) = opt_out(message_len) {
            *p = msg.len() - 1;
        }
        Ok(())
    })
}

/// Delivers the messages of embedded queues (`wk_env_add_queue_default` files) to workers'
/// `queue()` handlers, batching, retrying and dead-lettering as Cloudflare does, on a thread of
/// its own. Create with `wk_queue_broker_new`, register consumers with
/// `wk_queue_broker_consume`, free with `wk_queue_broker_free` BEFORE `wk_engine_free`.
/// Thread-safe: every function taking a broker may be called from any thread, concurrently
/// (except `wk_queue_broker_free`, which must be the last call).
pub struct wk_queue_broker_t {
    broker: QueueBroker,
}

/// How a consumer takes messages from its queue: wrangler's `[[queues.consumers]]` settings.
/// Initialise with `wk_queue_consumer_options_init`, then change what you need. Later ABI
/// versions only add fields at the end; `struct_size` tells libworker which ones you know.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wk_queue_consumer_options_t {
    /// `sizeof(wk_queue_consumer_options_t)`; set by `wk_queue_consumer_options_init`.
    pub struct_size: u32,
    /// At most this many messages per batch, clamped to 1..=100. Default 10.
    pub max_batch_size: u32,
    /// How long a partial batch waits for more messages, in seconds (at most 60; 0 delivers at
    /// once). Default 5.
    pub max_batch_timeout_seconds: f64,
    /// Retries before a message is dead-lettered (or dropped without a dead-letter queue), at
    /// most 100. Default 3: four deliveries.
    pub max_retries: u32,
    /// Delay of retries for which the worker gave none (`retry()` without `delaySeconds`, a
    /// failed handler), in seconds. Default 0.
    pub retry_delay_seconds: u32,
}

impl wk_queue_consumer_options_t {
    fn defaults() -> wk_queue_consumer_options_t {
        // Cloudflare's defaults, as `QueueConsumer::new` has them.
        wk_queue_consumer_options_t {
            struct_size: size_of::<wk_queue_consumer_options_t>() as u32,
            max_batch_size: 10,
            max_batch_timeout_seconds: 5.0,
            max_retries: 3,
            retry_delay_seconds: 0,
        }
    }

    fn apply(&self, c: &mut QueueConsumer) -> Fallible<()> {
        let t = self.max_batch_timeout_seconds;
        if !t.is_finite() || t < 0.0 {
            return Err(invalid(format!(
                "wk_queue_consumer_options_t.max_batch_timeout_seconds is {t}, expected 0..=60"
            )));
        }
        c.max_batch_size = self.max_batch_size.clamp(1, 100) as usize;
        c.max_batch_timeout = Duration::from_secs_f64(t.min(60.0));
        c.max_retries = self.max_retries.min(100);
        c.retry_delay = self.retry_delay_seconds;
        Ok(())
    }
}

/// Fills `*options` with Cloudflare's defaults (and `struct_size`). Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `options` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_consumer_options_init(
    options: *mut wk_queue_consumer_options_t,
) -> wk_status_t {
    ffi_status(|| {
        out(options, "options", wk_queue_consumer_options_t::defaults())?;
        Ok(())
    })
}

fn open_queue(path: &str) -> Fallible<SqliteQueue> {
    SqliteQueue::open(path).map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))
}

/// Creates a broker that delivers through `engine`. `*out` is owned by the caller
/// (`wk_queue_broker_free`). The broker keeps the engine's internals alive until it is freed, so
/// the engine loader's `user_data_free` runs only after both are freed. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments; `WK_E_INTERNAL` if the broker's thread
/// cannot start.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_broker_new(
    engine: *const wk_engine_t,
    out_broker: *mut *mut wk_queue_broker_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_broker, "out_broker", std::ptr::null_mut())?;
        let engine = handle(engine, "engine")?.engine().clone();
        let broker =
            QueueBroker::new(engine).map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))?;
        *o = Box::into_raw(Box::new(wk_queue_broker_t { broker }));
        Ok(())
    })
}

/// Starts delivering the embedded queue at `queue_path` (the file given to
/// `wk_env_add_queue_default`, created if missing) to worker (site, deploy)'s `queue()` handler,
/// which runs with `env` (NULL for an empty env; the broker keeps its own reference, so the
/// host may free `env` afterwards). `queue_name` is the handler's `batch.queue`. `options` may be
/// NULL for Cloudflare's defaults. Messages that run out of retries move to the embedded queue
/// at `dead_letter_path` (`dead_letter_queue` is its name, for the worker that consumes it), or
/// are dropped (and reported on stderr) when both are NULL. Every string is UTF-8 `(ptr, len)`.
/// Consuming a queue name again replaces its consumer once its batch in flight is done. Any
/// thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, invalid UTF-8, a bad `struct_size` or
/// `max_batch_timeout_seconds`, or only one of the dead-letter name and path; `WK_E_INTERNAL` if
/// a queue file cannot be opened or created (the message names it and why) or the broker is
/// shut down.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_broker_consume(
    broker: *const wk_queue_broker_t,
    queue_name: *const c_char,
    queue_name_len: usize,
    queue_path: *const c_char,
    queue_path_len: usize,
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    env: *const wk_env_t,
    options: *const wk_queue_consumer_options_t,
    dead_letter_queue: *const c_char,
    dead_letter_queue_len: usize,
    dead_letter_path: *const c_char,
    dead_letter_path_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let b = handle(broker, "broker")?;
        let name = text(queue_name, queue_name_len, "queue_name")?;
        let path = text(queue_path, queue_path_len, "queue_path")?;
        let site = text(site, site_len, "site")?;
        let deploy = text(deploy, deploy_len, "deploy")?;
        let env = if env.is_null() {
            Arc::new(worker_core::Env::new())
        } else {
            handle(env, "env")?.env.clone()
        };
        let options = if options.is_null() {
            wk_queue_consumer_options_t::defaults()
        } else {
            // SAFETY: the host passes a readable options struct of `struct_size` bytes (API
            // contract); NULL was handled above.
            unsafe { read_versioned(options, "options", "wk_queue_consumer_options_t") }?
        };
        let dead_letter = match (dead_letter_queue.is_null(), dead_letter_path.is_null()) {
            (true, true) => None,
            (false, false) => Some((
                text(
                    dead_letter_queue,
                    dead_letter_queue_len,
                    "dead_letter_queue",
                )?,
                text(dead_letter_path, dead_letter_path_len, "dead_letter_path")?,
            )),
            _ => {
                return Err(invalid(
                    "dead_letter_queue and dead_letter_path are both NULL or both set",
                ));
            }
        };
        if name.is_empty() {
            return Err(invalid("queue_name is empty"));
        }
        let mut consumer = QueueConsumer::new(name, open_queue(path)?, site, deploy, env);
        options.apply(&mut consumer)?;
        if let Some((dlq, dlq_path)) = dead_letter {
            consumer.dead_letter_queue = Some((dlq.to_string(), open_queue(dlq_path)?));
        }
        b.broker
            .consume(consumer)
            .map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))
    })
}

/// Told what a queue broker did: `event_json[0..event_len]` (NUL-terminated, borrowed for the
/// call) is one event as a JSON object whose `"type"` says which:
/// - `{"type":"delivered","queue":Q,"ids":[...],"outcomes":[{"ack":true} | {"ack":false,
///   "retryDelaySeconds":N|null}],"logs":[{"level":L,"message":M}],"durationMs":N,
///   "error":null | {"code":STATUS,"kind":K,"name":N,"message":M,"stack":S,"location":L}}`
///   (a batch went to the worker; outcomes in the batch's order; `error` when the handler failed);
/// - `{"type":"deadLettered","queue":Q,"deadLetterQueue":D,"id":ID}` (out of retries, moved);
/// - `{"type":"dropped","queue":Q,"id":ID,"attempts":N}` (out of retries, no dead-letter queue);
/// - `{"type":"storageError","queue":Q,"message":M}` (the queue's file failed; retried later).
///
/// Called on the broker's thread, one event at a time; keep it short (hand the event to your
/// own queue to do slow work).
pub type wk_queue_event_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char, event_len: usize),
>;

fn log_json(logs: &[worker_core::LogEntry]) -> Value {
    logs.iter()
        .map(|l| serde_json::json!({"level": l.level.as_str(), "message": l.message}))
        .collect()
}

fn error_json(e: &worker_core::WorkerError) -> Value {
    serde_json::json!({
        "code": kind_status(e.kind),
        "kind": e.kind.as_str(),
        "name": e.name,
        "message": e.message,
        "stack": e.stack,
        "location": e.location.as_deref().unwrap_or(""),
    })
}

/// One broker event as the JSON `wk_queue_event_cb` documents.
fn event_json(event: &BrokerEvent) -> String {
    let value = match event {
        BrokerEvent::Delivered { queue, ids, result } => serde_json::json!({
            "type": "delivered",
            "queue": queue,
            "ids": ids,
            "outcomes": result.outcomes.iter().map(|o| match o {
                QueueOutcome::Ack => serde_json::json!({"ack": true}),
                QueueOutcome::Retry { delay_seconds } =>
                    serde_json::json!({"ack": false, "retryDelaySeconds": delay_seconds}),
            }).collect::<Vec<_>>(),
            "logs": log_json(&result.logs),
            "durationMs": result.duration.as_secs_f64() * 1000.0,
            "error": result.error.as_ref().map(error_json),
        }),
        BrokerEvent::DeadLettered {
            queue,
            dead_letter_queue,
            id,
        } => serde_json::json!({
            "type": "deadLettered", "queue": queue, "deadLetterQueue": dead_letter_queue, "id": id,
        }),
        BrokerEvent::Dropped {
            queue,
            id,
            attempts,
        } => serde_json::json!({"type": "dropped", "queue": queue, "id": id, "attempts": attempts}),
        BrokerEvent::StorageError { queue, message } => {
            serde_json::json!({"type": "storageError", "queue": queue, "message": message})
        }
    };
    value.to_string()
}

/// The host's event callback as a broker observer; `user_data` is freed with the observer.
pub(crate) fn queue_observer(on_event: wk_queue_event_cb, user_data: UserData) -> QueueObserver {
    Arc::new(move |event: &BrokerEvent| {
        let Some(f) = on_event else { return };
        let mut json = event_json(event).into_bytes();
        let len = json.len();
        json.push(0);
        let data = &user_data; // the whole UserData (Send + Sync), not its raw pointer field
        // SAFETY: the host's callback with its own user_data and a NUL-terminated buffer that
        // outlives the call, as `wk_queue_event_cb` documents.
        unsafe { f(data.ptr, json.as_ptr().cast(), len) };
    })
}

/// Sends every later event of this broker to `on_event` (see `wk_queue_event_cb`) instead of
/// the default, which writes dropped messages and storage errors to stderr. `user_data` is
/// passed to every call; `user_data_free` (may be NULL) is called exactly once: when another
/// observer replaces this one or the broker is freed, after the last call, or before this
/// function returns if it fails. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for a NULL broker or callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_broker_observe(
    broker: *const wk_queue_broker_t,
    on_event: wk_queue_event_cb,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, || {
        let b = handle(broker, "broker")?;
        if on_event.is_none() {
            return Err(invalid("on_event is NULL"));
        }
        let observer = queue_observer(on_event, user_data);
        b.broker.set_observer(move |e| observer(e));
        Ok(())
    })
}

/// Stops the broker and frees it: waits until every consumer's batch in flight is done (blocks),
/// then stops its thread. Undelivered messages stay in their queue files. NULL is a no-op. Call
/// once, after every other call on this broker has returned, and before `wk_engine_free` (a
/// broker freed after its engine is still safe: from `wk_engine_free` on its batches cannot run
/// and stay in their queues). Any thread, including a `wk_execute_async` callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_queue_broker_free(broker: *mut wk_queue_broker_t) {
    ffi_value((), || {
        if broker.is_null() {
            return;
        }
        // SAFETY: a non-NULL broker came from `wk_queue_broker_new` and is freed only once.
        let b = unsafe { Box::from_raw(broker) };
        // Shutting down blocks, which is not allowed on an async runtime's thread (a
        // `wk_execute_async` callback).
        off_runtime(move || drop(b));
    })
}
