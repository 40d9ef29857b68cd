//! `wk_engine_t` and the calls that run workers.
use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use worker_core::{Engine, EngineConfig, Env, ExecuteResult};

use crate::env::{wk_env_t, wk_request_t};
use crate::error::*;
use crate::response::wk_response_t;
use crate::source::{
    CLoader, UserData, read_versioned, wk_source_loader_vtable_t, wk_source_t, wk_user_data_free_cb,
};

/// Engine settings. Initialise with `wk_engine_options_init`, then change what you need. Later
/// ABI versions only add fields at the end; `struct_size` tells libworker which ones you know.
/// For every limit, 0 means "no limit".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wk_engine_options_t {
    /// `sizeof(wk_engine_options_t)`; set by `wk_engine_options_init`.
    pub struct_size: u32,
    /// Executor threads (each runs an event loop and owns its isolates); 0 = one per CPU core.
    pub pool_size: u32,
    /// V8 heap limit per worker isolate, in MiB. Default 128.
    pub memory_limit_mb: u64,
    /// CPU time one request may spend in JavaScript, in ms. Default 30000.
    pub cpu_time_ms: u64,
    /// Wall-clock time until a request must have its response, in ms. Default 60000.
    pub wall_time_ms: u64,
    /// Largest response body, in bytes. Default 100 MiB.
    pub max_response_bytes: u64,
    /// Subrequests (fetch and binding calls) per request. Default 1000.
    pub max_subrequests: u32,
    /// Worker isolates kept resident (least recently used are evicted). Default 1000.
    pub max_resident_workers: u32,
    /// Blank isolates each executor thread keeps booted for never-seen workers. Default 2.
    pub warm_isolates: u32,
    /// Allow `eval` and `new Function` (refused by default, as on Cloudflare).
    pub allow_code_generation: bool,
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl wk_engine_options_t {
    fn defaults() -> wk_engine_options_t {
        let d = EngineConfig::default();
        wk_engine_options_t {
            struct_size: size_of::<wk_engine_options_t>() as u32,
            pool_size: 0,
            memory_limit_mb: d.memory_limit_mb as u64,
            cpu_time_ms: d.cpu_time_ms,
            wall_time_ms: d.wall_time_ms,
            max_response_bytes: d.max_response_bytes as u64,
            max_subrequests: d.max_subrequests,
            max_resident_workers: clamp_u32(d.max_resident_workers),
            warm_isolates: clamp_u32(d.warm_isolates),
            allow_code_generation: d.allow_code_generation,
        }
    }

    fn config(&self) -> EngineConfig {
        let d = EngineConfig::default();
        EngineConfig {
            pool_size: if self.pool_size == 0 {
                d.pool_size
            } else {
                self.pool_size as usize
            },
            memory_limit_mb: to_usize(self.memory_limit_mb),
            cpu_time_ms: self.cpu_time_ms,
            wall_time_ms: self.wall_time_ms,
            max_subrequests: self.max_subrequests,
            max_response_bytes: to_usize(self.max_response_bytes),
            max_resident_workers: self.max_resident_workers as usize,
            warm_isolates: self.warm_isolates as usize,
            allow_code_generation: self.allow_code_generation,
        }
    }
}

/// Fills `*options` with the defaults (and `struct_size`). Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `options` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_engine_options_init(options: *mut wk_engine_options_t) -> wk_status_t {
    ffi_status(|| {
        out(options, "options", wk_engine_options_t::defaults())?;
        Ok(())
    })
}

/// Counts `wk_execute_async` calls whose callback has not returned yet.
#[derive(Default)]
struct Inflight {
    count: Mutex<usize>,
    idle: Condvar,
}

impl Inflight {
    fn enter(self: &Arc<Self>) -> InflightGuard {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        InflightGuard(self.clone())
    }

    fn wait_idle(&self) {
        let mut n = self.count.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            n = self.idle.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }
}

