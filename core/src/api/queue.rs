//! Queues: the producer interface a host implements (`QueueSender`, behind `env.QUEUE.send` /
//! `sendBatch` in `queue.js`), and the types of the consumer side: a batch the engine delivers
//! to a worker's `queue()` handler ([`crate::Engine::queue`]) and what the handler decided for
//! each message. Validation, size limits and Cloudflare's error texts live in the JS; a sender
//! only stores bytes with their content type.
use super::host::{self, HostError};
use crate::engine::worker::{Completion, IsolateState, Outcome};
use crate::engine::{ErrorKind, LogEntry, WorkerError};
use crate::v8::Scope;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// How a message body is encoded. The worker picks it with `contentType` (default `json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum QueueContentType {
    /// UTF-8 JSON text (`JSON.stringify`).
    #[default]
    Json,
    /// A UTF-8 string.
    Text,
    /// Raw bytes (the consumer gets an ArrayBuffer).
    Bytes,
    /// V8's structured-clone serialisation: opaque to hosts, readable only by the runtime.
    V8,
}

impl QueueContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueContentType::Json => "json",
            QueueContentType::Text => "text",
            QueueContentType::Bytes => "bytes",
            QueueContentType::V8 => "v8",
        }
    }

    /// The content type named `s` (`json`, `text`, `bytes` or `v8`).
    pub fn parse(s: &str) -> Option<QueueContentType> {
        match s {
            "json" => Some(QueueContentType::Json),
            "text" => Some(QueueContentType::Text),
            "bytes" => Some(QueueContentType::Bytes),
            "v8" => Some(QueueContentType::V8),
            _ => None,
        }
    }
}

/// One message a worker sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: Vec<u8>,
    pub content_type: QueueContentType,
    /// Seconds before the message may be delivered (0..=43200). `None` when the worker gave no
    /// `delaySeconds`: the queue's own default delivery delay applies.
    pub delay_seconds: Option<u32>,
}

/// A queue's backlog, as `metrics()` and every send report it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueMetrics {
    pub backlog_count: u64,
    pub backlog_bytes: u64,
    /// When the oldest message still queued was sent, in ms since the UNIX epoch.
    pub oldest_message_timestamp_ms: Option<u64>,
}

/// The producer side of a queue (`env.QUEUE`). `send` gets one message for `send()` and up to
/// 100 for `sendBatch()`, already validated; it stores all of them or none. Methods may
/// complete on any thread. An error rejects the worker's promise with
/// `Queue send failed: <message>` (or `Queue sendBatch failed: ...`).
#[async_trait]
pub trait QueueSender: Send + Sync {
    /// Enqueues `messages`; returns the backlog afterwards.
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<QueueMetrics, HostError>;

    /// The backlog; stores that do not track it report zeros.
    async fn metrics(&self) -> Result<QueueMetrics, HostError> {
        Ok(QueueMetrics::default())
    }
}

/// A message delivered to a consumer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueBatchMessage {
    /// Stable across redeliveries.
    pub id: String,
    /// When the message was sent, in ms since the UNIX epoch (`message.timestamp`).
    pub timestamp_ms: u64,
    pub body: Vec<u8>,
    pub content_type: QueueContentType,
    /// 1 on the first delivery, then one more on every retry.
    pub attempts: u32,
}

/// A batch for a worker's `queue(batch, env, ctx)` handler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueBatch {
    /// The queue's name (`batch.queue`).
    pub queue: String,
    pub messages: Vec<QueueBatchMessage>,
    /// `batch.metadata.metrics`.
    pub metrics: QueueMetrics,
}

/// What happens to one delivered message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    /// Done: remove it from the queue.
    Ack,
    /// Deliver it again, after `delay_seconds` when the worker gave one (otherwise the
    /// consumer's configured retry delay).
    Retry { delay_seconds: Option<u32> },
}

/// The result of [`crate::Engine::queue`]: one outcome per message, in the batch's order.
/// Explicit `ack()`/`retry()` on a message win (the first call on it counts); then
/// `ackAll()`/`retryAll()`; the rest are acked when the handler succeeded and retried when it
/// threw, rejected, had a `waitUntil` promise reject, or could not run at all (`error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueResult {
    pub outcomes: Vec<QueueOutcome>,
    pub logs: Vec<LogEntry>,
    pub error: Option<WorkerError>,
    pub duration: Duration,
}

impl QueueResult {
    /// Every message retried with the default delay, because the batch failed as a whole.
    pub fn failed(
        n: usize,
        error: WorkerError,
        logs: Vec<LogEntry>,
        duration: Duration,
    ) -> QueueResult {
        QueueResult {
            outcomes: vec![
                QueueOutcome::Retry {
                    delay_seconds: None
                };
                n
            ],
            logs,
            error: Some(error),
            duration,
        }
    }
}

