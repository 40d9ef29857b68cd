//! One worker = one isolate on one executor thread, plus the Rust state its ops reach.
use super::executor::Shared;
use super::types::*;
use crate::api::cache::CacheStore;
use crate::api::{Binding, Settle};
use crate::v8::{self, Failure, JsError, ModuleKind, PromiseState, Scope};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A response as the worker's JS produced it.
pub(crate) struct HttpResponse {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub(crate) enum Outcome {
    Response(HttpResponse),
    Json(String),
    Failed(WorkerError),
}

/// What an invocation hands back to the caller, with the logs captured until then.
pub(crate) struct Completion {
    pub outcome: Outcome,
    pub logs: Vec<LogEntry>,
    pub pass_through: bool,
}

/// One request or function call in flight in an isolate, until its `waitUntil` work ends.
struct Invocation {
    reply: Option<oneshot::Sender<Completion>>,
    outcome: Option<(Outcome, bool)>,
    finished: bool,
    logs: Vec<LogEntry>,
    cpu: Duration,
    started: Instant,
    subrequests: u32,
    /// The env's Cache API store, if it has one.
    cache: Option<Arc<dyn CacheStore>>,
}

pub(crate) struct Limits {
    pub cpu: Option<Duration>,
    pub wall: Option<Duration>,
    pub max_response_bytes: usize,
    pub max_subrequests: u32,
}

/// Per-isolate state reachable from ops. Ops run re-entrantly inside JS, so every field uses
/// interior mutability and no borrow is held across a call into JS.
pub(crate) struct IsolateState {
    pub time_origin: Instant,
    pub limits: Limits,
    invocations: RefCell<HashMap<u32, Invocation>>,
    /// The invocation whose JS is running now; 0 while the worker starts up.
    current: Cell<u32>,
    next_id: Cell<u32>,
    timers: RefCell<HashMap<u32, Timer>>,
    next_timer: Cell<u32>,
    startup_logs: RefCell<Vec<LogEntry>>,
    worker: RefCell<Weak<Worker>>,
    /// Host bindings the worker's env has referred to, by the index JS knows them by.
    bindings: RefCell<Vec<Binding>>,
    /// Cache API: the env's store noted by `env_spec` for the invocation `begin` starts next,
    /// and the engine's default for this worker's site.
    next_cache: RefCell<Option<Arc<dyn CacheStore>>>,
    default_cache: RefCell<Option<Arc<dyn CacheStore>>>,
    /// Bodies streaming between JS and host stores, by handle (`api::body`).
    pub bodies: Rc<crate::api::body::BodyTable>,
}

struct Timer {
    invocation: u32,
    task: tokio::task::JoinHandle<()>,
}

impl Invocation {
    fn deliver(&mut self) {
        if let Some((outcome, pass_through)) = self.outcome.take()
            && let Some(reply) = self.reply.take()
        {
            let logs = std::mem::take(&mut self.logs);
            let _ = reply.send(Completion {
                outcome,
                logs,
                pass_through,
            });
        }
    }
}

/// Captured log volume per invocation, as on Cloudflare (128 KB).
const MAX_LOG_BYTES: usize = 128 * 1024;

impl IsolateState {
    pub fn new(limits: Limits) -> Box<IsolateState> {
        Box::new(IsolateState {
            time_origin: Instant::now(),
            limits,
            invocations: RefCell::new(HashMap::new()),
            current: Cell::new(0),
            next_id: Cell::new(1),
            timers: RefCell::new(HashMap::new()),
            next_timer: Cell::new(1),
            startup_logs: RefCell::new(Vec::new()),
            worker: RefCell::new(Weak::new()),
            bindings: RefCell::new(Vec::new()),
            next_cache: RefCell::new(None),
            default_cache: RefCell::new(None),
            bodies: Rc::default(),
        })
    }