struct InflightGuard(Arc<Inflight>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        let mut n = self.0.count.lock().unwrap_or_else(|p| p.into_inner());
        *n -= 1;
        if *n == 0 {
            self.0.idle.notify_all();
        }
    }
}

/// A worker runtime: executor threads, resident worker isolates, the compiled-code cache and the
/// source loader. Create once per process with `wk_engine_new`. Thread-safe: every function that
/// takes a `const wk_engine_t *` may be called from any thread, concurrently.
pub struct wk_engine_t {
    engine: Engine,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    inflight: Arc<Inflight>,
    shut_down: AtomicBool,
}

/// Runs `f` on the current thread, or on a helper thread when the current one is inside an async
/// runtime (a `wk_execute_async` callback), where blocking calls are not allowed.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(p) => resume_unwind(p),
    })
}

impl wk_engine_t {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    fn shutdown(&self) {
        let first = !self.shut_down.swap(true, Ordering::SeqCst);
        // Requests accepted by wk_execute_async finish normally before the engine stops (new
        // ones are refused from here on). Their callbacks run on the runtime thread, so waiting
        // there would deadlock: from inside a callback, pending requests fail instead.
        if tokio::runtime::Handle::try_current().is_err() {
            self.inflight.wait_idle();
        }
        if first {
            let engine = self.engine.clone();
            // A panic here must not stop wk_engine_free from releasing everything else.
            let _ = catch_unwind(AssertUnwindSafe(|| off_runtime(|| engine.shutdown())));
        }
    }
}

/// Creates an engine. `options` may be NULL for the defaults. `loader` is copied; it may be NULL
/// if every worker will be supplied by `wk_compile_and_cache` (other requests then fail with
/// `WK_E_NOT_FOUND`). `user_data` is passed to the loader's callbacks, from libworker's threads,
/// so it must be usable from any thread; `user_data_free` (may be NULL) is called exactly once
/// when libworker no longer needs it: after `wk_engine_free`, or before `wk_engine_new` returns
/// if it fails. `*out_engine` is owned by the caller (`wk_engine_free`). Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for a NULL `out_engine`, a bad `struct_size` or a NULL `load`;
/// `WK_E_INTERNAL` if V8 or the executor threads cannot start.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_engine_new(
    options: *const wk_engine_options_t,
    loader: *const wk_source_loader_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    out_engine: *mut *mut wk_engine_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    // Owned from the first instruction so the finalizer runs exactly once on every path.
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        let o = out(out_engine, "out_engine", std::ptr::null_mut())?;
        let opts = match options.is_null() {
            true => wk_engine_options_t::defaults(),
            // SAFETY: non-NULL options are readable for `struct_size` bytes (API contract).
            false => unsafe { read_versioned(options, "options", "wk_engine_options_t") }?,
        };
        let vtable = match loader.is_null() {
            true => None,
            // SAFETY: as for options.
            false => {
                Some(unsafe { read_versioned(loader, "loader", "wk_source_loader_vtable_t") }?)
            }
        };
        let loader = CLoader::new(vtable.as_ref(), user_data)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wk-ffi-callbacks")
            .enable_all()
            .build()
            .map_err(|e| {
                wk_error_t::new(
                    WK_E_INTERNAL,
                    "internalError",
                    format!("cannot start the callback thread: {e}"),
                )
            })?;
        let config = opts.config();
        let engine = off_runtime(|| Engine::new(config, Arc::new(loader)))
            .map_err(|e| wk_error_t::from_worker(&e))?;
        *o = Box::into_raw(Box::new(wk_engine_t {
            engine,
            runtime: Mutex::new(Some(runtime)),
            inflight: Arc::default(),
            shut_down: AtomicBool::new(false),
        }));
        Ok(())
    })
}

