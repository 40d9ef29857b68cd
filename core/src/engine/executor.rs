//! Executor threads: one OS thread, one single-threaded event loop, many isolates that never
//! leave it. Workers are routed to a thread by key, so a worker's isolate always lives on one
//! thread and its requests interleave there while they await.
use super::types::*;
use super::watchdog::Watchdog;
use super::worker::{Completion, Outcome, Spare, Worker};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, oneshot};

/// State every executor thread shares.
pub(crate) struct Shared {
    pub config: EngineConfig,
    pub loader: Arc<dyn SourceLoader>,
    pub snapshot: &'static [u8],
    pub watchdog: Watchdog,
    /// Sources registered by `compile_and_cache`; they take precedence over the loader.
    pub sources: Mutex<HashMap<String, Arc<WorkerSource>>>,
    /// V8 code cache by module identity, reused by every isolate that loads the module.
    code_cache: Mutex<HashMap<u64, Arc<[u8]>>>,
    /// The Cache API's default store, one scope per worker site.
    pub caches: Arc<crate::stores::MemoryCache>,
}

impl Shared {
    pub fn new(
        config: EngineConfig,
        loader: Arc<dyn SourceLoader>,
        snapshot: &'static [u8],
    ) -> Shared {
        let watchdog = Watchdog::new(config.pool_size);
        Shared {
            config,
            loader,
            snapshot,
            watchdog,
            sources: Mutex::new(HashMap::new()),
            code_cache: Mutex::new(HashMap::new()),
            caches: Arc::default(),
        }
    }

    pub fn cache_key(m: &Module) -> u64 {
        let mut h = DefaultHasher::new();
        m.name.hash(&mut h);
        m.content.hash(&mut h);
        h.finish()
    }

    pub fn cached_code(&self, key: u64) -> Option<Arc<[u8]>> {
        self.code_cache.lock().unwrap().get(&key).cloned()
    }

    pub fn store_code(&self, key: u64, code: Vec<u8>) {
        self.code_cache.lock().unwrap().insert(key, code.into());
    }
}

/// Work sent to an executor thread.
pub(crate) enum Job {
    Fetch {
        key: WorkerKey,
        env: Arc<Env>,
        request: WorkerRequest,
        reply: oneshot::Sender<ExecuteResult>,
    },
    Function {
        key: WorkerKey,
        env: Arc<Env>,
        name: String,
        args: String,
        reply: oneshot::Sender<FunctionResult>,
    },
    Queue {
        key: WorkerKey,
        env: Arc<Env>,
        batch: crate::api::queue::QueueBatch,
        reply: oneshot::Sender<crate::api::queue::QueueResult>,
    },
    Compile {
        key: WorkerKey,
        reply: oneshot::Sender<Result<Vec<u8>, WorkerError>>,
    },
    Shutdown,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct WorkerKey {
    pub site: String,
    pub deploy: String,
}

impl WorkerKey {
    pub fn thread(&self, threads: usize) -> usize {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        (h.finish() % threads.max(1) as u64) as usize
    }
}

enum Entry {
    Loading(Rc<Notify>),
    Ready(Rc<Worker>),
}

struct Executor {
    index: usize,
    shared: Arc<Shared>,
    workers: RefCell<HashMap<WorkerKey, Entry>>,
    spares: RefCell<Vec<Spare>>,
    refilling: Cell<bool>,
    clock: Cell<u64>,
    active: Cell<usize>,
    max_resident: usize,
}

/// Runs one executor thread until it receives `Job::Shutdown` (or every sender is gone).
pub(crate) fn run(index: usize, shared: Arc<Shared>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build executor event loop");
    let local = tokio::task::LocalSet::new();
    let threads = shared.config.pool_size.max(1);
    let max_resident = shared.config.max_resident_workers.div_ceil(threads);
    let exec = Rc::new(Executor {
        index,
        shared,
        workers: RefCell::new(HashMap::new()),
        spares: RefCell::new(Vec::new()),
        refilling: Cell::new(false),
        clock: Cell::new(0),
        active: Cell::new(0),
        max_resident,
    });
    local.block_on(&rt, async {
        exec.clone().refill_spares();
        while let Some(job) = next_job(&mut jobs).await {
            if matches!(job, Job::Shutdown) {
                break;
            }
            tokio::task::spawn_local(exec.clone().handle(job));
        }
        // Let in-flight requests and their waitUntil work finish (Cloudflare allows 30 s).
        let deadline = Instant::now() + Duration::from_secs(30);
        while exec.busy() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    exec.workers.borrow_mut().clear();
    exec.spares.borrow_mut().clear();
}

/// How long an executor keeps polling for the next job before parking. Waking a parked thread
/// costs tens of microseconds on virtual machines, several times a warm request's own cost.
const SPIN: Duration = Duration::from_micros(200);

/// The next job, polled for a while (running this thread's tasks in between) before parking.
async fn next_job(jobs: &mut mpsc::UnboundedReceiver<Job>) -> Option<Job> {
    let until = Instant::now() + SPIN;
    loop {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) if Instant::now() < until => {
                tokio::task::yield_now().await
            }
            Err(mpsc::error::TryRecvError::Empty) => return jobs.recv().await,
        }
    }
}

/// Blocks for a reply, polling for a while first for the same reason as [`next_job`].
pub(crate) fn wait_reply<T>(mut rx: oneshot::Receiver<T>) -> Option<T> {
    let until = Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(oneshot::error::TryRecvError::Closed) => return None,
            Err(oneshot::error::TryRecvError::Empty) if Instant::now() < until => {
                std::thread::yield_now()
            }
            Err(oneshot::error::TryRecvError::Empty) => return rx.blocking_recv().ok(),
        }
    }
}