    pub fn log(&self, level: LogLevel, message: String) {
        let entry = LogEntry { level, message };
        let current = self.current.get();
        let mut invocations = self.invocations.borrow_mut();
        let logs = match invocations.get_mut(&current) {
            Some(inv) => &mut inv.logs,
            None => {
                self.startup_logs.borrow_mut().push(entry);
                return;
            }
        };
        let used: usize = logs.iter().map(|l| l.message.len()).sum();
        if used + entry.message.len() <= MAX_LOG_BYTES {
            logs.push(entry);
        } else if logs
            .last()
            .is_none_or(|l| !l.message.starts_with("[log limit"))
        {
            logs.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "[log limit of {MAX_LOG_BYTES} bytes reached; later logs dropped]"
                ),
            });
        }
    }

    fn begin(&self) -> (u32, oneshot::Receiver<Completion>) {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1).max(1));
        let (tx, rx) = oneshot::channel();
        let logs = std::mem::take(&mut *self.startup_logs.borrow_mut());
        self.invocations.borrow_mut().insert(
            id,
            Invocation {
                reply: Some(tx),
                outcome: None,
                finished: false,
                logs,
                cpu: Duration::ZERO,
                started: Instant::now(),
                subrequests: 0,
                cache: self.next_cache.take(),
            },
        );
        (id, rx)
    }

    /// Records the outcome; it reaches the caller when the current turn of JS ends, so logs
    /// written later in the same turn (unhandled rejections, say) travel with it.
    pub fn complete(&self, id: u32, outcome: Outcome, pass_through: bool) {
        if let Some(inv) = self.invocations.borrow_mut().get_mut(&id)
            && inv.reply.is_some()
            && inv.outcome.is_none()
        {
            inv.outcome = Some((outcome, pass_through));
        }
    }

    /// Sends every recorded outcome to its caller and forgets finished invocations.
    fn deliver(&self) {
        let mut ended = Vec::new();
        self.invocations.borrow_mut().retain(|id, inv| {
            inv.deliver();
            if inv.finished {
                ended.push(*id);
            }
            !inv.finished
        });
        for id in ended {
            self.bodies.release(id);
        }
    }

    /// The invocation whose JS is running now (0 while the worker starts up).
    pub fn current_invocation(&self) -> u32 {
        self.current.get()
    }

    /// The invocation is over, `waitUntil` work included; it goes at the end of this turn.
    pub fn finish(&self, id: u32) {
        if let Some(inv) = self.invocations.borrow_mut().get_mut(&id) {
            inv.finished = true;
        }
    }

    fn abort(&self, id: u32, error: WorkerError) {
        self.complete(id, Outcome::Failed(error), false);
        self.finish(id);
        self.deliver();
    }

    pub fn in_flight(&self) -> usize {
        self.invocations.borrow().len()
    }

    pub fn start_timer(&self, delay: Duration) -> u32 {
        let id = self.next_timer.get();
        self.next_timer.set(id.wrapping_add(1).max(1));
        let worker = self.worker.borrow().clone();
        let task = tokio::task::spawn_local(async move {
            tokio::time::sleep(delay).await;
            if let Some(w) = worker.upgrade() {
                w.fire_timer(id);
            }
        });
        let invocation = self.current.get();
        self.timers
            .borrow_mut()
            .insert(id, Timer { invocation, task });
        id
    }

    /// Counts a subrequest (a binding call) against the running invocation's limit.
    pub fn count_subrequest(&self) -> Result<(), String> {
        let limit = self.limits.max_subrequests;
        let mut invocations = self.invocations.borrow_mut();
        let Some(inv) = invocations.get_mut(&self.current.get()) else {
            return Ok(());
        };
        if limit > 0 && inv.subrequests >= limit {
            return Err("Too many subrequests by single Worker invocation.".into());
        }
        inv.subrequests += 1;
        Ok(())
    }

    /// Runs a host call's future on this thread; its value settles JS call `call` when done.
    pub fn spawn_call(&self, call: u32, work: Pin<Box<dyn Future<Output = Settle>>>) {
        let worker = self.worker.borrow().clone();
        let invocation = self.current.get();
        tokio::task::spawn_local(async move {
            let settle = work.await;
            if let Some(w) = worker.upgrade() {
                w.settle_call(invocation, call, settle);
            }
        });
    }

    /// The store behind `caches` for the running invocation: its env's, else the default.
    pub fn cache_store(&self) -> Option<Arc<dyn CacheStore>> {
        let env_cache = (self.invocations.borrow())
            .get(&self.current.get())
            .and_then(|i| i.cache.clone());
        env_cache.or_else(|| self.default_cache.borrow().clone())
    }

    /// The binding JS knows by `index`.
    pub fn binding(&self, index: usize) -> Option<Binding> {
        self.bindings.borrow().get(index).cloned()
    }

    /// The index JS uses for `binding`, registering it on first sight.
    fn binding_index(&self, binding: Binding) -> usize {
        let mut bindings = self.bindings.borrow_mut();
        match bindings.iter().position(|b| b.same(&binding)) {
            Some(i) => i,
            None => {
                bindings.push(binding);
                bindings.len() - 1
            }
        }
    }

    /// JS-facing env description: flat `[name, kind, value, ...]` where kind is `text`, `json`
    /// or a binding kind whose value is the binding's index.
    fn env_spec(&self, env: &Env) -> Vec<String> {
        let mut spec = Vec::new();
        for (k, v) in env.vars.iter().chain(env.secrets.iter()) {
            spec.extend([k.clone(), "text".into(), v.clone()]);
        }
        for (k, v) in &env.json {
            spec.extend([k.clone(), "json".into(), v.to_string()]);
        }
        for (k, store) in &env.kv {
            let index = self.binding_index(Binding::Kv(store.clone()));
            spec.extend([k.clone(), "kv".into(), index.to_string()]);
        }
        for (k, db) in &env.d1 {
            let index = self.binding_index(Binding::D1(db.clone()));
            spec.extend([k.clone(), "d1".into(), index.to_string()]);
        }
        for (k, fetcher) in &env.assets {
            let index = self.binding_index(Binding::Assets(fetcher.clone()));
            spec.extend([k.clone(), "assets".into(), index.to_string()]);
        }
        for (k, sender) in &env.queues {
            let index = self.binding_index(Binding::Queue(sender.clone()));
            spec.extend([k.clone(), "queue".into(), index.to_string()]);
        }
        // Every invocation starts right after its env_spec, so `begin` picks this up.
        self.next_cache.replace(env.cache.clone());
        for (k, store) in &env.r2 {
            let index = self.binding_index(Binding::R2(store.clone()));
            spec.extend([k.clone(), "r2".into(), index.to_string()]);
        }
        spec
    }

    pub fn cancel_timer(&self, id: u32) {
        if let Some(t) = self.timers.borrow_mut().remove(&id) {
            t.task.abort();
        }
    }

    /// When the JS of invocation `id` must stop, and which limit that deadline enforces.
    fn deadline(&self, id: u32, now: Instant) -> Option<(Instant, ErrorKind)> {
        let invocations = self.invocations.borrow();
        let (cpu_used, started) = invocations
            .get(&id)
            .map_or((Duration::ZERO, now), |i| (i.cpu, i.started));
        let cpu = self
            .limits
            .cpu
            .map(|l| (now + l.saturating_sub(cpu_used), ErrorKind::ExceededCpu));
        let wall = self
            .limits
            .wall
            .map(|l| ((started + l).max(now), ErrorKind::ExceededWallTime));
        match (cpu, wall) {
            (Some(c), Some(w)) => Some(if w.0 < c.0 { w } else { c }),
            (c, w) => c.or(w),
        }
    }
}