/// Stops the engine: refuses new work (later calls fail with `WK_E_INTERNAL`), waits until every
/// request accepted by `wk_execute_async` has completed and its callback has returned, lets
/// in-flight requests and `waitUntil` work finish, and joins the executor threads. Called from
/// inside a `wk_execute_async` callback it cannot wait for the others: requests not yet running
/// then complete with `WK_E_INTERNAL`. Idempotent. The engine must still be freed. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `engine` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_engine_shutdown(
    engine: *const wk_engine_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        handle(engine, "engine")?.shutdown();
        Ok(())
    })
}

/// Shuts the engine down (as `wk_engine_shutdown`) and frees it; the loader's `user_data_free`
/// runs once the last internal reference is gone. NULL is a no-op. Call once, after every other
/// call on this engine has returned (a `wk_execute_async` callback may call it, as the last thing
/// it does with the engine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_engine_free(engine: *mut wk_engine_t) {
    ffi_value((), || {
        if engine.is_null() {
            return;
        }
        // SAFETY: a non-NULL engine came from `wk_engine_new` and is freed only once.
        let e = unsafe { Box::from_raw(engine) };
        e.shutdown();
        let rt = e.runtime.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rt) = rt {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Inside a callback: the runtime cannot join its own thread.
                rt.shutdown_background();
            } else {
                drop(rt);
            }
        }
        drop(e);
    })
}

/// The parts shared by `wk_execute` and `wk_execute_async`, validated and copied.
struct Call {
    site: String,
    deploy: String,
    env: Arc<Env>,
}

fn call_args(
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    env: *const wk_env_t,
) -> Fallible<Call> {
    let site = text(site, site_len, "site")?;
    let deploy = text(deploy, deploy_len, "deploy")?;
    let env = if env.is_null() {
        Arc::new(Env::new())
    } else {
        handle(env, "env")?.env.clone()
    };
    Ok(Call {
        site: site.to_string(),
        deploy: deploy.to_string(),
        env,
    })
}

/// Converts a result into the response object and, when the worker failed, the error.
fn outcome(r: &ExecuteResult) -> (Box<wk_response_t>, Option<Box<wk_error_t>>) {
    (
        wk_response_t::new(r),
        r.error.as_ref().map(wk_error_t::from_worker),
    )
}

/// Runs worker (site, deploy)'s fetch handler for `request` and waits for the response.
/// `site`/`deploy` are UTF-8 `(ptr, len)`; `env` may be NULL (empty env); `env` and `request`
/// are borrowed for the call only. The worker is loaded through the source loader on first use.
///
/// Returns `WK_OK` when the worker produced a response (any HTTP status). When the worker failed
/// (exception, script error, limit, loader failure) it returns that status (`WK_E_EXCEPTION`,
/// `WK_E_SCRIPT`, `WK_E_LIMIT`, `WK_E_NOT_FOUND`, `WK_E_BAD_HANDLER`, `WK_E_INTERNAL`), fills
/// `*err`, AND still stores a response in `*out_response` (status 500, with the console logs), so
/// hosts can read the logs. `*out_response` is owned by the caller in both cases, and NULL only
/// for `WK_E_INVALID_ARGUMENT` and `WK_E_PANIC`.
///
/// Blocks the calling thread; any thread, concurrently. Called from a `wk_execute_async`
/// callback it still works (the wait moves to a helper thread) but stalls other callbacks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_execute(
    engine: *const wk_engine_t,
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    env: *const wk_env_t,
    request: *const wk_request_t,
    out_response: *mut *mut wk_response_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_response, "out_response", std::ptr::null_mut())?;
        let e = handle(engine, "engine")?;
        let call = call_args(site, site_len, deploy, deploy_len, env)?;
        let req = handle(request, "request")?.req.clone();
        let engine = &e.engine;
        let result =
            off_runtime(|| engine.execute_blocking(&call.site, &call.deploy, call.env, req));
        let (resp, error) = outcome(&result);
        *o = Box::into_raw(resp);
        match error {
            None => Ok(()),
            Some(e) => Err(e),
        }
    })
}