impl Executor {
    fn busy(&self) -> bool {
        self.active.get() > 0
            || self.workers.borrow().values().any(|e| match e {
                Entry::Ready(w) => w.in_flight() > 0,
                Entry::Loading(_) => true,
            })
    }

    fn refill_spares(self: Rc<Self>) {
        if self.refilling.replace(true) {
            return;
        }
        tokio::task::spawn_local(async move {
            while self.spares.borrow().len() < self.shared.config.warm_isolates {
                // Booting an isolate takes milliseconds of this thread: do it only while no
                // request is being handled here, so it never sits in front of one.
                tokio::task::yield_now().await;
                while self.active.get() > 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let spare = Spare::new(&self.shared);
                self.spares.borrow_mut().push(spare);
            }
            self.refilling.set(false);
        });
    }

    fn take_spare(self: &Rc<Self>) -> Spare {
        let spare = self.spares.borrow_mut().pop();
        let spare = spare.unwrap_or_else(|| Spare::new(&self.shared));
        self.clone().refill_spares();
        spare
    }

    async fn handle(self: Rc<Self>, job: Job) {
        self.active.set(self.active.get() + 1);
        let started = Instant::now();
        match job {
            Job::Fetch {
                key,
                env,
                request,
                reply,
            } => {
                let result = match self.worker(&key).await {
                    Ok(w) => {
                        let c = w.fetch(&env, request).await;
                        fetch_result(c, started.elapsed())
                    }
                    Err(e) => ExecuteResult::failed(e, Vec::new(), started.elapsed()),
                };
                let _ = reply.send(result);
            }
            Job::Function {
                key,
                env,
                name,
                args,
                reply,
            } => {
                let result = match self.worker(&key).await {
                    Ok(w) => {
                        let c = w.call_function(&env, &name, &args).await;
                        function_result(c, started.elapsed())
                    }
                    Err(error) => FunctionResult {
                        data: None,
                        logs: Vec::new(),
                        error: Some(error),
                        duration: started.elapsed(),
                    },
                };
                let _ = reply.send(result);
            }
            Job::Queue {
                key,
                env,
                batch,
                reply,
            } => {
                let n = batch.messages.len();
                let result = match self.worker(&key).await {
                    Ok(w) => {
                        let c = w.queue(&env, &batch).await;
                        crate::api::queue::queue_result(c, n, started.elapsed())
                    }
                    Err(e) => {
                        crate::api::queue::QueueResult::failed(n, e, Vec::new(), started.elapsed())
                    }
                };
                let _ = reply.send(result);
            }
            Job::Compile { key, reply } => {
                // Replace any resident isolate so the new source takes effect.
                let resident = matches!(self.workers.borrow().get(&key), Some(Entry::Ready(_)));
                if resident {
                    self.workers.borrow_mut().remove(&key);
                }
                let result = self.load(&key).await.map(|(_, cache)| cache);
                let _ = reply.send(result);
            }
            Job::Shutdown => {}
        }
        self.active.set(self.active.get() - 1);
    }