/// A loaded worker. Field order matters: the isolate is dropped before the state its ops use.
pub(crate) struct Worker {
    isolate: v8::Isolate,
    state: Box<IsolateState>,
    shared: Arc<Shared>,
    slot: usize,
    condemned: Cell<bool>,
    pub last_used: Cell<u64>,
}

/// A blank isolate booted from the snapshot, with the state it was created for.
pub(crate) struct Spare {
    isolate: v8::Isolate,
    state: Box<IsolateState>,
}

impl Spare {
    pub fn new(shared: &Shared) -> Spare {
        let cfg = &shared.config;
        let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        let state = IsolateState::new(Limits {
            cpu: ms(cfg.cpu_time_ms),
            wall: ms(cfg.wall_time_ms),
            max_response_bytes: cfg.max_response_bytes,
            max_subrequests: cfg.max_subrequests,
        });
        let data = &*state as *const IsolateState as *mut std::ffi::c_void;
        // SAFETY: `data` is the IsolateState the op dispatcher expects; Spare and Worker keep
        // it alive (boxed, so it never moves) and drop the isolate first.
        let isolate = unsafe {
            v8::Isolate::new(
                shared.snapshot,
                cfg.memory_limit_mb << 20,
                cfg.allow_code_generation,
                data,
            )
        };
        Spare { isolate, state }
    }
}