/// Completion callback of `wk_execute_async`. `status` is as `wk_execute` would return;
/// `response` (NULL only for `WK_E_PANIC`/`WK_E_INTERNAL` without a result) and `err` (NULL on
/// success) are owned by the callback, which must free them. Runs on libworker's callback thread;
/// keep it short (hand work to your own threads), as it delays other completions.
pub type wk_execute_done_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: wk_status_t,
        response: *mut wk_response_t,
        err: *mut wk_error_t,
    ),
>;

/// Calls the host's callback exactly once: with the result, or from `Drop` if the task is
/// cancelled (engine freed) or panics.
struct Done {
    cb: unsafe extern "C" fn(*mut c_void, wk_status_t, *mut wk_response_t, *mut wk_error_t),
    user_data: *mut c_void,
    fired: bool,
    _inflight: InflightGuard,
}

// SAFETY: the host's contract for wk_execute_async is that `user_data` may be used from the
// callback thread; libworker only passes it back.
unsafe impl Send for Done {}

impl Done {
    fn fire(&mut self, status: wk_status_t, resp: *mut wk_response_t, err: *mut wk_error_t) {
        self.fired = true;
        // SAFETY: the host's callback, called once (guarded by `fired`) with owned objects.
        unsafe { (self.cb)(self.user_data, status, resp, err) };
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        if self.fired {
            return;
        }
        let e = if std::thread::panicking() {
            wk_error_t::new(
                WK_E_PANIC,
                "panic",
                "libworker panicked while running the request",
            )
        } else {
            wk_error_t::new(
                WK_E_INTERNAL,
                "internalError",
                "the engine was freed before the request completed",
            )
        };
        let code = e.code();
        self.fire(code, std::ptr::null_mut(), Box::into_raw(e));
    }
}

/// Starts worker (site, deploy)'s fetch handler for `request` and returns at once; `done` is
/// called exactly once with the outcome, possibly on another thread and possibly before this
/// function returns. Arguments are as for `wk_execute` and borrowed only for this call.
/// `user_data` is passed to `done` untouched. Any thread, concurrently.
///
/// Returns `WK_OK` if the request was started (then `done` will be called), or an error
/// (`WK_E_INVALID_ARGUMENT`, `WK_E_INTERNAL` once `wk_engine_shutdown`/`wk_engine_free` began)
/// and then `done` is never called.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_execute_async(
    engine: *const wk_engine_t,
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    env: *const wk_env_t,
    request: *const wk_request_t,
    done: wk_execute_done_cb,
    user_data: *mut c_void,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let e = handle(engine, "engine")?;
        let cb = done.ok_or_else(|| invalid("done is NULL"))?;
        let call = call_args(site, site_len, deploy, deploy_len, env)?;
        let req = handle(request, "request")?.req.clone();
        if e.shut_down.load(Ordering::SeqCst) {
            return Err(wk_error_t::new(
                WK_E_INTERNAL,
                "internalError",
                "the engine is shut down",
            ));
        }
        let rt = e.runtime.lock().unwrap_or_else(|p| p.into_inner());
        let rt = rt.as_ref().ok_or_else(|| {
            wk_error_t::new(WK_E_INTERNAL, "internalError", "the engine is being freed")
        })?;
        let mut guard = Done {
            cb,
            user_data,
            fired: false,
            _inflight: e.inflight.enter(),
        };
        let engine = e.engine.clone();
        rt.spawn(async move {
            let result = engine
                .execute(&call.site, &call.deploy, call.env, req)
                .await;
            let (resp, error) = outcome(&result);
            let status = error.as_ref().map_or(WK_OK, |e| e.code());
            let err = error.map_or(std::ptr::null_mut(), Box::into_raw);
            guard.fire(status, Box::into_raw(resp), err);
        });
        Ok(())
    })
}