/// Turns what `dispatchQueue` reported into per-message outcomes. The JS reports
/// `{"outcomes": [["ack"|"retry"|null, delay|null], ...], "error": null|{name,message,stack}}`.
pub(crate) fn queue_result(c: Completion, n: usize, duration: Duration) -> QueueResult {
    let json = match c.outcome {
        Outcome::Json(j) => j,
        Outcome::Failed(e) => return QueueResult::failed(n, e, c.logs, duration),
        Outcome::Response(_) => {
            let e = WorkerError::new(ErrorKind::Internal, "queue handler produced a response");
            return QueueResult::failed(n, e, c.logs, duration);
        }
    };
    let v: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => {
            let e = WorkerError::new(ErrorKind::Internal, format!("queue result: {e}"));
            return QueueResult::failed(n, e, c.logs, duration);
        }
    };
    let error = v.get("error").filter(|e| e.is_object()).map(|e| {
        let field = |k: &str| e.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let stack = field("stack");
        WorkerError {
            kind: ErrorKind::Exception,
            name: field("name"),
            message: field("message"),
            location: crate::engine::worker::location_from_stack(&stack),
            stack,
        }
    });
    let decided = v.get("outcomes").and_then(|o| o.as_array());
    let outcomes = (0..n)
        .map(|i| {
            let d = decided.and_then(|d| d.get(i));
            let kind = d.and_then(|d| d.get(0)).and_then(|k| k.as_str());
            let delay = d
                .and_then(|d| d.get(1))
                .and_then(|x| x.as_u64())
                .map(|x| x.min(u32::MAX as u64) as u32);
            match kind {
                Some("ack") => QueueOutcome::Ack,
                Some("retry") => QueueOutcome::Retry {
                    delay_seconds: delay,
                },
                // Undecided: the handler's own outcome settles it.
                _ if error.is_some() => QueueOutcome::Retry {
                    delay_seconds: None,
                },
                _ => QueueOutcome::Ack,
            }
        })
        .collect();
    QueueResult {
        outcomes,
        logs: c.logs,
        error,
        duration,
    }
}

/// Pushes the arguments of `internals.dispatchQueue` after the invocation id: the queue name,
/// the messages flat as `[id, timestampMs, contentType, bytes, attempts, ...]`, the metrics
/// `[backlogCount, backlogBytes, oldestMs | null]`. Returns how many were pushed.
pub(crate) fn push_batch(s: &mut Scope, batch: &QueueBatch) -> i32 {
    s.push_str(&batch.queue);
    for m in &batch.messages {
        s.push_str(&m.id);
        s.push_number(m.timestamp_ms as f64);
        s.push_str(m.content_type.as_str());
        s.push_bytes(&m.body);
        s.push_number(m.attempts as f64);
    }
    s.push_array(batch.messages.len() as i32 * 5);
    push_metrics(s, &batch.metrics);
    3
}

/// `[backlogCount, backlogBytes, oldestMs | null]`
fn push_metrics(s: &mut Scope, m: &QueueMetrics) {
    s.push_number(m.backlog_count as f64);
    s.push_number(m.backlog_bytes as f64);
    match m.oldest_message_timestamp_ms {
        Some(t) => s.push_number(t as f64),
        None => s.push_null(),
    }
    s.push_array(3);
}

fn sender(state: &IsolateState, s: &mut Scope) -> Option<Arc<dyn QueueSender>> {
    let q = state
        .binding(s.to_number(1) as usize)
        .and_then(|b| b.queue());
    if q.is_none() {
        s.throw("Error", "Queue binding is no longer available");
    }
    q
}

/// op_queue_send(callId, binding, method, [contentType, bytes, delay | null, ...]) -> metrics.
/// `method` (`send` / `sendBatch`) names the call in the error a failing sender gives.
pub(super) fn op_queue_send(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(q) = sender(state, s) else { return };
    let method = s.to_string(2);
    let n = s.array_length(3);
    let mut messages = Vec::with_capacity(n as usize / 3);
    for i in (0..n).step_by(3) {
        let top = s.top();
        s.get_index(3, i);
        s.get_index(3, i + 1);
        s.get_index(3, i + 2);
        let content_type =
            QueueContentType::parse(&s.to_string(top)).unwrap_or(QueueContentType::Json);
        let body = s.bytes(top + 1).map(|b| b.to_vec()).unwrap_or_default();
        let delay_seconds = (!s.is_nullish(top + 2)).then(|| s.to_number(top + 2) as u32);
        s.settop(top);
        messages.push(QueueMessage {
            body,
            content_type,
            delay_seconds,
        });
    }
    host::spawn(
        state,
        s,
        async move {
            q.send(messages)
                .await
                .map_err(|e| HostError::new(format!("Queue {method} failed: {}", e.message)))
        },
        |s, m| push_metrics(s, &m),
    );
}

/// op_queue_metrics(callId, binding) -> metrics
pub(super) fn op_queue_metrics(state: &IsolateState, s: &mut Scope, _argc: i32) {
    let Some(q) = sender(state, s) else { return };
    host::spawn(
        state,
        s,
        async move {
            q.metrics()
                .await
                .map_err(|e| HostError::new(format!("Queue metrics failed: {}", e.message)))
        },
        |s, m| push_metrics(s, &m),
    );
}

/// op_queue_serialize(value) -> Uint8Array of V8's serialisation (the `v8` content type);
/// throws DataCloneError for values that cannot be cloned.
pub(super) fn op_queue_serialize(_: &IsolateState, s: &mut Scope, _argc: i32) {
    if let Some(bytes) = s.serialize(0) {
        s.push_bytes(&bytes);
    }
}

/// op_queue_deserialize(bytes) -> the value a `v8` message body holds.
pub(super) fn op_queue_deserialize(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let bytes = s.bytes(0).map(|b| b.to_vec()).unwrap_or_default();
    if let Err(e) = s.deserialize(&bytes) {
        s.throw(
            "Error",
            &format!("cannot read a v8 message body: {}", e.message),
        );
    }
}
