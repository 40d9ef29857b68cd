//! The embedded queue: one SQLite file per queue, and a broker that delivers its messages to a
//! consumer worker in batches through [`Engine::queue`].
//!
//! Producers ([`SqliteQueue`] as a [`QueueSender`]) insert rows; the broker claims visible rows
//! (leasing them), hands the batch to the worker and applies the outcomes: acked rows are
//! deleted, retried rows become visible again after their delay, and rows past `max_retries`
//! move to the dead-letter queue (or are dropped). Everything is in the file, so messages
//! survive restarts. Every handle opened on the same path in one process shares one connection
//! and one change signal, so a send wakes the broker at once; sends from other processes are
//! picked up by polling.
use super::sqlite::Db;
use crate::api::host::HostError;
use crate::api::queue::{
    QueueBatch, QueueBatchMessage, QueueContentType, QueueMessage, QueueMetrics, QueueOutcome,
    QueueResult, QueueSender,
};
use crate::engine::{Engine, Env, ErrorKind};
use async_trait::async_trait;
use rusqlite::{Connection, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    -- deliveries so far (a claim counts one)
    attempts INTEGER NOT NULL DEFAULT 0,
    -- ms since the epoch; claimed rows are leased by moving it into the future
    visible_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at);
CREATE INDEX IF NOT EXISTS messages_id ON messages (id);";

