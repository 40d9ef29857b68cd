//! The native half of the `worker-runtime` npm package: napi-rs classes over worker-core.
//! The package's JS (`index.js`, `lib/`) wraps them in the public API: argument forms, response
//! objects, `WorkerError` classes and store dispatchers. Everything here takes and returns plain,
//! already-normalised data, and never blocks Node's thread on the engine.
mod call;
mod queue;
mod settle;
mod stores;

use call::dispatcher;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use worker_core::assets::AssetsFetcher;
use worker_core::cache::CacheStore;
use worker_core::d1::D1Database;
use worker_core::kv::KvStore;
use worker_core::project::{Project, ProjectOptions, QueueObserver};
use worker_core::queue::QueueSender;
use worker_core::r2::R2Store;
use worker_core::stores as embedded;
use worker_core::{EngineConfig, ErrorKind, LogEntry, SourceLoader, WorkerError, WorkerRequest};

type Dispatcher<'a> = Function<'a, call::CallArgsOf, Unknown<'static>>;

fn js_err(message: impl Into<String>) -> napi::Error {
    napi::Error::new(Status::GenericFailure, message.into())
}

// ---------------------------------------------------------------- results

#[napi(object)]
pub struct LogJs {
    pub level: String,
    pub message: String,
}

#[napi(object)]
pub struct ErrorJs {
    /// `exception`, `script`, `exceededCpu`, ... (worker_core::ErrorKind::as_str)
    pub kind: String,
    pub name: String,
    pub message: String,
    pub stack: String,
    pub location: Option<String>,
}

/// A response body for JS. Small bodies are copied into a fresh Buffer: cheaper than an external
/// one, whose finalizer V8 must track and run. Large ones are handed over without a copy.
pub struct BodyJs(Vec<u8>);

impl BodyJs {
    const COPY_UP_TO: usize = 64 * 1024;
}

impl TypeName for BodyJs {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for BodyJs {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        if val.0.len() > Self::COPY_UP_TO {
            // SAFETY: forwarded unchanged from our caller's contract (Node's thread, live env).
            return unsafe { Buffer::to_napi_value(env, val.0.into()) };
        }
        let mut data = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        // SAFETY: Node's thread with its live env; napi copies `len` bytes from the pointer,
        // which stays valid for the call.
        let status = unsafe {
            sys::napi_create_buffer_copy(
                env,
                val.0.len(),
                val.0.as_ptr().cast(),
                &mut data,
                &mut buffer,
            )
        };
        if status == sys::Status::napi_ok {
            Ok(buffer)
        } else {
            Err(js_err(format!("napi_create_buffer_copy failed ({status})")))
        }
    }
}

#[napi(object, object_from_js = false)]
pub struct ResponseJs {
    pub status: u32,
    pub status_text: String,
    /// Name, value, name, value, ... in order, repeats kept.
    pub headers: Vec<String>,
    #[napi(ts_type = "Buffer")]
    pub body: BodyJs,
    pub logs: Vec<LogJs>,
    pub duration_ms: f64,
    pub pass_through: bool,
    pub error: Option<ErrorJs>,
}

#[napi(object)]
pub struct FunctionJs {
    /// JSON of the awaited return value.
    pub data: Option<String>,
    pub logs: Vec<LogJs>,
    pub duration_ms: f64,
    pub error: Option<ErrorJs>,
}

#[napi(object)]
pub struct CompiledJs {
    pub cache: Option<Buffer>,
    pub error: Option<ErrorJs>,
}

fn logs(entries: Vec<LogEntry>) -> Vec<LogJs> {
    entries
        .into_iter()
        .map(|l| LogJs {
            level: l.level.as_str().to_string(),
            message: l.message,
        })
        .collect()
}

