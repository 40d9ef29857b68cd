//! A wrangler project running inside an engine: what `wk serve` does per request, as a library.
//!
//! [`Project::open`] reads a project the way `wrangler dev` does (config, modules, `.dev.vars`),
//! gives every binding the config names an embedded store under a state directory unless the host
//! supplies its own, puts static assets in front of the worker and starts the queue consumers.
//! [`Project::fetch`] then takes one request through all of that. Every language package exposes
//! it, which is also how one conformance corpus runs through all of them.
pub mod config;
mod jsonc;
pub mod spec;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::assets::{AssetRequest, AssetsFetcher, AssetsRouter, Route};
use crate::engine::{Engine, Env, ErrorKind, ExecuteResult, WorkerError, WorkerRequest};
use crate::stores::{
    AssetsOptions, BrokerEvent, DirAssets, FsR2, QueueBroker, QueueConsumer, SqliteD1, SqliteKv,
    SqliteQueue,
};

pub use config::{CONFIG_NAMES, WranglerConfig};
pub use spec::ProjectSpec;

/// The deploy key a project's worker runs under; its site id is the project's name.
pub const DEPLOY_KEY: &str = "local";

/// Told what a project's queue consumers did.
pub type QueueObserver = Arc<dyn Fn(&BrokerEvent) + Send + Sync>;

/// How a project is opened.
#[derive(Default)]
pub struct ProjectOptions {
    /// Where embedded stores persist. Default: `.wk-state` beside the config (or script).
    pub state_dir: Option<PathBuf>,
    /// Vars and bindings that replace the config's of the same name, or add to them. A host puts
    /// its own store behind a binding the config declares by naming it here.
    pub env: Env,
    /// Told what the queue consumers did (deliveries with their logs, dead-lettered and dropped
    /// messages, storage errors).
    pub on_queue_event: Option<QueueObserver>,
}

/// A project whose worker is loaded in an engine, with its stores open and its queue consumers
/// running. Dropping it (or [`Project::close`]) stops the consumers; the engine lives on.
pub struct Project {
    engine: Engine,
    spec: ProjectSpec,
    env: Arc<Env>,
    assets: Option<(Arc<dyn AssetsFetcher>, AssetsRouter)>,
    broker: Option<QueueBroker>,
}

/// Reads a wrangler config (`.jsonc`, `.json` or `.toml`) into JSON, for hosts that want to
/// know what a project declares (its binding names, say) before opening it.
pub fn read_config(path: &Path) -> Result<serde_json::Value, String> {
    config::read_value(path)
}

fn load_error(message: String) -> WorkerError {
    WorkerError::new(ErrorKind::Script, message)
}

impl Project {
    /// Opens the project at `path`: a wrangler config file, a directory holding one, or a
    /// worker script on its own.
    pub fn open(
        engine: &Engine,
        path: &Path,
        options: ProjectOptions,
    ) -> Result<Project, WorkerError> {
        let config_path = if path.is_dir() {
            Some(config::find_in(path).ok_or_else(|| {
                load_error(format!(
                    "no {} in {}",
                    CONFIG_NAMES.join(" / "),
                    path.display()
                ))
            })?)
        } else if is_config_file(path) {
            Some(path.to_path_buf())
        } else {
            None
        };
        let spec = match config_path {
            Some(c) => spec::load(Some(config::load(&c).map_err(load_error)?), None),
            None => spec::load(None, Some(path)),
        }
        .map_err(load_error)?;
        Project::start(engine, spec, options)
    }

    /// Starts an already loaded project: opens its stores, compiles its worker into `engine`
    /// (syntax errors come back with file:line:col) and starts its queue consumers.
    pub fn start(
        engine: &Engine,
        spec: ProjectSpec,
        options: ProjectOptions,
    ) -> Result<Project, WorkerError> {
        let state = options
            .state_dir
            .clone()
            .unwrap_or_else(|| spec.dir.join(".wk-state"));
        let assets = match &spec.bindings.assets {
            Some(a) => {
                let options = AssetsOptions {
                    html_handling: a.html_handling,
                    not_found_handling: a.not_found_handling,
                };
                let dir = DirAssets::new(&a.directory, options).map_err(load_error)?;
                Some((Arc::new(dir) as Arc<dyn AssetsFetcher>, router(&spec)))
            }
            None => None,
        };
        let mut env = spec.env.clone();
        open_stores(
            &spec,
            &state,
            &options.env,
            assets.as_ref().map(|a| &a.0),
            &mut env,
        )
        .map_err(load_error)?;
        merge(&mut env, options.env);
        let env = Arc::new(env);

        engine.compile_and_cache(&spec.name, DEPLOY_KEY, spec.source.clone())?;
        let broker = start_consumers(engine, &spec, &state, &env, options.on_queue_event)
            .map_err(load_error)?;
        Ok(Project {
            engine: engine.clone(),
            spec,
            env,
            assets,
            broker,
        })
    }

