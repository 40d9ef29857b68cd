//! `wk_env_t` (what a worker sees as `env`) and `wk_request_t` (an HTTP request).
use std::ffi::c_char;
use std::sync::Arc;

use worker_core::{Env, WorkerRequest};

use crate::error::*;

/// A worker's `env`: string vars, secrets and JSON vars. Owned by the caller (`wk_env_free`).
/// Mutate it from one thread at a time; once built, it may be passed to any number of concurrent
/// `wk_execute*` calls (they take a snapshot and never modify it).
pub struct wk_env_t {
    pub(crate) env: Arc<Env>,
}

/// An HTTP request. Owned by the caller (`wk_request_free`). Mutate from one thread at a time;
/// `wk_execute*` copy it, so it may be reused or freed as soon as they return.
pub struct wk_request_t {
    pub(crate) req: WorkerRequest,
}

/// Creates an empty env. `*out_env` is owned by the caller. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `out_env` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_new(
    out_env: *mut *mut wk_env_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_env, "out_env", std::ptr::null_mut())?;
        *o = Box::into_raw(Box::new(wk_env_t {
            env: Arc::new(Env::new()),
        }));
        Ok(())
    })
}

/// Frees an env. NULL is a no-op. Requests already started with it are unaffected.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_free(env: *mut wk_env_t) {
    ffi_value((), || {
        if !env.is_null() {
            // SAFETY: a non-NULL env came from `wk_env_new` and is freed only once.
            drop(unsafe { Box::from_raw(env) });
        }
    })
}

/// Sets the plain-text var `key` (UTF-8 `key[0..key_len]`) to `value[0..value_len]` (UTF-8).
/// Setting a key again replaces it. Both strings are copied.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL or invalid UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_set_var(
    env: *mut wk_env_t,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let e = handle_mut(env, "env")?;
        let k = text(key, key_len, "key")?;
        let v = text(value, value_len, "value")?;
        Arc::make_mut(&mut e.env)
            .vars
            .insert(k.to_string(), v.to_string());
        Ok(())
    })
}

/// Sets the secret `key` to `value`: a string var kept apart so hosts can redact it. Same rules
/// as `wk_env_set_var`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_set_secret(
    env: *mut wk_env_t,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let e = handle_mut(env, "env")?;
        let k = text(key, key_len, "key")?;
        let v = text(value, value_len, "value")?;
        Arc::make_mut(&mut e.env)
            .secrets
            .insert(k.to_string(), v.to_string());
        Ok(())
    })
}

/// Sets the JSON var `key`: the worker sees the parsed value of `json[0..json_len]`.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL, invalid UTF-8, or text that is not JSON (the message
/// says where parsing failed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_set_json(
    env: *mut wk_env_t,
    key: *const c_char,
    key_len: usize,
    json: *const c_char,
    json_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let e = handle_mut(env, "env")?;
        let k = text(key, key_len, "key")?;
        let j = text(json, json_len, "json")?;
        let value: serde_json::Value = serde_json::from_str(j)
            .map_err(|x| invalid(format!("json for {k:?} is not valid JSON: {x}")))?;
        Arc::make_mut(&mut e.env).json.insert(k.to_string(), value);
        Ok(())
    })
}

/// Creates a request with UTF-8 `method` (e.g. `"GET"`) and absolute `url`, no headers and an
/// empty body. `*out_request` is owned by the caller. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL, invalid UTF-8 or an empty method/url.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_request_new(
    method: *const c_char,
    method_len: usize,
    url: *const c_char,
    url_len: usize,
    out_request: *mut *mut wk_request_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_request, "out_request", std::ptr::null_mut())?;
        let m = text(method, method_len, "method")?;
        let u = text(url, url_len, "url")?;
        if m.is_empty() {
            return Err(invalid("method is empty"));
        }
        if u.is_empty() {
            return Err(invalid("url is empty"));
        }
        *o = Box::into_raw(Box::new(wk_request_t {
            req: WorkerRequest::get(u).method(m),
        }));
        Ok(())
    })
}

/// Frees a request. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_request_free(request: *mut wk_request_t) {
    ffi_value((), || {
        if !request.is_null() {
            // SAFETY: a non-NULL request came from `wk_request_new` and is freed only once.
            drop(unsafe { Box::from_raw(request) });
        }
    })
}

/// Appends a header (UTF-8 name and value, copied). Order is kept and repeated names stay
/// separate entries, so several `Set-Cookie` or `Accept` lines survive.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL, invalid UTF-8 or an empty name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_request_add_header(
    request: *mut wk_request_t,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let r = handle_mut(request, "request")?;
        let n = text(name, name_len, "name")?;
        let v = text(value, value_len, "value")?;
        if n.is_empty() {
            return Err(invalid("header name is empty"));
        }
        r.req.headers.push((n.to_string(), v.to_string()));
        Ok(())
    })
}

/// Replaces the body with a copy of `data[0..len]` (any bytes; NULL is allowed when `len` is 0).
///
/// Errors: `WK_E_INVALID_ARGUMENT` for a NULL request, or NULL data with a non-zero length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_request_set_body(
    request: *mut wk_request_t,
    data: *const u8,
    len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let r = handle_mut(request, "request")?;
        let b = bytes(data, len, "data")?;
        r.req.body = b.to_vec();
        Ok(())
    })
}

/// Binds `name` (UTF-8 `name[0..name_len]`, not empty) in the env: `insert` puts the binding in
/// its table. Shared by every `wk_env_add_<binding>`.
pub(crate) fn add_binding(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    insert: impl FnOnce(&mut Env, String),
) -> Fallible<()> {
    let e = handle_mut(env, "env")?;
    let name = text(name, name_len, "name")?;
    if name.is_empty() {
        return Err(invalid("name is empty"));
    }
    insert(Arc::make_mut(&mut e.env), name.to_string());
    Ok(())
}