/// How often a consumer looks at its file when nothing in this process signalled a change
/// (sends from other processes, leases that expire).
const POLL: Duration = Duration::from_secs(1);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    // An id only has to be unique; fall back to the clock if the OS has no randomness.
    if getrandom::fill(&mut b).is_err() {
        b[..16].copy_from_slice(&(now_ms() as u128).to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One open queue file, shared by every handle on the same path in this process.
struct QueueFile {
    db: Db,
    /// Bumped on every send, so a consumer waiting on this file wakes at once.
    changed: watch::Sender<u64>,
}

static OPEN: LazyLock<Mutex<HashMap<PathBuf, Weak<QueueFile>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A queue kept in a SQLite file. As a [`QueueSender`] it is the producer binding
/// (`env.QUEUE`); [`QueueBroker::consume`] delivers its messages to a worker.
#[derive(Clone)]
pub struct SqliteQueue {
    file: Arc<QueueFile>,
    /// Seconds added to messages sent without `delaySeconds` (wrangler's `delivery_delay`).
    delivery_delay: u32,
}

impl SqliteQueue {
    /// Opens (creating as needed, with its directory) the queue file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteQueue, String> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // One key per file, however it was named.
        let key = match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
            .map(|d| d.join(name))
            .unwrap_or_else(|_| path.to_path_buf()),
            _ => path.to_path_buf(),
        };
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, f| f.strong_count() > 0);
        let file = match open.get(&key).and_then(Weak::upgrade) {
            Some(f) => f,
            None => {
                let f = Arc::new(QueueFile {
                    db: Db::open(path, SCHEMA)?,
                    changed: watch::channel(0).0,
                });
                open.insert(key, Arc::downgrade(&f));
                f
            }
        };
        Ok(SqliteQueue {
            file,
            delivery_delay: 0,
        })
    }

    /// The same queue, delaying messages sent without `delaySeconds` by `seconds`.
    pub fn with_delivery_delay(mut self, seconds: u32) -> SqliteQueue {
        self.delivery_delay = seconds;
        self
    }

    fn signal(&self) {
        self.file.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Inserts messages that keep their id, timestamp and body (a dead-lettered message).
    async fn insert_delivered(&self, messages: Vec<QueueBatchMessage>) -> Result<(), HostError> {
        self.file
            .db
            .run(move |c| {
                let tx = c.transaction()?;
                let now = now_ms();
                for m in &messages {
                    tx.execute(
                        "INSERT INTO messages (id, timestamp_ms, content_type, body, attempts,
                             visible_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
                        params![
                            m.id,
                            m.timestamp_ms as i64,
                            m.content_type.as_str(),
                            m.body,
                            now
                        ],
                    )?;
                }
                tx.commit()
            })
            .await?;
        self.signal();
        Ok(())
    }

    /// Counts visible messages: (how many, since when the oldest is visible, when the next
    /// invisible one becomes visible).
    async fn peek(&self) -> Result<(u64, Option<i64>, Option<i64>), HostError> {
        self.file
            .db
            .run(|c| {
                let now = now_ms();
                let (n, oldest) = c.query_row(
                    "SELECT COUNT(*), MIN(visible_at) FROM messages WHERE visible_at <= ?1",
                    [now],
                    |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Option<i64>>(1)?)),
                )?;
                let next = c.query_row(
                    "SELECT MIN(visible_at) FROM messages WHERE visible_at > ?1",
                    [now],
                    |r| r.get::<_, Option<i64>>(0),
                )?;
                Ok((n, oldest, next))
            })
            .await
    }

    /// Leases up to `n` visible messages for `lease`, counting the delivery in `attempts`.
    async fn claim(&self, n: usize, lease: Duration) -> Result<Vec<QueueBatchMessage>, HostError> {
        self.file
            .db
            .run(move |c| {
                let tx = c.transaction()?;
                let now = now_ms();
                let mut out = Vec::new();
                {
                    let mut stmt = tx.prepare_cached(
                        "SELECT seq, id, timestamp_ms, content_type, body, attempts FROM messages
                         WHERE visible_at <= ?1 ORDER BY seq LIMIT ?2",
                    )?;
                    let rows = stmt.query_map(params![now, n as i64], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            QueueBatchMessage {
                                id: r.get(1)?,
                                timestamp_ms: r.get::<_, i64>(2)? as u64,
                                content_type: QueueContentType::parse(&r.get::<_, String>(3)?)
                                    .unwrap_or_default(),
                                body: r.get(4)?,
                                attempts: r.get::<_, i64>(5)? as u32 + 1,
                            },
                        ))
                    })?;
                    for row in rows {
                        out.push(row?);
                    }
                }
                let until = now + lease.as_millis() as i64;
                for (seq, _) in &out {
                    tx.execute(
                        "UPDATE messages SET attempts = attempts + 1, visible_at = ?2 WHERE seq = ?1",
                        params![seq, until],
                    )?;
                }
                tx.commit()?;
                Ok(out.into_iter().map(|(_, m)| m).collect())
            })
            .await
    }

    /// Applies a delivery's decisions to the leased rows `ids`: delete, make visible again at
    /// a time (ms), or give the delivery back uncounted.
    async fn settle(&self, ids: Vec<(String, Settle)>) -> Result<(), HostError> {
        self.file
            .db
            .run(move |c| {
                let tx = c.transaction()?;
                for (id, s) in &ids {
                    match s {
                        Settle::Delete => {
                            tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
                        }
                        Settle::VisibleAt(at) => {
                            tx.execute(
                                "UPDATE messages SET visible_at = ?2 WHERE id = ?1",
                                params![id, at],
                            )?;
                        }
                        Settle::Release => {
                            tx.execute(
                                "UPDATE messages SET visible_at = ?2, attempts = attempts - 1
                                 WHERE id = ?1",
                                params![id, now_ms()],
                            )?;
                        }
                    }
                }
                tx.commit()
            })
            .await?;
        self.signal();
        Ok(())
    }
}

enum Settle {
    Delete,
    VisibleAt(i64),
    Release,
}

fn metrics(c: &Connection) -> rusqlite::Result<QueueMetrics> {
    c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0), MIN(timestamp_ms) FROM messages",
        [],
        |r| {
            Ok(QueueMetrics {
                backlog_count: r.get::<_, i64>(0)? as u64,
                backlog_bytes: r.get::<_, i64>(1)? as u64,
                oldest_message_timestamp_ms: r.get::<_, Option<i64>>(2)?.map(|t| t as u64),
            })
        },
    )
}

