//! `wk_project_t`: a wrangler project (config, modules, embedded stores, static assets, queue
//! consumers) running in an engine, as `wk serve` runs it.
use std::ffi::{CString, c_char, c_void};
use std::path::Path;

use worker_core::project::{Project, ProjectOptions, read_config};

use crate::engine::{off_runtime, wk_engine_t};
use crate::env::{wk_env_t, wk_request_t};
use crate::error::*;
use crate::queue::{queue_observer, wk_queue_event_cb};
use crate::response::wk_response_t;
use crate::source::{UserData, read_versioned, wk_user_data_free_cb};

/// A wrangler project loaded into an engine (`wk_project_open`). Thread-safe: fetch from any
/// threads concurrently. Free it (`wk_project_free`) before the engine.
pub struct wk_project_t {
    project: Project,
    name: CString,
    warnings: Vec<CString>,
}

fn optional_path<'a>(p: *const c_char, len: usize, what: &str) -> Fallible<Option<&'a Path>> {
    if p.is_null() {
        return Ok(None);
    }
    text(p, len, what).map(|s| Some(Path::new(s)))
}

/// How `wk_project_open_with` opens a project. Initialise it with `wk_project_options_init`;
/// later versions only add fields at the end.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_project_options_t {
    pub struct_size: u32,
    /// Where the embedded stores persist, UTF-8 `(ptr, len)`; NULL: `.wk-state` beside the config.
    pub state_dir: *const c_char,
    pub state_dir_len: usize,
    /// Borrowed for the call and copied; NULL: none. See `wk_project_open`.
    pub env: *const wk_env_t,
    /// Told what the project's queue consumers did (see `wk_queue_event_cb`); NULL: dropped
    /// messages and storage errors go to stderr.
    pub on_queue_event: wk_queue_event_cb,
    /// Passed to `on_queue_event` (from the project's broker thread, so usable from any thread);
    /// `queue_event_user_data_free` (may be NULL) is called exactly once: when the project is
    /// freed, after the last event, or before `wk_project_open_with` returns if it fails or
    /// `on_queue_event` is NULL.
    pub queue_event_user_data: *mut c_void,
    pub queue_event_user_data_free: wk_user_data_free_cb,
}

impl wk_project_options_t {
    fn defaults() -> Self {
        wk_project_options_t {
            struct_size: std::mem::size_of::<wk_project_options_t>() as u32,
            state_dir: std::ptr::null(),
            state_dir_len: 0,
            env: std::ptr::null(),
            on_queue_event: None,
            queue_event_user_data: std::ptr::null_mut(),
            queue_event_user_data_free: None,
        }
    }
}

/// Fills `*options` with the defaults (no state dir, env or observer) and its `struct_size`.
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_options_init(
    options: *mut wk_project_options_t,
) -> wk_status_t {
    ffi_status(|| {
        out(options, "options", wk_project_options_t::defaults())?;
        Ok(())
    })
}

fn open(
    engine: *const wk_engine_t,
    path: *const c_char,
    path_len: usize,
    options: ProjectOptions,
    out_project: *mut *mut wk_project_t,
) -> Fallible<()> {
    let o = out(out_project, "out_project", std::ptr::null_mut())?;
    let engine = handle(engine, "engine")?.engine();
    let path = Path::new(text(path, path_len, "path")?);
    let project = off_runtime(|| Project::open(engine, path, options))
        .map_err(|e| wk_error_t::from_worker(&e))?;
    let name = c_string(project.name());
    let warnings = project
        .spec()
        .warnings
        .iter()
        .map(|w| c_string(w))
        .collect();
    *o = Box::into_raw(Box::new(wk_project_t {
        project,
        name,
        warnings,
    }));
    Ok(())
}

fn borrowed_env(env: *const wk_env_t) -> Fallible<worker_core::Env> {
    Ok(match env.is_null() {
        true => Default::default(),
        false => (*handle(env, "env")?.env).clone(),
    })
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
        let options = ProjectOptions {
            state_dir: optional_path(state_dir, state_dir_len, "state_dir")?.map(Path::to_path_buf),
            env: borrowed_env(env)?,
            on_queue_event: None,
        };
        open(engine, path, path_len, options, out_project)
    })
}

/// `wk_project_open` with options (`wk_project_options_init` first; NULL: the defaults), which
/// can also observe the project's queue consumers. Errors as `wk_project_open`, and
/// `WK_E_INVALID_ARGUMENT` for a bad `struct_size`. Blocks; any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_open_with(
    engine: *const wk_engine_t,
    path: *const c_char,
    path_len: usize,
    options: *const wk_project_options_t,
    out_project: *mut *mut wk_project_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = match options.is_null() {
            true => wk_project_options_t::defaults(),
            // SAFETY: a non-NULL `options` points to a `wk_project_options_t` of at least its
            // `struct_size` bytes (API contract), which `read_versioned` checks first.
            false => unsafe { read_versioned(options, "options", "wk_project_options_t")? },
        };
        // Owned from here: freed with the observer, or at once when there is none or opening fails.
        let user_data = UserData::new(o.queue_event_user_data, o.queue_event_user_data_free);
        let options = ProjectOptions {
            state_dir: optional_path(o.state_dir, o.state_dir_len, "state_dir")?
                .map(Path::to_path_buf),
            env: borrowed_env(o.env)?,
            on_queue_event: o
                .on_queue_event
                .is_some()
                .then(|| queue_observer(o.on_queue_event, user_data)),
        };
        open(engine, path, path_len, options, out_project)
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

/// How many warnings opening the project gave: config settings libworker ignores or does not
/// support, each naming the setting. 0 for NULL. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_warning_count(project: *const wk_project_t) -> usize {
    ffi_value(0, || {
        handle(project, "project").map_or(0, |p| p.warnings.len())
    })
}

/// Warning `index` (0-based) as NUL-terminated UTF-8 in `*out` (`*out_len` bytes), valid until
/// the project is freed. Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or an index out of
/// range. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_project_warning_at(
    project: *const wk_project_t,
    index: usize,
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> wk_status_t {
    ffi_status(|| {
        let p = handle(project, "project")?;
        let w = p.warnings.get(index).ok_or_else(|| {
            invalid(format!(
                "warning {index} is out of range ({} warnings)",
                p.warnings.len()
            ))
        })?;
        out(out_text, "out_text", w.as_ptr())?;
        out(out_len, "out_len", w.as_bytes().len())?;
        Ok(())
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
