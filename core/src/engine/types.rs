//! The engine's public data types: configuration, worker sources, env, requests and results.
use crate::api::assets::AssetsFetcher;
use crate::api::cache::CacheStore;
use crate::api::d1::D1Database;
use crate::api::kv::KvStore;
use crate::api::queue::QueueSender;
use crate::api::r2::R2Store;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Engine-wide settings. Zero means "no limit" for every limit below.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Executor threads; each owns an event loop and the isolates of the workers it serves.
    pub pool_size: usize,
    /// V8 heap limit per worker isolate, in MiB (ArrayBuffer memory is capped at the same size).
    pub memory_limit_mb: usize,
    /// CPU time one request may spend running JavaScript, in milliseconds.
    pub cpu_time_ms: u64,
    /// Wall-clock time until a request must have produced its response, in milliseconds.
    pub wall_time_ms: u64,
    /// Subrequests (fetch and binding calls) per request.
    pub max_subrequests: u32,
    /// Largest response body a worker may return, in bytes.
    pub max_response_bytes: usize,
    /// Worker isolates kept resident across all threads; the least recently used are evicted.
    pub max_resident_workers: usize,
    /// Blank isolates each thread keeps booted for never-seen workers.
    pub warm_isolates: usize,
    /// Allow `eval` and `new Function` (off on Cloudflare, and by default here).
    pub allow_code_generation: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            pool_size: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_limit_mb: 128,
            cpu_time_ms: 30_000,
            wall_time_ms: 60_000,
            max_subrequests: 1000,
            max_response_bytes: 100 << 20,
            max_resident_workers: 1000,
            warm_isolates: 2,
            allow_code_generation: false,
        }
    }
}

/// What a module's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModuleType {
    /// An ES module.
    EsModule,
    /// A classic script using service-worker syntax (`addEventListener("fetch", ...)`).
    /// Only valid as the main module.
    Script,
    /// `import text from "./a.txt"`: the default export is the UTF-8 text.
    Text,
    /// The default export is the parsed JSON value.
    Json,
    /// The default export is an ArrayBuffer of the bytes.
    Data,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// Path-like name relative imports resolve against, e.g. `src/index.js`.
    pub name: String,
    pub kind: ModuleType,
    pub content: Vec<u8>,
}

/// A worker's code: its modules and which one is the entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerSource {
    pub main_module: String,
    pub modules: Vec<Module>,
}

impl WorkerSource {
    /// A single ES module named `worker.js`.
    pub fn module(code: impl Into<String>) -> Self {
        Self::single("worker.js", ModuleType::EsModule, code)
    }

    /// A single service-worker-syntax script named `worker.js`.
    pub fn script(code: impl Into<String>) -> Self {
        Self::single("worker.js", ModuleType::Script, code)
    }

    /// A single file, detected as wrangler does: ES module syntax if it has an `export`
    /// statement, otherwise a service-worker script.
    pub fn detect(name: impl Into<String>, code: impl Into<String>) -> Self {
        let code = code.into();
        let kind = if has_module_syntax(&code) {
            ModuleType::EsModule
        } else {
            ModuleType::Script
        };
        Self::single(name, kind, code)
    }

    fn single(name: impl Into<String>, kind: ModuleType, code: impl Into<String>) -> Self {
        let name = name.into();
        WorkerSource {
            main_module: name.clone(),
            modules: vec![Module {
                name,
                kind,
                content: code.into().into_bytes(),
            }],
        }
    }
}

/// Whether source text contains an `export` or `import` declaration at the start of a line
/// (comments and strings aside, this is the check wrangler's format detection makes).
pub fn has_module_syntax(code: &str) -> bool {
    code.lines().any(|l| {
        let l = l.trim_start();
        (l.starts_with("export ") || l.starts_with("export{") || l.starts_with("import "))
            && !l.starts_with("import(")
    })
}

/// Supplies worker code on demand. Called from a blocking-capable thread, never from JS.
pub trait SourceLoader: Send + Sync {
    fn load(&self, site_id: &str, deploy_key: &str) -> Result<WorkerSource, String>;
}

impl<F> SourceLoader for F
where
    F: Fn(&str, &str) -> Result<WorkerSource, String> + Send + Sync,
{
    fn load(&self, site_id: &str, deploy_key: &str) -> Result<WorkerSource, String> {
        self(site_id, deploy_key)
    }
}

