//! The engine: executor threads, worker isolates, limits and the public entry points.
mod executor;
mod types;
mod watchdog;
pub(crate) mod worker;

pub use types::*;

use crate::api::queue::{QueueBatch, QueueResult};
use executor::{Job, Shared, WorkerKey};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// A worker runtime. Cheap to clone; every clone drives the same executor threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    senders: Vec<mpsc::UnboundedSender<Job>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The startup snapshot, built once per process from the bootstrap JS.
fn snapshot() -> Result<&'static [u8], WorkerError> {
    static SNAPSHOT: OnceLock<Result<&'static [u8], WorkerError>> = OnceLock::new();
    SNAPSHOT
        .get_or_init(|| {
            let threads = std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(4);
            crate::v8::init(threads, &crate::api::OPS);
            let scripts: Vec<(&str, String)> = crate::js::BOOTSTRAP
                .iter()
                .map(|(name, src)| (*name, src.to_string()))
                .collect();
            crate::v8::create_snapshot(&crate::api::OPS, &scripts)
                .map(|blob| &*Box::leak(blob.into_boxed_slice()))
                .map_err(|e| {
                    WorkerError::new(
                        ErrorKind::Internal,
                        format!("bootstrap JavaScript failed: {e}\n{}", e.stack),
                    )
                })
        })
        .clone()
}

fn shut_down() -> WorkerError {
    WorkerError::new(ErrorKind::Internal, "the engine is shut down")
}