fn error(e: WorkerError) -> ErrorJs {
    ErrorJs {
        kind: e.kind.as_str().to_string(),
        name: e.name,
        message: e.message,
        stack: e.stack,
        location: e.location,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn response(r: worker_core::ExecuteResult) -> ResponseJs {
    let mut headers = Vec::with_capacity(r.headers.len() * 2);
    for (k, v) in r.headers {
        headers.push(k);
        headers.push(v);
    }
    ResponseJs {
        status: r.status as u32,
        status_text: r.status_text,
        headers,
        body: BodyJs(r.body),
        logs: logs(r.logs),
        duration_ms: ms(r.duration),
        pass_through: r.pass_through,
        error: r.error.map(error),
    }
}

fn request(
    method: String,
    url: String,
    headers: Vec<String>,
    body: Option<Buffer>,
) -> WorkerRequest {
    let mut pairs = Vec::with_capacity(headers.len() / 2);
    let mut it = headers.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    WorkerRequest {
        method,
        url,
        headers: pairs,
        body: body.map(|b| b.to_vec()).unwrap_or_default(),
    }
}

// ---------------------------------------------------------------- engine

#[napi(object)]
#[derive(Default)]
pub struct EngineConfigJs {
    pub pool_size: Option<u32>,
    pub memory_limit_mb: Option<u32>,
    pub cpu_time_ms: Option<f64>,
    pub wall_time_ms: Option<f64>,
    pub max_subrequests: Option<u32>,
    pub max_response_bytes: Option<f64>,
    pub max_resident_workers: Option<u32>,
    pub warm_isolates: Option<u32>,
    pub allow_code_generation: Option<bool>,
}

impl EngineConfigJs {
    fn into_config(self) -> EngineConfig {
        let mut c = EngineConfig::default();
        let size = |v: Option<u32>, d: usize| v.map_or(d, |v| v as usize);
        c.pool_size = size(self.pool_size, c.pool_size);
        c.memory_limit_mb = size(self.memory_limit_mb, c.memory_limit_mb);
        c.cpu_time_ms = self.cpu_time_ms.map_or(c.cpu_time_ms, |v| v as u64);
        c.wall_time_ms = self.wall_time_ms.map_or(c.wall_time_ms, |v| v as u64);
        c.max_subrequests = self.max_subrequests.unwrap_or(c.max_subrequests);
        c.max_response_bytes = self
            .max_response_bytes
            .map_or(c.max_response_bytes, |v| v as usize);
        c.max_resident_workers = size(self.max_resident_workers, c.max_resident_workers);
        c.warm_isolates = size(self.warm_isolates, c.warm_isolates);
        c.allow_code_generation = self
            .allow_code_generation
            .unwrap_or(c.allow_code_generation);
        c
    }
}

/// A source loader for engines without one: every worker must come from `compileAndCache`.
struct NoLoader;

impl SourceLoader for NoLoader {
    fn load(
        &self,
        site_id: &str,
        deploy_key: &str,
    ) -> std::result::Result<worker_core::WorkerSource, String> {
        Err(format!(
            "no source loader: compile {site_id}/{deploy_key} with compileAndCache first"
        ))
    }
}

#[napi]
pub struct NativeEngine {
    engine: Option<worker_core::Engine>,
    settler: Arc<settle::Handle>,
}

impl NativeEngine {
    fn engine(&self) -> Result<worker_core::Engine> {
        self.engine
            .clone()
            .ok_or_else(|| js_err("the engine is closed"))
    }
}

#[napi]
impl NativeEngine {
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: Option<EngineConfigJs>,
        loader: Option<Dispatcher>,
    ) -> Result<Self> {
        let loader: Arc<dyn SourceLoader> = match loader {
            Some(f) => Arc::new(stores::JsLoader(dispatcher(f)?)),
            None => Arc::new(NoLoader),
        };
        let config = config.unwrap_or_default().into_config();
        let engine = worker_core::Engine::new(config, loader).map_err(|e| js_err(e.to_string()))?;
        Ok(NativeEngine {
            engine: Some(engine),
            settler: settle::Handle::new(&env)?,
        })
    }

    /// Settles finished calls now; with `keep`, the caller promises to call again on its next
    /// loop turn, so finished calls need not wake the loop. Returns whether calls are pending
    /// and the caller should keep polling.
    #[napi]
    pub fn poll(&self, env: Env, keep: bool) -> bool {
        self.settler.poll(&env, keep)
    }

    #[napi]
    pub fn v8_version() -> String {
        worker_core::Engine::v8_version()
    }

    #[napi(ts_return_type = "Promise<ResponseJs>")]
    #[allow(clippy::too_many_arguments)]
    pub fn execute<'e>(
        &self,
        env: &'e Env,
        site: String,
        deploy: String,
        bindings: &NativeEnv,
        method: String,
        url: String,
        headers: Vec<String>,
        body: Option<Buffer>,
    ) -> Result<PromiseRaw<'e, ResponseJs>> {
        let engine = self.engine()?;
        let vars = bindings.inner.clone();
        let req = request(method, url, headers, body);
        self.settler.promise(env, async move {
            response(engine.execute(&site, &deploy, vars, req).await)
        })
    }

    #[napi(ts_return_type = "Promise<FunctionJs>")]
    pub fn execute_function<'e>(
        &self,
        env: &'e Env,
        site: String,
        deploy: String,
        bindings: &NativeEnv,
        name: String,
        json_args: String,
    ) -> Result<PromiseRaw<'e, FunctionJs>> {
        let engine = self.engine()?;
        let vars = bindings.inner.clone();
        self.settler.promise(env, async move {
            let r = engine
                .execute_function(&site, &deploy, vars, &name, &json_args)
                .await;
            FunctionJs {
                data: r.data,
                logs: logs(r.logs),
                duration_ms: ms(r.duration),
                error: r.error.map(error),
            }
        })
    }

    /// Delivers `messages` as one batch of the queue `queue_name` to the worker's `queue()` handler.
    #[napi(ts_return_type = "Promise<QueueResultJs>")]
    #[allow(clippy::too_many_arguments)]
    pub fn queue<'e>(
        &self,
        env: &'e Env,
        site: String,
        deploy: String,
        bindings: &NativeEnv,
        queue_name: String,
        messages: Vec<queue::QueueDeliveryJs>,
    ) -> Result<PromiseRaw<'e, queue::QueueResultJs>> {
        let engine = self.engine()?;
        let vars = bindings.inner.clone();
        let batch = queue::batch(queue_name, messages)?;
        self.settler.promise(env, async move {
            queue::result(engine.queue(&site, &deploy, vars, batch).await)
        })
    }

    #[napi(ts_return_type = "Promise<CompiledJs>")]
    pub fn compile_and_cache<'e>(
        &self,
        env: &'e Env,
        site: String,
        deploy: String,
        source: stores::SourceJs,
    ) -> Result<PromiseRaw<'e, CompiledJs>> {
        let engine = self.engine()?;
        let source = source.into_source().map_err(js_err)?;
        // compile_and_cache blocks until an executor thread has compiled the worker.
        env.spawn_future(async move {
            let r = napi::tokio::task::spawn_blocking(move || {
                engine.compile_and_cache(&site, &deploy, source)
            })
            .await
            .map_err(|e| js_err(e.to_string()))?;
            Ok(match r {
                Ok(cache) => CompiledJs {
                    cache: Some(cache.into()),
                    error: None,
                },
                Err(e) => CompiledJs {
                    cache: None,
                    error: Some(error(e)),
                },
            })
        })
    }

    /// Opens a wrangler project (config file, directory or script) in this engine. Opening
    /// compiles the worker, so it runs off Node's thread; a failure resolves to the error.
    /// `on_queue_event` hears what the project's queue consumers do.
    #[napi(ts_return_type = "Promise<NativeProject | ErrorJs>")]
    pub fn open_project<'e>(
        &self,
        env: &'e Env,
        path: String,
        state_dir: Option<String>,
        bindings: &NativeEnv,
        on_queue_event: Option<queue::EventListener>,
    ) -> Result<PromiseRaw<'e, Either<NativeProject, ErrorJs>>> {
        let engine = self.engine()?;
        let on_queue_event = match on_queue_event {
            Some(listener) => Some(Arc::new(queue::observer(listener)?) as QueueObserver),
            None => None,
        };
        let options = ProjectOptions {
            state_dir: state_dir.map(PathBuf::from),
            env: (*bindings.inner).clone(),
            on_queue_event,
        };
        let settler = self.settler.clone();
        env.spawn_future(async move {
            let opened = napi::tokio::task::spawn_blocking(move || {
                Project::open(&engine, Path::new(&path), options)
            })
            .await
            .map_err(|e| js_err(e.to_string()))?;
            Ok(match opened {
                Ok(p) => Either::A(NativeProject {
                    inner: Some(Arc::new(p)),
                    settler,
                }),
                Err(e) => Either::B(error(e)),
            })
        })
    }

    /// Stops the engine: later calls fail at once; the promise settles when in-flight work has
    /// finished and the executor threads are gone. Shutting down waits for requests that may be
    /// waiting on this very thread's stores, so it runs off Node's thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'e>(&mut self, env: &'e Env) -> Result<PromiseRaw<'e, ()>> {
        let engine = self.engine.take();
        env.spawn_future(async move {
            if let Some(engine) = engine {
                napi::tokio::task::spawn_blocking(move || engine.shutdown())
                    .await
                    .map_err(|e| js_err(e.to_string()))?;
            }
            Ok(())
        })
    }
}