    /// The project's name (wrangler's `name`, else the script's file stem); the worker's site id.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What the project was loaded from: source, bindings, warnings about unsupported settings.
    pub fn spec(&self) -> &ProjectSpec {
        &self.spec
    }

    /// The env the worker sees, for calling it through the engine directly
    /// (`engine.execute_function(project.name(), DEPLOY_KEY, project.env(), ...)`).
    pub fn env(&self) -> Arc<Env> {
        self.env.clone()
    }

    /// One request, as Cloudflare would handle it: static assets first where the routing rules
    /// give them the request, otherwise the worker. The response is what an HTTP client
    /// receives: a HEAD response has no body, and `content-length` states the body's length.
    pub async fn fetch(&self, request: WorkerRequest) -> ExecuteResult {
        let head = request.method.eq_ignore_ascii_case("HEAD");
        as_sent(head, self.route(request).await)
    }

    async fn route(&self, request: WorkerRequest) -> ExecuteResult {
        if let Some((assets, router)) = &self.assets {
            let started = Instant::now();
            let asset_request = AssetRequest {
                method: request.method.clone(),
                url: request.url.clone(),
                headers: request.headers.clone(),
            };
            let answer = match router.route(assets.as_ref(), &asset_request).await {
                Ok(Route::Worker) => None,
                Ok(Route::Assets) => Some(assets.fetch(asset_request).await),
                Err(e) => Some(Err(e)),
            };
            match answer {
                None => {}
                Some(Ok(r)) => {
                    return ExecuteResult {
                        status: r.status,
                        status_text: String::new(),
                        headers: r.headers,
                        body: r.body,
                        logs: Vec::new(),
                        error: None,
                        pass_through: false,
                        duration: started.elapsed(),
                    };
                }
                Some(Err(e)) => {
                    let error =
                        WorkerError::new(ErrorKind::Internal, format!("static assets: {e}"));
                    return ExecuteResult::failed(error, Vec::new(), started.elapsed());
                }
            }
        }
        self.engine
            .execute(&self.spec.name, DEPLOY_KEY, self.env.clone(), request)
            .await
    }

    /// Blocking form of [`Project::fetch`]; must not be called from inside an async runtime.
    pub fn fetch_blocking(&self, request: WorkerRequest) -> ExecuteResult {
        if self.assets.is_none() {
            let head = request.method.eq_ignore_ascii_case("HEAD");
            let env = self.env.clone();
            let result = self
                .engine
                .execute_blocking(&self.spec.name, DEPLOY_KEY, env, request);
            return as_sent(head, result);
        }
        // Asset routing is async: drive it on a runtime kept per calling thread, so a request
        // does not pay for building one.
        thread_local! {
            static RT: Option<tokio::runtime::Runtime> =
                tokio::runtime::Builder::new_current_thread().enable_all().build().ok();
        }
        RT.with(|rt| match rt {
            Some(rt) => rt.block_on(self.fetch(request)),
            None => ExecuteResult::failed(
                WorkerError::new(ErrorKind::Internal, "cannot start a tokio runtime"),
                Vec::new(),
                Default::default(),
            ),
        })
    }

    /// Stops the queue consumers after the batches in flight. Requests still work.
    pub fn close(&self) {
        if let Some(b) = &self.broker {
            b.shutdown();
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.close();
    }
}

/// The response as it goes on the wire. The worker's own `content-length` only stands for a
/// HEAD response (there is no body to measure); statuses that never carry a body get none.
fn as_sent(head: bool, mut r: ExecuteResult) -> ExecuteResult {
    if r.error.is_some() {
        return r;
    }
    let bodiless = r.status < 200 || r.status == 204 || r.status == 304;
    let is_length = |k: &str| k.eq_ignore_ascii_case("content-length");
    if head {
        if !bodiless && !r.headers.iter().any(|(k, _)| is_length(k)) {
            r.headers
                .push(("content-length".into(), r.body.len().to_string()));
        }
    } else {
        r.headers.retain(|(k, _)| !is_length(k));
        if !bodiless {
            r.headers
                .push(("content-length".into(), r.body.len().to_string()));
        }
    }
    if head || bodiless {
        r.body.clear();
    }
    r
}

fn is_config_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    CONFIG_NAMES.contains(&name.as_ref())
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "jsonc" | "json" | "toml"))
}