impl Engine {
    /// Starts `config.pool_size` executor threads. Workers are loaded through `loader` on first
    /// use (or from `compile_and_cache`).
    pub fn new(
        mut config: EngineConfig,
        loader: Arc<dyn SourceLoader>,
    ) -> Result<Engine, WorkerError> {
        config.pool_size = config.pool_size.max(1);
        let shared = Arc::new(Shared::new(config, loader, snapshot()?));
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for index in 0..shared.config.pool_size {
            let (tx, rx) = mpsc::unbounded_channel();
            let shared = shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("wk-executor-{index}"))
                .spawn(move || executor::run(index, shared, rx))
                .map_err(|e| {
                    WorkerError::new(ErrorKind::Internal, format!("spawn executor: {e}"))
                })?;
            senders.push(tx);
            threads.push(thread);
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                shared,
                senders,
                threads: Mutex::new(threads),
            }),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.shared.config
    }

    /// The version of V8 the engine runs on.
    pub fn v8_version() -> String {
        crate::v8::version()
    }

    fn send(&self, key: &WorkerKey, job: Job) -> bool {
        let n = self.inner.senders.len();
        self.inner.senders[key.thread(n)].send(job).is_ok()
    }

    fn key(site_id: &str, deploy_key: &str) -> WorkerKey {
        WorkerKey {
            site: site_id.to_string(),
            deploy: deploy_key.to_string(),
        }
    }

    fn fetch_job(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        request: WorkerRequest,
    ) -> Option<oneshot::Receiver<ExecuteResult>> {
        let key = Self::key(site_id, deploy_key);
        let (reply, rx) = oneshot::channel();
        let job = Job::Fetch {
            key: key.clone(),
            env,
            request,
            reply,
        };
        self.send(&key, job).then_some(rx)
    }

    fn function_job(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        name: &str,
        json_args: &str,
    ) -> Option<oneshot::Receiver<FunctionResult>> {
        let key = Self::key(site_id, deploy_key);
        let (reply, rx) = oneshot::channel();
        let job = Job::Function {
            key: key.clone(),
            env,
            name: name.to_string(),
            args: if json_args.trim().is_empty() {
                "[]".into()
            } else {
                json_args.to_string()
            },
            reply,
        };
        self.send(&key, job).then_some(rx)
    }

    /// Runs the worker's fetch handler for `request`.
    pub async fn execute(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        request: WorkerRequest,
    ) -> ExecuteResult {
        match self.fetch_job(site_id, deploy_key, env, request) {
            Some(rx) => rx.await.unwrap_or_else(|_| lost()),
            None => ExecuteResult::failed(shut_down(), Vec::new(), Default::default()),
        }
    }

    /// Blocking form of [`Engine::execute`]; must not be called from inside an async runtime.
    pub fn execute_blocking(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        request: WorkerRequest,
    ) -> ExecuteResult {
        match self.fetch_job(site_id, deploy_key, env, request) {
            Some(rx) => executor::wait_reply(rx).unwrap_or_else(lost),
            None => ExecuteResult::failed(shut_down(), Vec::new(), Default::default()),
        }
    }

    /// Calls the named export (a function, or a method of the default export) with
    /// `(env, ...args)` where `json_args` is a JSON array; returns the JSON of the awaited result.
    pub async fn execute_function(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        name: &str,
        json_args: &str,
    ) -> FunctionResult {
        match self.function_job(site_id, deploy_key, env, name, json_args) {
            Some(rx) => rx.await.unwrap_or_else(|_| lost_fn()),
            None => failed_fn(shut_down()),
        }
    }

    /// Blocking form of [`Engine::execute_function`].
    pub fn execute_function_blocking(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        name: &str,
        json_args: &str,
    ) -> FunctionResult {
        match self.function_job(site_id, deploy_key, env, name, json_args) {
            Some(rx) => executor::wait_reply(rx).unwrap_or_else(lost_fn),
            None => failed_fn(shut_down()),
        }
    }

    fn queue_job(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        batch: QueueBatch,
    ) -> Option<oneshot::Receiver<QueueResult>> {
        let key = Self::key(site_id, deploy_key);
        let (reply, rx) = oneshot::channel();
        let job = Job::Queue {
            key: key.clone(),
            env,
            batch,
            reply,
        };
        self.send(&key, job).then_some(rx)
    }

    /// Delivers `batch` to the worker's `queue(batch, env, ctx)` handler (or its `queue` event
    /// listeners) and reports what should happen to each message. The worker runs in the same
    /// isolate as its fetch requests. An embedder's own queue calls this; the embedded broker
    /// ([`crate::stores::QueueBroker`]) does it for SQLite queues.
    pub async fn queue(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        batch: QueueBatch,
    ) -> QueueResult {
        let n = batch.messages.len();
        match self.queue_job(site_id, deploy_key, env, batch) {
            Some(rx) => rx.await.unwrap_or_else(|_| lost_queue(n)),
            None => QueueResult::failed(n, shut_down(), Vec::new(), Default::default()),
        }
    }

    /// Blocking form of [`Engine::queue`]; must not be called from inside an async runtime.
    pub fn queue_blocking(
        &self,
        site_id: &str,
        deploy_key: &str,
        env: Arc<Env>,
        batch: QueueBatch,
    ) -> QueueResult {
        let n = batch.messages.len();
        match self.queue_job(site_id, deploy_key, env, batch) {
            Some(rx) => executor::wait_reply(rx).unwrap_or_else(|| lost_queue(n)),
            None => QueueResult::failed(n, shut_down(), Vec::new(), Default::default()),
        }
    }

    /// Compiles `source` for (site, deploy), reporting syntax errors with file:line:col, and
    /// returns the main module's V8 code cache. Later requests for (site, deploy) use this
    /// source (instead of the loader) and its code cache; a resident isolate is replaced.
    /// Blocking; must not be called from inside an async runtime.
    pub fn compile_and_cache(
        &self,
        site_id: &str,
        deploy_key: &str,
        source: WorkerSource,
    ) -> Result<Vec<u8>, WorkerError> {
        let key = Self::key(site_id, deploy_key);
        let name = executor::key_str(&key);
        let previous = self
            .inner
            .shared
            .sources
            .lock()
            .unwrap()
            .insert(name.clone(), Arc::new(source));
        let (reply, rx) = oneshot::channel();
        if !self.send(
            &key,
            Job::Compile {
                key: key.clone(),
                reply,
            },
        ) {
            return Err(shut_down());
        }
        let result = rx
            .blocking_recv()
            .unwrap_or_else(|_| Err(lost().error.unwrap()));
        if result.is_err() {
            // Keep serving the previous source rather than one that does not compile.
            let mut sources = self.inner.shared.sources.lock().unwrap();
            match previous {
                Some(p) => sources.insert(name, p),
                None => sources.remove(&name),
            };
        }
        result
    }

    /// Stops accepting work, lets in-flight requests and `waitUntil` work finish (up to 30 s),
    /// and joins the executor threads. Later calls fail with `ErrorKind::Internal`.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}

impl Inner {
    fn shutdown(&self) {
        for tx in &self.senders {
            let _ = tx.send(Job::Shutdown);
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap());
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
        self.shared.watchdog.stop();
    }
}

fn lost() -> ExecuteResult {
    ExecuteResult::failed(
        WorkerError::new(
            ErrorKind::Internal,
            "the executor thread dropped the request",
        ),
        Vec::new(),
        Default::default(),
    )
}

fn failed_fn(error: WorkerError) -> FunctionResult {
    FunctionResult {
        data: None,
        logs: Vec::new(),
        error: Some(error),
        duration: Default::default(),
    }
}

fn lost_queue(n: usize) -> QueueResult {
    QueueResult::failed(
        n,
        WorkerError::new(ErrorKind::Internal, "the executor thread dropped the batch"),
        Vec::new(),
        Default::default(),
    )
}

fn lost_fn() -> FunctionResult {
    failed_fn(WorkerError::new(
        ErrorKind::Internal,
        "the executor thread dropped the call",
    ))
}
