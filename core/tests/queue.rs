//! Queues: producers backed by host senders written in Rust (answering later from another
//! thread, failing), batches delivered to `queue()` handlers through `Engine::queue` with the
//! outcome rules, and the embedded SQLite queue with its broker across engines.
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use worker_core::queue::*;
use worker_core::*;

/// Records what workers send; answers from a separate thread after `delay`, or fails.
#[derive(Default)]
struct Recorder {
    sent: Arc<Mutex<Vec<QueueMessage>>>,
    delay: Duration,
    fail: bool,
}

#[async_trait]
impl QueueSender for Recorder {
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<QueueMetrics, HostError> {
        if self.fail {
            return Err(HostError::new("broker unreachable"));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (sent, delay) = (self.sent.clone(), self.delay);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let mut sent = sent.lock().unwrap();
            sent.extend(messages);
            let _ = tx.send(QueueMetrics {
                backlog_count: sent.len() as u64,
                backlog_bytes: sent.iter().map(|m| m.body.len() as u64).sum(),
                oldest_message_timestamp_ms: Some(1_700_000_000_000),
            });
        });
        rx.await.map_err(|_| HostError::new("answer lost"))
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        pool_size: 1,
        ..Default::default()
    }
}

fn engine(source: WorkerSource) -> Engine {
    let loader = move |_: &str, _: &str| Ok(source.clone());
    Engine::new(config(), Arc::new(loader)).expect("engine starts")
}

fn fetch(engine: &Engine, env: &Arc<Env>, path: &str) -> ExecuteResult {
    let r = engine.execute_blocking(
        "q",
        "v1",
        env.clone(),
        WorkerRequest::get(format!("http://x{path}")),
    );
    assert_eq!(r.error, None, "logs: {:?}", r.logs);
    r
}

fn message(id: &str, body: &str, attempts: u32) -> QueueBatchMessage {
    QueueBatchMessage {
        id: id.into(),
        timestamp_ms: 1_600_000_000_000,
        body: body.as_bytes().to_vec(),
        content_type: QueueContentType::Text,
        attempts,
    }
}

fn batch(queue: &str, messages: Vec<QueueBatchMessage>) -> QueueBatch {
    QueueBatch {
        queue: queue.into(),
        messages,
        metrics: QueueMetrics::default(),
    }
}

const RETRY: QueueOutcome = QueueOutcome::Retry {
    delay_seconds: None,
};

#[test]
fn send_and_send_batch_reach_the_sender_from_another_thread() {
    let sender = Recorder {
        delay: Duration::from_millis(10),
        ..Default::default()
    };
    let sent = sender.sent.clone();
    let e = engine(WorkerSource::module(
        "export default { async fetch(req, env) {
            const r = await env.Q.send({ a: 1 });
            await env.Q.send('hi', { contentType: 'text', delaySeconds: 5 });
            await env.Q.send(new Uint8Array([1, 2]), { contentType: 'bytes' });
            await env.Q.sendBatch([{ body: 'x', contentType: 'text' }, { body: [2], delaySeconds: 0 }],
                                  { delaySeconds: 7 });
            const m = await env.Q.metrics();
            return Response.json({ r: r.metadata.metrics.backlogCount, m, str: String(env.Q) });
        } };",
    ));
    let env = Arc::new(Env::new().queue("Q", Arc::new(sender)));
    let r = fetch(&e, &env, "/");
    e.shutdown();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["r"], 1);
    // The default sender reports no metrics.
    assert_eq!(
        v["m"],
        serde_json::json!({"backlogCount": 0, "backlogBytes": 0})
    );
    assert_eq!(v["str"], "[object WorkerQueue]");
    let sent = sent.lock().unwrap();
    let seen: Vec<_> = sent
        .iter()
        .map(|m| {
            (
                String::from_utf8_lossy(&m.body).into_owned(),
                m.content_type,
                m.delay_seconds,
            )
        })
        .collect();
    use QueueContentType::*;
    assert_eq!(
        seen,
        vec![
            (r#"{"a":1}"#.to_string(), Json, None),
            ("hi".to_string(), Text, Some(5)),
            ("\u{1}\u{2}".to_string(), Bytes, None),
            ("x".to_string(), Text, Some(7)),
            ("[2]".to_string(), Json, Some(0)),
        ]
    );
}