/// `file:line:col` of the innermost frame of a V8 stack trace.
pub(crate) fn location_from_stack(stack: &str) -> Option<String> {
    let frame = stack.lines().find(|l| l.trim_start().starts_with("at "))?;
    let frame = frame.trim();
    let inner = match (frame.rfind('('), frame.ends_with(')')) {
        (Some(open), true) => &frame[open + 1..frame.len() - 1],
        _ => frame.trim_start_matches("at ").trim(),
    };
    let mut parts = inner.rsplitn(3, ':');
    let col = parts.next()?.parse::<u32>().ok()?;
    let line = parts.next()?.parse::<u32>().ok()?;
    let file = parts.next()?;
    Some(format!("{file}:{line}:{col}"))
}

fn js_error(kind: ErrorKind, e: JsError) -> WorkerError {
    let location = e.location().or_else(|| location_from_stack(&e.stack));
    WorkerError {
        kind,
        name: e.name,
        message: e.message,
        stack: e.stack,
        location,
    }
}

/// Reads name/message/stack off a thrown value at `idx` (an Error or anything else).
fn error_at(s: &mut Scope, idx: i32) -> JsError {
    let top = s.top();
    let is_object = matches!(s.type_of(idx), v8::Type::Object | v8::Type::Function);
    let mut e = JsError::default();
    if is_object {
        s.get(idx, "name");
        e.name = if s.is_nullish(-1 + s.top()) {
            String::new()
        } else {
            s.to_string(s.top() - 1)
        };
        s.get(idx, "message");
        e.message = s.to_string(s.top() - 1);
        s.get(idx, "stack");
        if !s.is_nullish(s.top() - 1) {
            e.stack = s.to_string(s.top() - 1);
        }
    } else {
        e.message = s.to_string(idx);
    }
    s.settop(top);
    e
}

fn module_kind(t: ModuleType) -> ModuleKind {
    match t {
        ModuleType::EsModule | ModuleType::Script => ModuleKind::Js,
        ModuleType::Text => ModuleKind::Text,
        ModuleType::Json => ModuleKind::Json,
        ModuleType::Data => ModuleKind::Data,
    }
}

impl Worker {
    pub fn new(spare: Spare, shared: Arc<Shared>, slot: usize) -> Rc<Worker> {
        let Spare { isolate, state } = spare;
        Rc::new_cyclic(|weak| {
            *state.worker.borrow_mut() = weak.clone();
            Worker {
                isolate,
                state,
                shared,
                slot,
                condemned: Cell::new(false),
                last_used: Cell::new(0),
            }
        })
    }

    /// The Cache API store used when an invocation's env has none.
    pub fn set_default_cache(&self, store: Arc<dyn CacheStore>) {
        self.state.default_cache.replace(Some(store));
    }

    /// Condemned workers finish what they run but take no new invocations.
    pub fn condemned(&self) -> bool {
        self.condemned.get()
    }

    pub fn in_flight(&self) -> usize {
        self.state.in_flight()
    }