impl Drop for NativeEngine {
    fn drop(&mut self) {
        // The last handle's drop joins the executor threads; never on Node's thread.
        if let Some(engine) = self.engine.take() {
            std::thread::spawn(move || drop(engine));
        }
    }
}

// ---------------------------------------------------------------- project

/// A wrangler project running in an engine: assets routing, then the worker, with its
/// config's bindings on embedded stores unless the host supplied its own.
#[napi]
pub struct NativeProject {
    inner: Option<Arc<Project>>,
    /// The engine's: its JS polls both.
    settler: Arc<settle::Handle>,
}

impl NativeProject {
    fn project(&self) -> Result<Arc<Project>> {
        self.inner
            .clone()
            .ok_or_else(|| js_err("the project is closed"))
    }
}

#[napi]
impl NativeProject {
    #[napi(getter)]
    pub fn name(&self) -> Result<String> {
        Ok(self.project()?.name().to_string())
    }

    /// What the config asks for that libworker ignores.
    #[napi(getter)]
    pub fn warnings(&self) -> Result<Vec<String>> {
        Ok(self.project()?.spec().warnings.clone())
    }

    #[napi(ts_return_type = "Promise<ResponseJs>")]
    pub fn fetch<'e>(
        &self,
        env: &'e Env,
        method: String,
        url: String,
        headers: Vec<String>,
        body: Option<Buffer>,
    ) -> Result<PromiseRaw<'e, ResponseJs>> {
        let project = self.project()?;
        let req = request(method, url, headers, body);
        // Asset routing reads files through tokio's blocking pool, so it runs on napi's runtime.
        let (tx, fetched) = tokio::sync::oneshot::channel();
        napi::bindgen_prelude::spawn(async move {
            let _ = tx.send(project.fetch(req).await);
        });
        self.settler.promise(env, async move {
            response(fetched.await.unwrap_or_else(|_| {
                let lost = WorkerError::new(ErrorKind::Internal, "the project's fetch was lost");
                worker_core::ExecuteResult::failed(lost, Vec::new(), Duration::ZERO)
            }))
        })
    }

    /// Stops the queue consumers (they may be waiting on this thread's stores, so off it).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'e>(&mut self, env: &'e Env) -> Result<PromiseRaw<'e, ()>> {
        let project = self.inner.take();
        env.spawn_future(async move {
            if let Some(project) = project {
                napi::tokio::task::spawn_blocking(move || project.close())
                    .await
                    .map_err(|e| js_err(e.to_string()))?;
            }
            Ok(())
        })
    }
}