/// Calls the worker's named export `name` (a function, or a method of the default export) with
/// `(env, ...args)`, where `json_args[0..args_len]` is a JSON array (NULL/empty means `[]`), and
/// waits for the awaited result. On `WK_OK`, `*out_json` is the result as NUL-terminated JSON
/// (`undefined` becomes `null`), `*out_len` its length without the NUL (`out_len` may be NULL);
/// free it with `wk_string_free`. On failure `*out_json` is NULL. Blocks; any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` (NULL, invalid UTF-8, args not a JSON array), and the worker
/// failures of `wk_execute` (`WK_E_EXCEPTION`, also for a missing export: a `TypeError`
/// `Export "name" is not a function.`; `WK_E_SCRIPT`; `WK_E_NOT_FOUND` for a missing worker;
/// `WK_E_LIMIT`, ...).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_execute_function(
    engine: *const wk_engine_t,
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    env: *const wk_env_t,
    name: *const c_char,
    name_len: usize,
    json_args: *const c_char,
    args_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let oj = out(out_json, "out_json", std::ptr::null_mut())?;
        let mut ol = opt_out(out_len);
        if let Some(l) = ol.as_deref_mut() {
            *l = 0;
        }
        let e = handle(engine, "engine")?;
        let call = call_args(site, site_len, deploy, deploy_len, env)?;
        let name = text(name, name_len, "name")?;
        if name.is_empty() {
            return Err(invalid("name is empty"));
        }
        let args = if json_args.is_null() && args_len == 0 {
            "[]"
        } else {
            text(json_args, args_len, "json_args")?
        };
        let args = if args.trim().is_empty() { "[]" } else { args };
        match serde_json::from_str::<serde_json::Value>(args) {
            Ok(serde_json::Value::Array(_)) => {}
            Ok(_) => return Err(invalid("json_args must be a JSON array")),
            Err(x) => return Err(invalid(format!("json_args is not valid JSON: {x}"))),
        }
        let engine = &e.engine;
        let r = off_runtime(|| {
            engine.execute_function_blocking(&call.site, &call.deploy, call.env, name, args)
        });
        if let Some(we) = &r.error {
            return Err(wk_error_t::from_worker(we));
        }
        let data = r.data.as_deref().unwrap_or("null");
        *oj = alloc_out(data.as_bytes()).cast();
        if let Some(l) = ol {
            *l = data.len();
        }
        Ok(())
    })
}

/// Compiles `source` as worker (site, deploy), reporting syntax errors with file:line:col, and
/// returns the main module's V8 code cache in `*out_cache`/`*out_len` (free with
/// `wk_bytes_free`). Later requests for (site, deploy) use this source instead of the loader,
/// and its code cache; a resident isolate is replaced. `source` is borrowed (copied). Blocks;
/// any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` (NULL, invalid UTF-8, a source without modules or with an
/// unknown main module); `WK_E_SCRIPT` for compile errors; `WK_E_INTERNAL` after shutdown.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_compile_and_cache(
    engine: *const wk_engine_t,
    site: *const c_char,
    site_len: usize,
    deploy: *const c_char,
    deploy_len: usize,
    source: *const wk_source_t,
    out_cache: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let oc = out(out_cache, "out_cache", std::ptr::null_mut())?;
        let ol = out(out_len, "out_len", 0)?;
        let e = handle(engine, "engine")?;
        let site = text(site, site_len, "site")?;
        let deploy = text(deploy, deploy_len, "deploy")?;
        let src = handle(source, "source")?
            .to_worker_source()
            .map_err(invalid)?;
        let engine = &e.engine;
        let cache = off_runtime(|| engine.compile_and_cache(site, deploy, src))
            .map_err(|we| wk_error_t::from_worker(&we))?;
        *oc = alloc_out(&cache);
        *ol = cache.len();
        Ok(())
    })
}