    /// Runs JS for invocation `id` under the watchdog, then drains microtasks and reports
    /// unhandled rejections. Limit violations fail the invocation and condemn the isolate.
    fn enter(
        &self,
        id: u32,
        f: impl FnOnce(&mut Scope) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let prev = self.state.current.replace(id);
        let start = Instant::now();
        let deadline = self.state.deadline(id, start);
        if let Some((at, _)) = deadline {
            self.shared
                .watchdog
                .arm(self.slot, self.isolate.terminate_handle(), at);
        }
        let result = self.isolate.enter(|s| {
            let r = f(s);
            if !matches!(r, Err(Failure::Terminated)) {
                s.run_microtasks();
                if s.take_rejections() > 0 {
                    let arr = s.top() - 1;
                    s.push_internal("reportRejections");
                    let f = s.top() - 1;
                    s.dup(arr);
                    if s.call(f, None, 1).is_ok() {
                        s.run_microtasks();
                    }
                }
            }
            r
        });
        let fired = deadline.is_some() && self.shared.watchdog.disarm(self.slot);
        let elapsed = start.elapsed();
        if let Some(inv) = self.state.invocations.borrow_mut().get_mut(&id) {
            inv.cpu += elapsed;
        }
        self.state.current.set(prev);
        self.state.deliver();
        self.isolate.pump();

        let oom = self.isolate.hit_heap_limit();
        if !(fired || oom || matches!(result, Err(Failure::Terminated))) {
            return result;
        }
        // The isolate stopped mid-script: recycle it. A CPU or wall overrun fails only the
        // invocation that ran; exhausted memory fails everything in flight here.
        self.isolate.cancel_terminate();
        self.condemned.set(true);
        let cfg = &self.shared.config;
        if oom {
            let err = WorkerError::new(
                ErrorKind::ExceededMemory,
                format!(
                    "Worker has exceeded memory limit. (memory_limit_mb = {})",
                    cfg.memory_limit_mb
                ),
            );
            let ids: Vec<u32> = self.state.invocations.borrow().keys().copied().collect();
            for other in ids {
                self.state.abort(other, err.clone());
            }
        } else {
            let err = match deadline.map(|d| d.1) {
                Some(ErrorKind::ExceededWallTime) => self.wall_error(),
                _ => WorkerError::new(
                    ErrorKind::ExceededCpu,
                    format!(
                        "Worker exceeded CPU time limit. (cpu_time_ms = {})",
                        cfg.cpu_time_ms
                    ),
                ),
            };
            self.state.abort(id, err);
        }
        Err(Failure::Terminated)
    }

    fn wall_error(&self) -> WorkerError {
        WorkerError::new(
            ErrorKind::ExceededWallTime,
            format!(
                "Worker exceeded wall time limit. (wall_time_ms = {})",
                self.shared.config.wall_time_ms
            ),
        )
    }

    fn settle_call(&self, invocation: u32, call: u32, settle: Settle) {
        let _ = self.enter(invocation, |s| {
            s.push_internal("settleCall");
            let f = s.top() - 1;
            s.push_number(call as f64);
            match settle {
                Ok(push) => {
                    s.push_bool(true);
                    push(s);
                }
                Err(e) => {
                    s.push_bool(false);
                    s.push_str(&e.message);
                }
            }
            s.call(f, None, 3)
        });
    }

    fn fire_timer(&self, timer: u32) {
        let Some(t) = self.state.timers.borrow_mut().remove(&timer) else {
            return;
        };
        let _ = self.enter(t.invocation, |s| {
            s.push_internal("fireTimer");
            let f = s.top() - 1;
            s.push_number(timer as f64);
            s.call(f, None, 1)
        });
    }

    /// Compiles `m` through `compile`, handing it the engine's code cache for the module and
    /// keeping a fresh cache it produces. Returns the cache now in effect for the module.
    fn with_code_cache(
        &self,
        m: &Module,
        compile: impl FnOnce(Option<&[u8]>) -> Result<Option<Vec<u8>>, Failure>,
    ) -> Result<Vec<u8>, Failure> {
        let key = Shared::cache_key(m);
        let cached = self.shared.cached_code(key);
        match compile(cached.as_deref())? {
            Some(fresh) => {
                self.shared.store_code(key, fresh.clone());
                Ok(fresh)
            }
            None => Ok(cached.map(|c| c.to_vec()).unwrap_or_default()),
        }
    }

