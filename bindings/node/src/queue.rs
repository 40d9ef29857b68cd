//! Queues from Node: a batch delivered to a worker's `queue()` handler, the embedded broker that
//! delivers SQLite queues by itself, and what the broker reports back. Broker events are plain
//! data built on the broker's thread and turned into JS objects on Node's thread; the package's
//! JS gives them their final shape (`index.js`).
use crate::{ErrorJs, LogJs, NativeEngine, NativeEnv, SqliteQueue, error, js_err, logs, ms};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::time::Duration;
use worker_core::queue::{
    QueueBatch, QueueBatchMessage, QueueContentType, QueueOutcome, QueueResult,
};
use worker_core::stores::{self as embedded, BrokerEvent};

// ---------------------------------------------------------------- one batch

/// One message as the package's JS normalised it.
#[napi(object)]
pub struct QueueDeliveryJs {
    pub id: String,
    /// Milliseconds since the UNIX epoch.
    pub timestamp: f64,
    /// "json" | "text" | "bytes" | "v8"
    pub content_type: String,
    pub body: Buffer,
    pub attempts: u32,
}

#[napi(object, object_from_js = false)]
pub struct QueueOutcomeJs {
    pub ack: bool,
    /// Set when the worker called `retry({delaySeconds})`.
    pub retry_delay_seconds: Option<u32>,
}

#[napi(object, object_from_js = false)]
pub struct QueueResultJs {
    pub outcomes: Vec<QueueOutcomeJs>,
    pub logs: Vec<LogJs>,
    pub duration_ms: f64,
    pub error: Option<ErrorJs>,
}