#[async_trait]
impl QueueSender for SqliteQueue {
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<QueueMetrics, HostError> {
        let default_delay = self.delivery_delay;
        let m = self
            .file
            .db
            .run(move |c| {
                let tx = c.transaction()?;
                let now = now_ms();
                for m in &messages {
                    let delay = m.delay_seconds.unwrap_or(default_delay) as i64;
                    tx.execute(
                        "INSERT INTO messages (id, timestamp_ms, content_type, body, visible_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            new_id(),
                            now,
                            m.content_type.as_str(),
                            m.body,
                            now + delay * 1000
                        ],
                    )?;
                }
                let m = metrics(&tx)?;
                tx.commit()?;
                Ok(m)
            })
            .await?;
        self.signal();
        Ok(m)
    }

    async fn metrics(&self) -> Result<QueueMetrics, HostError> {
        self.file.db.run(|c| metrics(c)).await
    }
}

/// How a consumer takes messages from its queue (wrangler's `queues.consumers` settings).
#[derive(Clone)]
pub struct QueueConsumer {
    /// `batch.queue`, and the name in broker events.
    pub queue_name: String,
    pub queue: SqliteQueue,
    /// The worker that consumes, and the env it runs with.
    pub site_id: String,
    pub deploy_key: String,
    pub env: Arc<Env>,
    /// At most this many messages per batch (1..=100; default 10).
    pub max_batch_size: usize,
    /// How long a partial batch waits for more messages (default 5 s; 0 delivers at once).
    pub max_batch_timeout: Duration,
    /// Retries before a message is dead-lettered or dropped (default 3: four deliveries).
    pub max_retries: u32,
    /// Where messages go after `max_retries` retries: (name, queue). None drops them.
    pub dead_letter_queue: Option<(String, SqliteQueue)>,
    /// Delay of retries that do not give one, in seconds (default 0).
    pub retry_delay: u32,
}

impl QueueConsumer {
    /// A consumer with Cloudflare's default settings.
    pub fn new(
        queue_name: impl Into<String>,
        queue: SqliteQueue,
        site_id: impl Into<String>,
        deploy_key: impl Into<String>,
        env: Arc<Env>,
    ) -> QueueConsumer {
        QueueConsumer {
            queue_name: queue_name.into(),
            queue,
            site_id: site_id.into(),
            deploy_key: deploy_key.into(),
            env,
            max_batch_size: 10,
            max_batch_timeout: Duration::from_secs(5),
            max_retries: 3,
            dead_letter_queue: None,
            retry_delay: 0,
        }
    }
}

/// What the broker did, for hosts that log or count.
#[derive(Debug)]
pub enum BrokerEvent {
    /// A batch went to the worker; `result` holds its outcomes, logs and error.
    Delivered {
        queue: String,
        ids: Vec<String>,
        result: QueueResult,
    },
    /// A message ran out of retries and moved to the dead-letter queue.
    DeadLettered {
        queue: String,
        dead_letter_queue: String,
        id: String,
    },
    /// A message ran out of retries and, with no dead-letter queue, was deleted.
    Dropped {
        queue: String,
        id: String,
        attempts: u32,
    },
    /// The queue's storage failed; the broker tries again later.
    StorageError { queue: String, message: String },
}

type Observer = Arc<dyn Fn(&BrokerEvent) + Send + Sync>;

/// Writes drops and failures to stderr: the default when the host installs no observer.
fn default_observer(e: &BrokerEvent) {
    match e {
        BrokerEvent::Dropped {
            queue,
            id,
            attempts,
        } => eprintln!(
            "queue {queue}: message {id} dropped after {attempts} attempts (no dead-letter queue)"
        ),
        BrokerEvent::StorageError { queue, message } => eprintln!("queue {queue}: {message}"),
        _ => {}
    }
}