    /// The resident worker for `key`, loading it (once, even under concurrent requests).
    async fn worker(self: &Rc<Self>, key: &WorkerKey) -> Result<Rc<Worker>, WorkerError> {
        loop {
            let waiting = match self.workers.borrow().get(key) {
                Some(Entry::Ready(w)) if !w.condemned() => {
                    self.touch(w);
                    return Ok(w.clone());
                }
                Some(Entry::Loading(n)) => Some(n.clone()),
                _ => None,
            };
            match waiting {
                Some(n) => n.notified().await,
                None => return self.load(key).await.map(|(w, _)| w),
            }
        }
    }

    async fn load(self: &Rc<Self>, key: &WorkerKey) -> Result<(Rc<Worker>, Vec<u8>), WorkerError> {
        let notify = Rc::new(Notify::new());
        self.workers
            .borrow_mut()
            .insert(key.clone(), Entry::Loading(notify.clone()));
        let result = self.instantiate(key).await;
        match &result {
            Ok((w, _)) => {
                self.touch(w);
                self.workers
                    .borrow_mut()
                    .insert(key.clone(), Entry::Ready(w.clone()));
                self.evict();
            }
            Err(_) => {
                self.workers.borrow_mut().remove(key);
            }
        }
        notify.notify_waiters();
        result
    }

    async fn instantiate(
        self: &Rc<Self>,
        key: &WorkerKey,
    ) -> Result<(Rc<Worker>, Vec<u8>), WorkerError> {
        let registered = self
            .shared
            .sources
            .lock()
            .unwrap()
            .get(key_str(key).as_str())
            .cloned();
        let source = match registered {
            Some(s) => s,
            None => {
                let loader = self.shared.loader.clone();
                let (site, deploy) = (key.site.clone(), key.deploy.clone());
                let loaded = tokio::task::spawn_blocking(move || loader.load(&site, &deploy))
                    .await
                    .map_err(|_| WorkerError::new(ErrorKind::Internal, "source loader panicked"))?;
                Arc::new(loaded.map_err(|e| {
                    WorkerError::new(
                        ErrorKind::ScriptNotFound,
                        format!("could not load worker {}/{}: {e}", key.site, key.deploy),
                    )
                })?)
            }
        };
        let worker = Worker::new(self.take_spare(), self.shared.clone(), self.index);
        worker.set_default_cache(self.shared.caches.scoped(&key.site));
        let cache = worker.load(&source)?;
        Ok((worker, cache))
    }

    fn touch(&self, w: &Worker) {
        let t = self.clock.get() + 1;
        self.clock.set(t);
        w.last_used.set(t);
    }

    /// Drops least-recently-used idle workers beyond this thread's share of the resident limit.
    fn evict(&self) {
        if self.max_resident == 0 {
            return;
        }
        let mut workers = self.workers.borrow_mut();
        while workers.len() > self.max_resident {
            let victim = workers
                .iter()
                .filter_map(|(k, e)| match e {
                    Entry::Ready(w) if w.in_flight() == 0 => Some((w.last_used.get(), k.clone())),
                    _ => None,
                })
                .min_by_key(|(t, _)| *t);
            match victim {
                Some((_, k)) => {
                    workers.remove(&k);
                }
                None => break,
            }
        }
    }
}

pub(crate) fn key_str(key: &WorkerKey) -> String {
    format!("{}\u{0}{}", key.site, key.deploy)
}

fn fetch_result(c: Completion, duration: Duration) -> ExecuteResult {
    match c.outcome {
        Outcome::Response(r) => ExecuteResult {
            status: r.status,
            status_text: r.status_text,
            headers: r.headers,
            body: r.body,
            logs: c.logs,
            error: None,
            pass_through: false,
            duration,
        },
        Outcome::Json(_) => ExecuteResult::failed(
            WorkerError::new(ErrorKind::Internal, "fetch produced a function result"),
            c.logs,
            duration,
        ),
        Outcome::Failed(e) => ExecuteResult {
            pass_through: c.pass_through,
            ..ExecuteResult::failed(e, c.logs, duration)
        },
    }
}

fn function_result(c: Completion, duration: Duration) -> FunctionResult {
    let (data, error) = match c.outcome {
        Outcome::Json(j) => (Some(j), None),
        Outcome::Failed(e) => (None, Some(e)),
        Outcome::Response(_) => (
            None,
            Some(WorkerError::new(
                ErrorKind::Internal,
                "function call produced a response",
            )),
        ),
    };
    FunctionResult {
        data,
        logs: c.logs,
        error,
        duration,
    }
}