/// The `env` a worker sees: vars and the stores behind its bindings.
#[derive(Clone, Default)]
pub struct Env {
    /// Plain-text vars (`vars` in wrangler config).
    pub vars: BTreeMap<String, String>,
    /// Secrets: strings like vars, kept apart so hosts can redact them.
    pub secrets: BTreeMap<String, String>,
    /// JSON vars: the worker sees the parsed value.
    pub json: BTreeMap<String, serde_json::Value>,
    /// KV namespaces (`env.NAME` is a `KVNamespace`).
    pub kv: BTreeMap<String, Arc<dyn KvStore>>,
    /// D1 databases (`env.NAME` is a `D1Database`).
    pub d1: BTreeMap<String, Arc<dyn D1Database>>,
    /// Static assets (`env.NAME` is a `Fetcher`; wrangler's `assets.binding`).
    pub assets: BTreeMap<String, Arc<dyn AssetsFetcher>>,
    /// Queue producers (`env.NAME` is a `Queue` with `send`/`sendBatch`).
    pub queues: BTreeMap<String, Arc<dyn QueueSender>>,
    /// The store behind the global `caches` (Cache API). `None`: the engine's in-memory default,
    /// shared by every request of the same worker site.
    pub cache: Option<Arc<dyn CacheStore>>,
    /// R2 buckets (`env.NAME` is an `R2Bucket`).
    pub r2: BTreeMap<String, Arc<dyn R2Store>>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("vars", &self.vars)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("json", &self.json)
            .field("kv", &self.kv.keys().collect::<Vec<_>>())
            .field("d1", &self.d1.keys().collect::<Vec<_>>())
            .field("assets", &self.assets.keys().collect::<Vec<_>>())
            .field("queues", &self.queues.keys().collect::<Vec<_>>())
            .field("cache", &self.cache.is_some())
            .field("r2", &self.r2.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn var(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }
    pub fn secret(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.secrets.insert(k.into(), v.into());
        self
    }
    pub fn json(mut self, k: impl Into<String>, v: serde_json::Value) -> Self {
        self.json.insert(k.into(), v);
        self
    }
    pub fn kv(mut self, k: impl Into<String>, store: Arc<dyn KvStore>) -> Self {
        self.kv.insert(k.into(), store);
        self
    }
    pub fn d1(mut self, k: impl Into<String>, database: Arc<dyn D1Database>) -> Self {
        self.d1.insert(k.into(), database);
        self
    }
    pub fn assets(mut self, k: impl Into<String>, fetcher: Arc<dyn AssetsFetcher>) -> Self {
        self.assets.insert(k.into(), fetcher);
        self
    }
    pub fn queue(mut self, k: impl Into<String>, sender: Arc<dyn QueueSender>) -> Self {
        self.queues.insert(k.into(), sender);
        self
    }
    /// Serves `caches.default` and `caches.open(name)` from `store` instead of the engine's
    /// in-memory default.
    pub fn cache(mut self, store: Arc<dyn CacheStore>) -> Self {
        self.cache = Some(store);
        self
    }
    pub fn r2(mut self, k: impl Into<String>, store: Arc<dyn R2Store>) -> Self {
        self.r2.insert(k.into(), store);
        self
    }
}

/// An HTTP request handed to a worker. Headers keep their order and repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WorkerRequest {
    pub fn get(url: impl Into<String>) -> Self {
        WorkerRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn header(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn method(mut self, m: impl Into<String>) -> Self {
        self.method = m.into();
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogLevel {
    Debug,
    Log,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Log => "log",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
    pub fn parse(s: &str) -> LogLevel {
        match s {
            "debug" | "trace" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            _ => LogLevel::Log,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
}

/// Why an invocation failed; mirrors workerd's outcome enum where one exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Uncaught JavaScript exception (error page 1101).
    Exception,
    /// The worker's code failed to compile or to evaluate at startup.
    Script,
    /// The source loader could not supply the worker.
    ScriptNotFound,
    /// The handler is missing or returned something that is not a Response.
    BadHandler,
    ExceededCpu,
    ExceededMemory,
    ExceededWallTime,
    ExceededResponseSize,
    /// The engine is shut down or an executor thread is gone.
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Exception => "exception",
            ErrorKind::Script => "script",
            ErrorKind::ScriptNotFound => "scriptNotFound",
            ErrorKind::BadHandler => "badHandler",
            ErrorKind::ExceededCpu => "exceededCpu",
            ErrorKind::ExceededMemory => "exceededMemory",
            ErrorKind::ExceededWallTime => "exceededWallTime",
            ErrorKind::ExceededResponseSize => "exceededResponseSize",
            ErrorKind::Internal => "internalError",
        }
    }
}

/// A failed invocation: what happened, with the JS error's name, message, stack and location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerError {
    pub kind: ErrorKind,
    /// JS error name (`TypeError`), or empty for non-JS failures.
    pub name: String,
    pub message: String,
    pub stack: String,
    /// `file:line:col` when known.
    pub location: Option<String>,
}

impl WorkerError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        WorkerError {
            kind,
            name: String::new(),
            message: message.into(),
            stack: String::new(),
            location: None,
        }
    }
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.name.is_empty() {
            write!(f, "{}: ", self.name)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(loc) = &self.location {
            write!(f, " ({loc})")?;
        }
        Ok(())
    }
}

impl std::error::Error for WorkerError {}

/// The outcome of `Engine::execute`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecuteResult {
    /// HTTP status; 500 when `error` is set.
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub logs: Vec<LogEntry>,
    pub error: Option<WorkerError>,
    /// The worker called `ctx.passThroughOnException()` before failing: hosts with an origin
    /// should forward the request there instead of showing the error.
    pub pass_through: bool,
    pub duration: Duration,
}

impl ExecuteResult {
    pub fn failed(error: WorkerError, logs: Vec<LogEntry>, duration: Duration) -> Self {
        ExecuteResult {
            status: 500,
            status_text: "Internal Server Error".into(),
            headers: Vec::new(),
            body: Vec::new(),
            logs,
            error: Some(error),
            pass_through: false,
            duration,
        }
    }

    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The outcome of `Engine::execute_function`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionResult {
    /// JSON of the awaited return value (`undefined` becomes `null`).
    pub data: Option<String>,
    pub logs: Vec<LogEntry>,
    pub error: Option<WorkerError>,
    pub duration: Duration,
}