#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    idle: Condvar,
}

/// Delivers messages of embedded queues to consumer workers. Usable by any embedder: create it
/// with the engine, register consumers with [`QueueBroker::consume`], and call
/// [`QueueBroker::shutdown`] (or drop it) before shutting the engine down. Batches run one at a
/// time per queue, on the broker's own thread.
pub struct QueueBroker {
    engine: Engine,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    observer: Arc<Mutex<Observer>>,
    /// Stop signal per consumed queue name.
    consumers: Mutex<HashMap<String, watch::Sender<bool>>>,
    running: Arc<Running>,
}

impl QueueBroker {
    /// Starts a broker delivering through `engine`.
    pub fn new(engine: Engine) -> Result<QueueBroker, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wk-queue-broker")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the queue broker: {e}"))?;
        Ok(QueueBroker {
            engine,
            runtime: Mutex::new(Some(runtime)),
            observer: Arc::new(Mutex::new(Arc::new(default_observer))),
            consumers: Mutex::new(HashMap::new()),
            running: Arc::default(),
        })
    }

    /// Receives every [`BrokerEvent`] from now on (on the broker's thread; keep it short).
    pub fn set_observer(&self, f: impl Fn(&BrokerEvent) + Send + Sync + 'static) {
        *self.observer.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(f);
    }

    /// Starts delivering `consumer.queue` to its worker. A queue name consumed again replaces
    /// the earlier consumer once its batch in flight (if any) is done.
    pub fn consume(&self, consumer: QueueConsumer) -> Result<(), String> {
        let rt = self.runtime.lock().unwrap_or_else(|p| p.into_inner());
        let rt = rt.as_ref().ok_or("the queue broker is shut down")?;
        let (stop_tx, stop_rx) = watch::channel(false);
        if let Some(old) = self
            .consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(consumer.queue_name.clone(), stop_tx)
        {
            let _ = old.send(true);
        }
        *self.running.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let running = self.running.clone();
        let engine = self.engine.clone();
        let observer = self.observer.clone();
        rt.spawn(async move {
            consume_loop(engine, consumer, observer, stop_rx).await;
            let mut n = running.count.lock().unwrap_or_else(|p| p.into_inner());
            *n -= 1;
            running.idle.notify_all();
        });
        Ok(())
    }

    /// Stops every consumer after its batch in flight and stops the broker's thread. Blocks;
    /// must not be called from inside an async runtime. Idempotent.
    pub fn shutdown(&self) {
        for (_, stop) in self
            .consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
        {
            let _ = stop.send(true);
        }
        {
            let mut n = self.running.count.lock().unwrap_or_else(|p| p.into_inner());
            while *n > 0 {
                n = self.running.idle.wait(n).unwrap_or_else(|p| p.into_inner());
            }
        }
        if let Some(rt) = self
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            rt.shutdown_background();
        }
    }
}

impl Drop for QueueBroker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How long a delivered batch stays leased: the longest the engine lets it run, plus a margin.
/// A lease only matters when a process dies mid-delivery; the batch comes back after it.
fn lease(engine: &Engine) -> Duration {
    match engine.config().wall_time_ms {
        0 => Duration::from_secs(15 * 60),
        ms => Duration::from_millis(ms) + Duration::from_secs(30),
    }
}