#[test]
fn a_failing_sender_rejects_with_its_message_and_limits_are_checked_first() {
    let sender = Recorder {
        fail: true,
        ..Default::default()
    };
    let e = engine(WorkerSource::module(
        "const err = async (f) => { try { await f(); return 'ok'; } catch (e) { return `${e.name}: ${e.message}`; } };
        export default { async fetch(req, env) {
            return Response.json([
                await err(() => env.Q.send('x')),
                await err(() => env.Q.sendBatch([{ body: 1 }])),
                await err(() => env.Q.send('a'.repeat(128001), { contentType: 'text' })),
                await err(() => env.Q.send('a', { delaySeconds: 43201 })),
                await err(() => env.Q.send(new Map(), { contentType: 'json' })),
                await err(() => env.Q.send(Symbol('s'), { contentType: 'v8' })),
            ]);
        } };",
    ));
    let env = Arc::new(Env::new().queue("Q", Arc::new(sender)));
    let r = fetch(&e, &env, "/");
    e.shutdown();
    let v: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v[0], "Error: Queue send failed: broker unreachable");
    assert_eq!(v[1], "Error: Queue sendBatch failed: broker unreachable");
    assert_eq!(
        v[2],
        "Error: Queue send failed: message length of 128001 bytes exceeds limit of 128000"
    );
    assert!(v[3].starts_with("Error: Queue send failed: message delay 43201 is invalid"));
    // JSON of a Map is `{}`: it is accepted and sent, so it reaches the failing sender.
    assert_eq!(v[4], "Error: Queue send failed: broker unreachable");
    assert_eq!(v[5], "DataCloneError: Symbol(s) could not be cloned.");
}

#[test]
fn explicit_decisions_win_and_the_rest_follow_the_handler() {
    let e = engine(WorkerSource::module(
        "export default {
            async queue(batch, env, ctx) {
                const [a, b, c, d] = batch.messages;
                if (batch.queue === 'ok') {
                    a.ack(); a.retry();
                    b.retry({ delaySeconds: 30 }); b.ack();
                    batch.retryAll({ delaySeconds: 9 });
                    batch.ackAll();
                } else if (batch.queue === 'throws') {
                    a.ack();
                    b.retry({ delaySeconds: 4 });
                    await null;
                    throw new TypeError('consumer broke');
                } else if (batch.queue === 'wait-until') {
                    ctx.waitUntil(Promise.reject(new Error('late failure')));
                } else {
                    console.log(batch.messages.map((m) => `${m.id}:${m.body}:${m.attempts}:${m.timestamp.toISOString()}`).join(','));
                }
            },
        };",
    ));
    let env = Arc::new(Env::new());
    let four = || {
        vec![
            message("a", "A", 1),
            message("b", "B", 2),
            message("c", "C", 3),
            message("d", "D", 1),
        ]
    };

    let r = e.queue_blocking("q", "v1", env.clone(), batch("ok", four()));
    assert_eq!(r.error, None);
    assert_eq!(
        r.outcomes,
        vec![
            QueueOutcome::Ack,
            QueueOutcome::Retry {
                delay_seconds: Some(30)
            },
            QueueOutcome::Retry {
                delay_seconds: Some(9)
            },
            QueueOutcome::Retry {
                delay_seconds: Some(9)
            },
        ]
    );
    // Conflicting calls are ignored with a warning.
    let warnings: Vec<_> = r
        .logs
        .iter()
        .filter(|l| l.level == LogLevel::Warn)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("retry() on message a after ack()"));

    let r = e.queue_blocking("q", "v1", env.clone(), batch("throws", four()));
    let err = r.error.expect("the handler threw");
    assert_eq!(
        (err.name.as_str(), err.message.as_str()),
        ("TypeError", "consumer broke")
    );
    assert_eq!(
        r.outcomes,
        vec![
            QueueOutcome::Ack,
            QueueOutcome::Retry {
                delay_seconds: Some(4)
            },
            RETRY,
            RETRY
        ]
    );

    let r = e.queue_blocking("q", "v1", env.clone(), batch("wait-until", four()));
    assert_eq!(r.error.expect("waitUntil rejected").message, "late failure");
    assert_eq!(r.outcomes, vec![RETRY; 4]);

    let r = e.queue_blocking("q", "v1", env.clone(), batch("plain", four()));
    assert_eq!(r.error, None);
    assert_eq!(r.outcomes, vec![QueueOutcome::Ack; 4]);
    assert_eq!(
        r.logs[0].message,
        "a:A:1:2020-09-13T12:26:40.000Z,b:B:2:2020-09-13T12:26:40.000Z,\
         c:C:3:2020-09-13T12:26:40.000Z,d:D:1:2020-09-13T12:26:40.000Z"
    );
    e.shutdown();
}