impl Drop for NativeProject {
    fn drop(&mut self) {
        if let Some(project) = self.inner.take() {
            std::thread::spawn(move || drop(project));
        }
    }
}

/// A wrangler config (`.jsonc`, `.json` or `.toml`) as JSON text.
#[napi]
pub fn read_config(path: String) -> Result<String> {
    worker_core::project::read_config(Path::new(&path))
        .map(|v| v.to_string())
        .map_err(js_err)
}

// ---------------------------------------------------------------- env

/// The `env` a worker sees, built once and reused across executes.
#[napi]
pub struct NativeEnv {
    inner: Arc<worker_core::Env>,
}

#[napi]
impl NativeEnv {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeEnv {
            inner: Arc::new(worker_core::Env::new()),
        }
    }

    fn env(&mut self) -> &mut worker_core::Env {
        Arc::make_mut(&mut self.inner)
    }

    #[napi]
    pub fn var(&mut self, name: String, value: String) {
        self.env().vars.insert(name, value);
    }

    #[napi]
    pub fn secret(&mut self, name: String, value: String) {
        self.env().secrets.insert(name, value);
    }

    #[napi]
    pub fn json(&mut self, name: String, json: String) -> Result<()> {
        let value = serde_json::from_str(&json).map_err(|e| js_err(format!("{name}: {e}")))?;
        self.env().json.insert(name, value);
        Ok(())
    }

    #[napi]
    pub fn kv(&mut self, name: String, store: Dispatcher) -> Result<()> {
        let store: Arc<dyn KvStore> = Arc::new(stores::JsKv(dispatcher(store)?));
        self.env().kv.insert(name, store);
        Ok(())
    }

    #[napi]
    pub fn r2(&mut self, name: String, store: Dispatcher) -> Result<()> {
        let store: Arc<dyn R2Store> = Arc::new(stores::JsR2(dispatcher(store)?));
        self.env().r2.insert(name, store);
        Ok(())
    }

    #[napi]
    pub fn d1(&mut self, name: String, store: Dispatcher) -> Result<()> {
        let store: Arc<dyn D1Database> = Arc::new(stores::JsD1(dispatcher(store)?));
        self.env().d1.insert(name, store);
        Ok(())
    }

    #[napi]
    pub fn queue(&mut self, name: String, store: Dispatcher) -> Result<()> {
        let store: Arc<dyn QueueSender> = Arc::new(stores::JsQueue(dispatcher(store)?));
        self.env().queues.insert(name, store);
        Ok(())
    }

    #[napi]
    pub fn assets(&mut self, name: String, store: Dispatcher) -> Result<()> {
        let store: Arc<dyn AssetsFetcher> = Arc::new(stores::JsAssets(dispatcher(store)?));
        self.env().assets.insert(name, store);
        Ok(())
    }

    #[napi]
    pub fn cache(&mut self, store: Dispatcher) -> Result<()> {
        let store: Arc<dyn CacheStore> = Arc::new(stores::JsCache(dispatcher(store)?));
        self.env().cache = Some(store);
        Ok(())
    }

    #[napi]
    pub fn kv_native(&mut self, name: String, store: &SqliteKv) {
        self.env().kv.insert(name, store.inner.clone());
    }

    #[napi]
    pub fn r2_native(&mut self, name: String, store: &FsR2) {
        self.env().r2.insert(name, store.inner.clone());
    }

    #[napi]
    pub fn d1_native(&mut self, name: String, store: &SqliteD1) {
        self.env().d1.insert(name, store.inner.clone());
    }

    #[napi]
    pub fn queue_native(&mut self, name: String, store: &SqliteQueue) {
        self.env()
            .queues
            .insert(name, Arc::new(store.inner.clone()));
    }

    #[napi]
    pub fn assets_native(&mut self, name: String, store: &DirAssets) {
        self.env().assets.insert(name, store.inner.clone());
    }

    #[napi]
    pub fn cache_native(&mut self, store: &MemoryCache) {
        self.env().cache = Some(store.inner.clone());
    }
}