async fn consume_loop(
    engine: Engine,
    c: QueueConsumer,
    observer: Arc<Mutex<Observer>>,
    mut stop: watch::Receiver<bool>,
) {
    let emit = |e: BrokerEvent| {
        let f = observer.lock().unwrap_or_else(|p| p.into_inner()).clone();
        f(&e);
    };
    let mut changed = c.queue.file.changed.subscribe();
    let batch_size = c.max_batch_size.clamp(1, 100);
    let timeout = c.max_batch_timeout.as_millis() as i64;
    loop {
        if *stop.borrow() {
            return;
        }
        changed.borrow_and_update();
        let now = now_ms();
        let wake = match c.queue.peek().await {
            Ok((n, oldest, next)) => {
                let due = oldest.map(|t| t + timeout);
                if n as usize >= batch_size || due.is_some_and(|d| d <= now) {
                    match deliver(&engine, &c, batch_size, &emit).await {
                        Ok(true) => continue,
                        // The engine could not take the batch (it is shutting down): try again
                        // later rather than spinning.
                        Ok(false) => Some(now + POLL.as_millis() as i64),
                        Err(e) => {
                            emit(BrokerEvent::StorageError {
                                queue: c.queue_name.clone(),
                                message: e.message,
                            });
                            Some(now + POLL.as_millis() as i64)
                        }
                    }
                } else {
                    [due, next].into_iter().flatten().min()
                }
            }
            Err(e) => {
                emit(BrokerEvent::StorageError {
                    queue: c.queue_name.clone(),
                    message: e.message,
                });
                None
            }
        };
        let wait = wake
            .map(|w| Duration::from_millis((w - now).max(0) as u64))
            .unwrap_or(POLL)
            .min(POLL);
        tokio::select! {
            _ = changed.changed() => {}
            _ = stop.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Claims and delivers one batch. Ok(false) when the engine could not run it at all.
async fn deliver(
    engine: &Engine,
    c: &QueueConsumer,
    batch_size: usize,
    emit: &impl Fn(BrokerEvent),
) -> Result<bool, HostError> {
    let messages = c.queue.claim(batch_size, lease(engine)).await?;
    if messages.is_empty() {
        return Ok(true);
    }
    let metrics = c.queue.metrics().await.unwrap_or_default();
    let batch = QueueBatch {
        queue: c.queue_name.clone(),
        messages,
        metrics,
    };
    let delivered = batch.messages.clone();
    let result = engine
        .queue(&c.site_id, &c.deploy_key, c.env.clone(), batch)
        .await;
    let now = now_ms();
    let mut settle = Vec::with_capacity(delivered.len());
    let mut dead = Vec::new();
    // The engine could not run the batch at all (it is shutting down): the delivery did not
    // happen, so it does not count as an attempt.
    let undelivered = result
        .error
        .as_ref()
        .is_some_and(|e| e.kind == ErrorKind::Internal);
    for (m, outcome) in delivered.iter().zip(&result.outcomes) {
        let s = match outcome {
            _ if undelivered => Settle::Release,
            QueueOutcome::Ack => Settle::Delete,
            QueueOutcome::Retry { .. } if m.attempts > c.max_retries => {
                dead.push(m.clone());
                Settle::Delete
            }
            QueueOutcome::Retry { delay_seconds } => {
                let delay = delay_seconds.unwrap_or(c.retry_delay) as i64;
                Settle::VisibleAt(now + delay * 1000)
            }
        };
        settle.push((m.id.clone(), s));
    }
    let ids = delivered.iter().map(|m| m.id.clone()).collect();
    emit(BrokerEvent::Delivered {
        queue: c.queue_name.clone(),
        ids,
        result,
    });
    // Dead letters are written before they leave this queue: a crash in between delivers
    // them twice rather than never.
    if !dead.is_empty() {
        match &c.dead_letter_queue {
            Some((name, dlq)) => {
                dlq.insert_delivered(dead.clone()).await?;
                for m in &dead {
                    emit(BrokerEvent::DeadLettered {
                        queue: c.queue_name.clone(),
                        dead_letter_queue: name.clone(),
                        id: m.id.clone(),
                    });
                }
            }
            None => {
                for m in &dead {
                    emit(BrokerEvent::Dropped {
                        queue: c.queue_name.clone(),
                        id: m.id.clone(),
                        attempts: m.attempts,
                    });
                }
            }
        }
    }
    c.queue.settle(settle).await?;
    Ok(!undelivered)
}