#[test]
fn module_state_is_shared_with_fetch_and_v8_bodies_round_trip() {
    let sender = Recorder::default();
    let sent = sender.sent.clone();
    let e = engine(WorkerSource::module(
        "let seen = [];
        export default {
            async fetch(req, env) {
                if (new URL(req.url).pathname === '/send') {
                    await env.Q.send({ when: new Date(0), m: new Map([[1, 'x']]) }, { contentType: 'v8' });
                    return new Response('sent');
                }
                return Response.json(seen);
            },
            queue(batch) {
                for (const m of batch.messages) {
                    seen.push([m.body.when instanceof Date, m.body.m.get(1), typeof m.body]);
                }
            },
        };",
    ));
    let env = Arc::new(Env::new().queue("Q", Arc::new(sender)));
    fetch(&e, &env, "/send");
    let m = sent.lock().unwrap().pop().expect("one message sent");
    assert_eq!(m.content_type, QueueContentType::V8);
    let delivered = QueueBatchMessage {
        id: "1".into(),
        timestamp_ms: 0,
        body: m.body,
        content_type: QueueContentType::V8,
        attempts: 1,
    };
    let r = e.queue_blocking("q", "v1", env.clone(), batch("v8", vec![delivered]));
    assert_eq!(r.error, None);
    assert_eq!(fetch(&e, &env, "/").text(), r#"[[true,"x","object"]]"#);
    e.shutdown();
}

#[test]
fn missing_handlers_and_service_worker_listeners() {
    let e = engine(WorkerSource::module(
        "export default { fetch() { return new Response('x'); } };",
    ));
    let r = e.queue_blocking(
        "q",
        "v1",
        Arc::new(Env::new()),
        batch("q", vec![message("a", "A", 1)]),
    );
    e.shutdown();
    assert_eq!(
        r.error.unwrap().message,
        "Handler does not export a queue() function."
    );
    assert_eq!(r.outcomes, vec![RETRY]);

    let e = engine(WorkerSource::script("addEventListener('fetch', () => {});"));
    let r = e.queue_blocking(
        "q",
        "v1",
        Arc::new(Env::new()),
        batch("q", vec![message("a", "A", 1)]),
    );
    e.shutdown();
    assert_eq!(
        r.error.unwrap().message,
        "No event listener registered for queue messages."
    );

    let e = engine(WorkerSource::script(
        "addEventListener('queue', (event) => {
            console.log(event.queue, event.messages.length, typeof QUEUE.send, String(event));
            event.messages[0].retry();
            event.waitUntil(Promise.resolve());
        });",
    ));
    let env = Arc::new(Env::new().queue("QUEUE", Arc::new(Recorder::default())));
    let r = e.queue_blocking(
        "q",
        "v1",
        env,
        batch("sw", vec![message("a", "A", 1), message("b", "B", 1)]),
    );
    e.shutdown();
    assert_eq!(r.error, None);
    assert_eq!(r.outcomes, vec![RETRY, QueueOutcome::Ack]);
    assert_eq!(r.logs[0].message, "sw 2 function [object QueueEvent]");
}