/// The batch for `queue`; the JS has checked every field, this only refuses what core cannot
/// represent.
pub fn batch(queue: String, messages: Vec<QueueDeliveryJs>) -> Result<QueueBatch> {
    let messages = messages
        .into_iter()
        .map(|m| {
            let content_type = QueueContentType::parse(&m.content_type)
                .ok_or_else(|| js_err(format!("unknown content type {:?}", m.content_type)))?;
            Ok(QueueBatchMessage {
                id: m.id,
                timestamp_ms: m.timestamp.max(0.0) as u64,
                body: m.body.to_vec(),
                content_type,
                attempts: m.attempts,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(QueueBatch {
        queue,
        messages,
        ..Default::default()
    })
}

pub fn result(r: QueueResult) -> QueueResultJs {
    QueueResultJs {
        outcomes: r
            .outcomes
            .into_iter()
            .map(|o| match o {
                QueueOutcome::Ack => QueueOutcomeJs {
                    ack: true,
                    retry_delay_seconds: None,
                },
                QueueOutcome::Retry { delay_seconds } => QueueOutcomeJs {
                    ack: false,
                    retry_delay_seconds: delay_seconds,
                },
            })
            .collect(),
        logs: logs(r.logs),
        duration_ms: ms(r.duration),
        error: r.error.map(error),
    }
}

// ---------------------------------------------------------------- broker events

/// A [`BrokerEvent`] flattened: `type` says which fields are set.
#[napi(object, object_from_js = false)]
pub struct BrokerEventJs {
    /// "delivered" | "deadLettered" | "dropped" | "storageError"
    #[napi(js_name = "type")]
    pub kind: String,
    pub queue: String,
    pub ids: Option<Vec<String>>,
    pub result: Option<QueueResultJs>,
    pub dead_letter_queue: Option<String>,
    pub id: Option<String>,
    pub attempts: Option<u32>,
    pub message: Option<String>,
}

fn event(e: &BrokerEvent) -> BrokerEventJs {
    let base = |kind: &str, queue: &str| BrokerEventJs {
        kind: kind.to_string(),
        queue: queue.to_string(),
        ids: None,
        result: None,
        dead_letter_queue: None,
        id: None,
        attempts: None,
        message: None,
    };
    match e {
        BrokerEvent::Delivered { queue, ids, result } => BrokerEventJs {
            ids: Some(ids.clone()),
            result: Some(self::result(result.clone())),
            ..base("delivered", queue)
        },
        BrokerEvent::DeadLettered {
            queue,
            dead_letter_queue,
            id,
        } => BrokerEventJs {
            dead_letter_queue: Some(dead_letter_queue.clone()),
            id: Some(id.clone()),
            ..base("deadLettered", queue)
        },
        BrokerEvent::Dropped {
            queue,
            id,
            attempts,
        } => BrokerEventJs {
            id: Some(id.clone()),
            attempts: Some(*attempts),
            ..base("dropped", queue)
        },
        BrokerEvent::StorageError { queue, message } => BrokerEventJs {
            message: Some(message.clone()),
            ..base("storageError", queue)
        },
    }
}

pub type EventListener<'a> = Function<'a, BrokerEventJs, Unknown<'static>>;

/// A JS listener as the broker's thread calls it. Weak: an idle broker never keeps Node's
/// process alive.
type EventSink =
    ThreadsafeFunction<BrokerEventJs, Unknown<'static>, BrokerEventJs, Status, false, true>;

/// An observer for [`embedded::QueueBroker::set_observer`] that queues each event onto Node's
/// event loop, in order, without waiting for the listener.
pub fn observer(listener: EventListener) -> Result<impl Fn(&BrokerEvent) + Send + Sync + 'static> {
    let sink: EventSink = listener
        .build_threadsafe_function::<BrokerEventJs>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()?;
    Ok(move |e: &BrokerEvent| {
        // Refused only while Node's environment closes, when nobody is left to listen.
        let _ = sink.call(event(e), ThreadsafeFunctionCallMode::NonBlocking);
    })
}

// ---------------------------------------------------------------- the broker

/// How a consumer batches and retries; the JS applies the defaults and checks the ranges.
#[napi(object)]
pub struct ConsumerOptionsJs {
    pub max_batch_size: u32,
    pub max_batch_timeout_ms: f64,
    pub max_retries: u32,
    pub retry_delay_seconds: u32,
}

/// Delivers embedded queues to workers' `queue()` handlers on a thread of its own.
#[napi]
pub struct NativeQueueBroker {
    inner: Option<embedded::QueueBroker>,
}

impl NativeQueueBroker {
    fn broker(&self) -> Result<&embedded::QueueBroker> {
        self.inner
            .as_ref()
            .ok_or_else(|| js_err("the queue broker is closed"))
    }
}

#[napi]
impl NativeQueueBroker {
    /// Without a listener the broker writes drops and storage errors to stderr.
    #[napi(constructor)]
    pub fn new(engine: &NativeEngine, on_event: Option<EventListener>) -> Result<Self> {
        let broker = embedded::QueueBroker::new(engine.engine()?).map_err(js_err)?;
        if let Some(listener) = on_event {
            broker.set_observer(observer(listener)?);
        }
        Ok(NativeQueueBroker {
            inner: Some(broker),
        })
    }

    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn consume(
        &self,
        queue: String,
        store: &SqliteQueue,
        site: String,
        deploy: String,
        bindings: &NativeEnv,
        options: ConsumerOptionsJs,
        dead_letter_queue: Option<String>,
        dead_letter_store: Option<&SqliteQueue>,
    ) -> Result<()> {
        let broker = self.broker()?;
        let mut consumer = embedded::QueueConsumer::new(
            queue,
            store.inner.clone(),
            site,
            deploy,
            bindings.inner.clone(),
        );
        consumer.max_batch_size = options.max_batch_size as usize;
        consumer.max_batch_timeout = Duration::from_secs_f64(options.max_batch_timeout_ms / 1000.0);
        consumer.max_retries = options.max_retries;
        consumer.retry_delay = options.retry_delay_seconds;
        consumer.dead_letter_queue =
            dead_letter_queue.zip(dead_letter_store.map(|s| s.inner.clone()));
        broker.consume(consumer).map_err(js_err)
    }

    /// Stops every consumer after its batch in flight. That wait may be on a worker calling
    /// this very thread's stores, so it happens off Node's thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'e>(&mut self, env: &'e Env) -> Result<PromiseRaw<'e, ()>> {
        let broker = self.inner.take();
        env.spawn_future(async move {
            if let Some(broker) = broker {
                napi::tokio::task::spawn_blocking(move || broker.shutdown())
                    .await
                    .map_err(|e| js_err(e.to_string()))?;
            }
            Ok(())
        })
    }
}

impl Drop for NativeQueueBroker {
    fn drop(&mut self) {
        // Dropping the broker waits for batches in flight; never on Node's thread.
        if let Some(broker) = self.inner.take() {
            std::thread::spawn(move || drop(broker));
        }
    }
}