/// Opens the embedded store for every binding the config names and `host` does not supply.
fn open_stores(
    spec: &ProjectSpec,
    state: &Path,
    host: &Env,
    assets: Option<&Arc<dyn AssetsFetcher>>,
    env: &mut Env,
) -> Result<(), String> {
    let b = &spec.bindings;
    for (binding, id) in b
        .kv_namespaces
        .iter()
        .filter(|(n, _)| !host.kv.contains_key(n))
    {
        let path = state.join("kv").join(format!("{}.sqlite", file_name(id)));
        let store =
            SqliteKv::open(&path).map_err(|e| format!("KV namespace {binding} (id {id}): {e}"))?;
        env.kv.insert(binding.clone(), Arc::new(store));
    }
    for (binding, id) in b
        .d1_databases
        .iter()
        .filter(|(n, _)| !host.d1.contains_key(n))
    {
        let path = state.join("d1").join(format!("{}.sqlite", file_name(id)));
        // `dump()` is not available to deployed workers either.
        let db = SqliteD1::open(&path)
            .map_err(|e| format!("D1 database {binding} (id {id}): {e}"))?
            .with_dump(false);
        env.d1.insert(binding.clone(), Arc::new(db));
    }
    for (binding, bucket) in b
        .r2_buckets
        .iter()
        .filter(|(n, _)| !host.r2.contains_key(n))
    {
        let dir = state.join("r2").join(file_name(bucket));
        let store = FsR2::open(&dir).map_err(|e| format!("R2 bucket {binding} ({bucket}): {e}"))?;
        env.r2.insert(binding.clone(), Arc::new(store));
    }
    for p in b
        .queues
        .producers
        .iter()
        .filter(|p| !host.queues.contains_key(&p.binding))
    {
        let queue = SqliteQueue::open(queue_file(state, &p.queue))
            .map_err(|e| format!("queue {} (binding {}): {e}", p.queue, p.binding))?
            .with_delivery_delay(p.delivery_delay.unwrap_or(0));
        env.queues.insert(p.binding.clone(), Arc::new(queue));
    }
    if let (Some(binding), Some(assets)) =
        (b.assets.as_ref().and_then(|a| a.binding.clone()), assets)
    {
        env.assets.insert(binding, assets.clone());
    }
    Ok(())
}

/// The host's env over the project's: same names replace, new names add.
fn merge(env: &mut Env, host: Env) {
    for (k, v) in host.vars {
        env.json.remove(&k);
        env.secrets.remove(&k);
        env.vars.insert(k, v);
    }
    for (k, v) in host.secrets {
        env.json.remove(&k);
        env.vars.remove(&k);
        env.secrets.insert(k, v);
    }
    for (k, v) in host.json {
        env.vars.remove(&k);
        env.secrets.remove(&k);
        env.json.insert(k, v);
    }
    env.kv.extend(host.kv);
    env.d1.extend(host.d1);
    env.r2.extend(host.r2);
    env.queues.extend(host.queues);
    env.assets.extend(host.assets);
    if host.cache.is_some() {
        env.cache = host.cache;
    }
}

/// Static assets go in front of the worker by the config's rules and the compatibility date.
fn router(spec: &ProjectSpec) -> AssetsRouter {
    let flags = &spec.compatibility_flags;
    let navigation = if flags.iter().any(|f| f == "assets_navigation_has_no_effect") {
        false
    } else {
        flags
            .iter()
            .any(|f| f == "assets_navigation_prefers_asset_serving")
            || spec
                .compatibility_date
                .as_deref()
                .is_some_and(|d| d >= "2025-04-01")
    };
    AssetsRouter {
        run_worker_first: spec
            .bindings
            .assets
            .as_ref()
            .map(|a| a.run_worker_first.clone())
            .unwrap_or_default(),
        has_worker: spec.has_worker,
        navigation_prefers_assets: navigation,
    }
}

fn queue_file(state: &Path, queue: &str) -> PathBuf {
    state
        .join("queues")
        .join(format!("{}.sqlite", file_name(queue)))
}

/// Starts delivering the queues the config consumes to the worker, in the isolate that serves
/// its requests, with the config's batching and retry settings.
fn start_consumers(
    engine: &Engine,
    spec: &ProjectSpec,
    state: &Path,
    env: &Arc<Env>,
    observer: Option<QueueObserver>,
) -> Result<Option<QueueBroker>, String> {
    if spec.bindings.queues.consumers.is_empty() {
        return Ok(None);
    }
    let open = |name: &str| {
        SqliteQueue::open(queue_file(state, name)).map_err(|e| format!("queue {name}: {e}"))
    };
    let broker = QueueBroker::new(engine.clone())?;
    if let Some(f) = observer {
        broker.set_observer(move |event| f(event));
    }
    for c in &spec.bindings.queues.consumers {
        let mut consumer = QueueConsumer::new(
            &c.queue,
            open(&c.queue)?,
            &spec.name,
            DEPLOY_KEY,
            env.clone(),
        );
        if let Some(n) = c.max_batch_size {
            consumer.max_batch_size = n.clamp(1, 100) as usize;
        }
        if let Some(t) = c.max_batch_timeout {
            consumer.max_batch_timeout = std::time::Duration::from_secs_f64(t.min(60.0));
        }
        if let Some(n) = c.max_retries {
            consumer.max_retries = n.min(100);
        }
        if let Some(d) = c.retry_delay {
            consumer.retry_delay = d;
        }
        if let Some(dlq) = &c.dead_letter_queue {
            consumer.dead_letter_queue = Some((dlq.clone(), open(dlq)?));
        }
        broker.consume(consumer)?;
    }
    Ok(Some(broker))
}

/// A namespace id made safe as a file name; ids are usually hex or simple names already.
fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}