mod embedded {
    use super::*;
    use worker_core::stores::{BrokerEvent, QueueBroker, QueueConsumer, SqliteQueue};

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("wk-queue-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Polls `f` until it holds or 5 s pass.
    fn eventually(mut f: impl FnMut() -> bool) -> bool {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < until {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    const WORKER: &str = "let seen = [];
        export default {
            async fetch(req, env) {
                const url = new URL(req.url);
                if (url.pathname === '/send') {
                    await env.JOBS.sendBatch([{ body: 'ok' }, { body: 'flaky' }, { body: 'poison' }]);
                    return new Response('sent');
                }
                return Response.json(seen.sort());
            },
            queue(batch) {
                for (const m of batch.messages) {
                    seen.push(`${batch.queue}:${m.body}#${m.attempts}`);
                    if (batch.queue === 'jobs' && m.body === 'poison') m.retry();
                    if (batch.queue === 'jobs' && m.body === 'flaky' && m.attempts < 2) m.retry();
                }
            },
        };";

    #[test]
    fn the_broker_delivers_retries_and_dead_letters() {
        let dir = temp_dir("broker");
        let jobs = SqliteQueue::open(dir.join("jobs.sqlite")).unwrap();
        let dlq = SqliteQueue::open(dir.join("dlq.sqlite")).unwrap();
        let e = engine(WorkerSource::module(WORKER));
        let env = Arc::new(Env::new().queue("JOBS", Arc::new(jobs.clone())));
        let broker = QueueBroker::new(e.clone()).unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        broker.set_observer(move |e| {
            if let BrokerEvent::DeadLettered { id, .. } = e {
                ev.lock().unwrap().push(id.clone());
            }
        });
        let mut consumer = QueueConsumer::new("jobs", jobs, "q", "v1", env.clone());
        consumer.max_batch_timeout = Duration::ZERO;
        consumer.max_retries = 1;
        consumer.dead_letter_queue = Some(("dlq".into(), dlq.clone()));
        broker.consume(consumer).unwrap();
        let mut dlq_consumer = QueueConsumer::new("dlq", dlq, "q", "v1", env.clone());
        dlq_consumer.max_batch_timeout = Duration::ZERO;
        broker.consume(dlq_consumer).unwrap();

        fetch(&e, &env, "/send");
        let want = r#"["dlq:poison#1","jobs:flaky#1","jobs:flaky#2","jobs:ok#1","jobs:poison#1","jobs:poison#2"]"#;
        let mut last = String::new();
        let done = eventually(|| {
            last = fetch(&e, &env, "/seen").text();
            last == want
        });
        assert!(done, "got {last}");
        assert_eq!(events.lock().unwrap().len(), 1);
        broker.shutdown();
        e.shutdown();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn messages_survive_a_restart_and_wait_for_a_full_batch_or_the_timeout() {
        let dir = temp_dir("restart");
        let path = dir.join("q.sqlite");
        // A first engine sends with nobody consuming.
        {
            let q = SqliteQueue::open(&path).unwrap();
            let e = engine(WorkerSource::module(
                "export default { async fetch(req, env) {
                    for (let i = 0; i < 5; i++) await env.Q.send({ i });
                    return Response.json(await env.Q.metrics());
                } };",
            ));
            let env = Arc::new(Env::new().queue("Q", Arc::new(q)));
            let v: serde_json::Value = serde_json::from_slice(&fetch(&e, &env, "/").body).unwrap();
            assert_eq!(v["backlogCount"], 5);
            assert_eq!(v["backlogBytes"], 35);
            assert!(v["oldestMessageTimestamp"].is_string());
            e.shutdown();
        }
        // A second one consumes in batches of 2 with a long timeout: two full batches go at
        // once, the fifth message waits.
        let e = engine(WorkerSource::module(
            "let sizes = [];
            export default {
                fetch() { return Response.json(sizes); },
                queue(batch) { sizes.push(batch.messages.map((m) => m.body.i).join('+')); },
            };",
        ));
        let env = Arc::new(Env::new());
        let broker = QueueBroker::new(e.clone()).unwrap();
        let q = SqliteQueue::open(&path).unwrap();
        let mut consumer = QueueConsumer::new("q", q.clone(), "q", "v1", env.clone());
        consumer.max_batch_size = 2;
        consumer.max_batch_timeout = Duration::from_secs(60);
        broker.consume(consumer).unwrap();
        let mut last = String::new();
        assert!(
            eventually(|| {
                last = fetch(&e, &env, "/").text();
                last == r#"["0+1","2+3"]"#
            }),
            "got {last}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(fetch(&e, &env, "/").text(), r#"["0+1","2+3"]"#);
        broker.shutdown();
        e.shutdown();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let m = rt.block_on(q.metrics()).unwrap();
        assert_eq!(m.backlog_count, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_batch_the_engine_cannot_run_is_not_an_attempt() {
        let dir = temp_dir("stopped");
        let q = SqliteQueue::open(dir.join("q.sqlite")).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let msg = QueueMessage {
            body: b"\"x\"".to_vec(),
            ..Default::default()
        };
        rt.block_on(q.send(vec![msg])).unwrap();

        let code = "let seen = [];
            export default {
                fetch() { return Response.json(seen); },
                queue(batch) { for (const m of batch.messages) seen.push(m.attempts); },
            };";
        let stopped = engine(WorkerSource::module(code));
        stopped.shutdown();
        let broker = QueueBroker::new(stopped).unwrap();
        let mut c = QueueConsumer::new("q", q.clone(), "q", "v1", Arc::new(Env::new()));
        c.max_batch_timeout = Duration::ZERO;
        broker.consume(c.clone()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        broker.shutdown();
        assert_eq!(rt.block_on(q.metrics()).unwrap().backlog_count, 1);

        let e = engine(WorkerSource::module(code));
        let broker = QueueBroker::new(e.clone()).unwrap();
        broker.consume(c).unwrap();
        let env = Arc::new(Env::new());
        assert!(eventually(|| fetch(&e, &env, "/").text() == "[1]"));
        broker.shutdown();
        e.shutdown();
        assert_eq!(rt.block_on(q.metrics()).unwrap().backlog_count, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
