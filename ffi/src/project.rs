//! `wk_project_t`: a wrangler project (config, modules, embedded stores, static assets, queue
//! consumers) running in an engine, as `wk serve` runs it.
use std::ffi::{CString, c_char};
use std::path::Path;

use worker_core::project::{Project, ProjectOptions, read_config};

use crate::engine::{off_runtime, wk_engine_t};
use crate::env::{wk_env_t, wk_request_t};
use crate::error::*;
use crate::response::wk_response_t;

/// A wrangler project loaded into an engine (`wk_project_open`). Thread-safe: fetch from any
/// threads concurrently. Free it (`wk_project_free`) before the engine.
pub struct wk_project_t {
    project: Project,
    name: CString,
}

fn optional_path<'a>(p: *const c_char, len: usize, what: &str) -> Fallible<Option<&'a Path>> {
    if p.is_null() {
        return Ok(None);
    }
    text(p, len, what).map(|s| Some(Path::new(s)))
}

/// Opens the project at `path` (UTF-8 `(ptr, len)`): a `wrangler.jsonc` / `wrangler.json` /
/// `wrangler.toml`, a directory holding one, or a worker script on its own. Its modules are
/// compiled into `engine` as site = the project's name (syntax errors carry `file:line:col`),
/// every binding the config declares gets its embedded store under `state_dir` (NULL: `.wk-state`
/// beside the config), and its queue consumers start.
///
/// `env` (NULL: none) is borrowed and copied: its vars and bindings replace the config's of the
/// same name or add to them, so a host serves a declared binding from its own store by adding
/// one under that name (`wk_env_add_kv` ...) before opening.
///
/// Errors: `WK_E_INVALID_ARGUMENT` (NULL, invalid UTF-8); `WK_E_SCRIPT` for an unreadable or
/// invalid config, a missing module, a store that cannot be opened, or a compile error;
/// `WK_E_INTERNAL` after the engine shut down. Blocks; any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_open(
    engine: *const wk_engine_t,
    path: *const c_char,
    path_len: usize,
    state_dir: *const c_char,
    state_dir_len: usize,
    env: *const wk_env_t,
    out_project: *mut *mut wk_project_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_project, "out_project", std::ptr::null_mut())?;
        let engine = handle(engine, "engine")?.engine();
        let path = Path::new(text(path, path_len, "path")?);
        let options = ProjectOptions {
            state_dir: optional_path(state_dir, state_dir_len, "state_dir")?.map(Path::to_path_buf),
            env: match env.is_null() {
                true => Default::default(),
                false => (*handle(env, "env")?.env).clone(),
            },
            on_queue_event: None,
        };
        let project = off_runtime(|| Project::open(engine, path, options))
            .map_err(|e| wk_error_t::from_worker(&e))?;
        let name = c_string(project.name());
        *o = Box::into_raw(Box::new(wk_project_t { project, name }));
        Ok(())
    })
}

/// One request through the project, as `wk serve` handles it: static assets where the routing
/// rules give them the request, otherwise the worker. `request` is borrowed. Results as
/// `wk_execute`: `WK_OK` with a response, or the failure's status with `*err` filled and a
/// status-500 response (holding the logs) in `*out_response`. Blocks; any thread, concurrently.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_fetch(
    project: *const wk_project_t,
    request: *const wk_request_t,
    out_response: *mut *mut wk_response_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_response, "out_response", std::ptr::null_mut())?;
        let project = &handle(project, "project")?.project;
        let req = handle(request, "request")?.req.clone();
        let result = off_runtime(|| project.fetch_blocking(req));
        *o = Box::into_raw(wk_response_t::new(&result));
        match &result.error {
            None => Ok(()),
            Some(e) => Err(wk_error_t::from_worker(e)),
        }
    })
}

/// The project's name (its worker's site id), NUL-terminated, valid until the project is freed.
/// NULL for a NULL project.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_name(project: *const wk_project_t) -> *const c_char {
    ffi_value(std::ptr::null(), || match handle(project, "project") {
        Ok(p) => p.name.as_ptr(),
        Err(_) => std::ptr::null(),
    })
}

/// Stops the project's queue consumers (after the batches in flight) and frees it. The engine
/// and the project's worker in it live on. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_free(project: *mut wk_project_t) {
    ffi_value((), || {
        if !project.is_null() {
            // SAFETY: a non-NULL project came from `wk_project_open` and is freed only once.
            drop(unsafe { Box::from_raw(project) });
        }
    })
}

/// Reads a wrangler config (`.jsonc` with comments and trailing commas, `.json`, or `.toml`)
/// into JSON text in `*out_json`/`*out_len` (NUL-terminated; free with `wk_string_free`), for
/// hosts that want to know what a project declares, such as its binding names, before opening
/// it. Errors: `WK_E_INVALID_ARGUMENT` (NULL, invalid UTF-8); `WK_E_SCRIPT` when the file cannot
/// be read or parsed (the message has `file:line:col`). Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_config_read_json(
    path: *const c_char,
    path_len: usize,
    out_json: *mut *mut c_char,
    out_len: *mut usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let oj = out(out_json, "out_json", std::ptr::null_mut())?;
        let ol = out(out_len, "out_len", 0)?;
        let path = Path::new(text(path, path_len, "path")?);
        let value = read_config(path).map_err(|m| wk_error_t::new(WK_E_SCRIPT, "script", m))?;
        let json = value.to_string();
        *oj = alloc_out(json.as_bytes()).cast();
        *ol = json.len();
        Ok(())
    })
}