impl Default for NativeEnv {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------- embedded stores

/// The embedded KV namespace: one SQLite file.
#[napi]
pub struct SqliteKv {
    inner: Arc<dyn KvStore>,
}

#[napi]
impl SqliteKv {
    #[napi(constructor)]
    pub fn new(path: String) -> Result<Self> {
        let kv = embedded::SqliteKv::open(PathBuf::from(path)).map_err(js_err)?;
        Ok(SqliteKv {
            inner: Arc::new(kv),
        })
    }
}

/// The embedded R2 bucket: objects as files plus a SQLite index under a directory.
#[napi]
pub struct FsR2 {
    inner: Arc<dyn R2Store>,
}

#[napi]
impl FsR2 {
    #[napi(constructor)]
    pub fn new(dir: String) -> Result<Self> {
        let r2 = embedded::FsR2::open(PathBuf::from(dir)).map_err(js_err)?;
        Ok(FsR2 {
            inner: Arc::new(r2),
        })
    }
}

/// The embedded D1 database: one SQLite file.
#[napi]
pub struct SqliteD1 {
    inner: Arc<dyn D1Database>,
}

#[napi]
impl SqliteD1 {
    #[napi(constructor)]
    pub fn new(path: String) -> Result<Self> {
        let db = embedded::SqliteD1::open(PathBuf::from(path)).map_err(js_err)?;
        Ok(SqliteD1 {
            inner: Arc::new(db),
        })
    }
}

/// The embedded queue: one SQLite file per queue. A binding sends to it; a `QueueBroker`
/// delivers from it. Every handle on one path shares the file and its change signal, so a send
/// wakes the broker at once.
#[napi]
pub struct SqliteQueue {
    inner: embedded::SqliteQueue,
}

#[napi]
impl SqliteQueue {
    #[napi(constructor)]
    pub fn new(path: String) -> Result<Self> {
        let q = embedded::SqliteQueue::open(PathBuf::from(path)).map_err(js_err)?;
        Ok(SqliteQueue { inner: q })
    }
}

#[napi(object)]
pub struct DirAssetsOptionsJs {
    pub html_handling: Option<String>,
    pub not_found_handling: Option<String>,
}

/// The embedded static-assets server for a directory, with Cloudflare's rules.
#[napi]
pub struct DirAssets {
    inner: Arc<dyn AssetsFetcher>,
}

#[napi]
impl DirAssets {
    #[napi(constructor)]
    pub fn new(dir: String, options: Option<DirAssetsOptionsJs>) -> Result<Self> {
        let mut o = embedded::AssetsOptions::default();
        if let Some(opts) = options {
            if let Some(h) = opts.html_handling {
                o.html_handling = embedded::HtmlHandling::parse(&h)
                    .ok_or_else(|| js_err(format!("unknown htmlHandling {h:?}")))?;
            }
            if let Some(n) = opts.not_found_handling {
                o.not_found_handling = embedded::NotFoundHandling::parse(&n)
                    .ok_or_else(|| js_err(format!("unknown notFoundHandling {n:?}")))?;
            }
        }
        let assets = embedded::DirAssets::new(dir, o).map_err(js_err)?;
        Ok(DirAssets {
            inner: Arc::new(assets),
        })
    }
}

/// An in-memory Cache API store with a byte budget (least recently used entries go first).
#[napi]
pub struct MemoryCache {
    inner: Arc<dyn CacheStore>,
}

#[napi]
impl MemoryCache {
    #[napi(constructor)]
    pub fn new(budget_bytes: Option<f64>) -> Self {
        let budget = budget_bytes.map_or(embedded::DEFAULT_CACHE_BYTES, |b| b as usize);
        MemoryCache {
            inner: Arc::new(embedded::MemoryCache::new(budget)),
        }
    }
}