    /// Compiles every module, evaluates the main one and hands its exports to the bootstrap.
    /// Returns the main module's code cache.
    pub fn load(&self, source: &WorkerSource) -> Result<Vec<u8>, WorkerError> {
        let main = source
            .modules
            .iter()
            .find(|m| m.name == source.main_module)
            .ok_or_else(|| {
                WorkerError::new(
                    ErrorKind::Script,
                    format!(
                        "main module \"{}\" is not among the modules",
                        source.main_module
                    ),
                )
            })?;
        let mut main_cache = Vec::new();
        let mut failure = None;
        let r = self.enter(0, |s| {
            for m in &source.modules {
                if m.kind == ModuleType::Script {
                    continue;
                }
                let cache = self.with_code_cache(m, |cached| {
                    s.add_module(&m.name, module_kind(m.kind), &m.content, cached)
                })?;
                if m.name == main.name {
                    main_cache = cache;
                }
            }
            if main.kind == ModuleType::Script {
                let text = String::from_utf8_lossy(&main.content);
                main_cache =
                    self.with_code_cache(main, |cached| s.run_script(&main.name, &text, cached))?;
                return Ok(());
            }
            s.run_module(&main.name)?;
            let (promise, ns) = (s.top() - 2, s.top() - 1);
            s.run_microtasks();
            match s.promise_state(promise) {
                PromiseState::Fulfilled => {}
                PromiseState::Rejected => {
                    failure = Some(js_error(ErrorKind::Script, error_at(s, s.top() - 1)));
                    return Ok(());
                }
                PromiseState::Pending => {
                    failure = Some(WorkerError::new(
                        ErrorKind::Script,
                        "Top-level await in the main module did not settle during startup; \
                         I/O must happen inside a handler.",
                    ));
                    return Ok(());
                }
            }
            s.push_internal("setModule");
            let f = s.top() - 1;
            s.dup(ns);
            s.call(f, None, 1)
        });
        match r {
            Ok(()) => match failure {
                Some(e) => Err(e),
                None => Ok(main_cache),
            },
            Err(Failure::Exception(e)) => Err(js_error(ErrorKind::Script, e)),
            Err(Failure::Terminated) => Err(if self.isolate.hit_heap_limit() {
                WorkerError::new(
                    ErrorKind::ExceededMemory,
                    format!(
                        "Worker has exceeded memory limit during startup. (memory_limit_mb = {})",
                        self.shared.config.memory_limit_mb
                    ),
                )
            } else {
                WorkerError::new(
                    ErrorKind::ExceededCpu,
                    format!(
                        "Script startup exceeded CPU time limit. (cpu_time_ms = {})",
                        self.shared.config.cpu_time_ms
                    ),
                )
            }),
        }
    }

    /// Starts an invocation by calling `internals[entry](id, ...args)` and waits for its
    /// completion, bounded by the wall-time limit.
    async fn invoke(&self, entry: &str, push_args: impl FnOnce(&mut Scope) -> i32) -> Completion {
        let (id, rx) = self.state.begin();
        let started = self.state.invocations.borrow().get(&id).map(|i| i.started);
        let r = self.enter(id, |s| {
            s.push_internal(entry);
            let f = s.top() - 1;
            s.push_number(id as f64);
            let n = push_args(s);
            s.call(f, None, n + 1)
        });
        if let Err(Failure::Exception(e)) = r {
            self.state.abort(id, js_error(ErrorKind::Internal, e));
        }
        let wall = self.state.limits.wall;
        let completion = match wall {
            Some(limit) => {
                let left = limit.saturating_sub(started.map_or(Duration::ZERO, |s| s.elapsed()));
                match tokio::time::timeout(left, rx).await {
                    Ok(r) => r.ok(),
                    Err(_) => {
                        self.state.abort(id, self.wall_error());
                        None
                    }
                }
            }
            None => rx.await.ok(),
        };
        completion.unwrap_or_else(|| Completion {
            outcome: Outcome::Failed(self.wall_error()),
            logs: Vec::new(),
            pass_through: false,
        })
    }

    pub async fn fetch(&self, env: &Env, req: WorkerRequest) -> Completion {
        let spec = self.state.env_spec(env);
        self.invoke("dispatchFetch", |s| {
            s.push_str(&req.method);
            s.push_str(&req.url);
            for (k, v) in &req.headers {
                s.push_str(k);
                s.push_str(v);
            }
            s.push_array(req.headers.len() as i32 * 2);
            let has_body = !req.body.is_empty()
                || !(req.method.eq_ignore_ascii_case("GET")
                    || req.method.eq_ignore_ascii_case("HEAD"));
            if has_body {
                s.push_bytes(&req.body);
            } else {
                s.push_null();
            }
            s.push_strings(&spec);
            5
        })
        .await
    }

    pub async fn call_function(&self, env: &Env, name: &str, json_args: &str) -> Completion {
        let spec = self.state.env_spec(env);
        self.invoke("callFunction", |s| {
            s.push_str(name);
            s.push_str(json_args);
            s.push_strings(&spec);
            3
        })
        .await
    }

    pub async fn queue(&self, env: &Env, batch: &crate::api::queue::QueueBatch) -> Completion {
        let spec = self.state.env_spec(env);
        self.invoke("dispatchQueue", |s| {
            let n = crate::api::queue::push_batch(s, batch);
            s.push_strings(&spec);
            n + 1
        })
        .await
    }
}
