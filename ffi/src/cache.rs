//! The Cache API store implemented by the host (`wk_cache_vtable_t`), and the in-memory store.
//!
//! Responses cross as (status, headers as JSON text, body bytes, expiry): headers are a JSON
//! array of `[name, value]` pairs in order, names lower-case, e.g.
//! `[["content-type","text/plain"],["etag","\"v1\""]]`. A store keeps that text as it is and
//! hands it back from `get`.
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use async_trait::async_trait;
use worker_core::HostError;
use worker_core::cache::{CacheStore, CachedResponse};
use worker_core::stores::{DEFAULT_CACHE_BYTES, MemoryCache};

use crate::completion::*;
use crate::env::wk_env_t;
use crate::error::*;
use crate::source::{UserData, read_versioned, require_callbacks, wk_user_data_free_cb};

/// `get` (the worker's `cache.match`): look up the entry for `url` in the cache `cache_name`
/// (NULL with length 0 for `caches.default`; otherwise the name given to `caches.open`, which may
/// be empty) and settle `completion` with `wk_completion_resolve_cache`, or
/// `wk_completion_resolve_null` for a miss or an entry past its expiry, or
/// `wk_completion_reject` on failure (the worker's promise rejects with that message).
///
/// Every cache callback is called on a libworker executor thread, which other workers share: it
/// must not block. Settle the completion inline when the answer is at hand, or later from any
/// thread. Strings are UTF-8, NUL-terminated (the lengths exclude the NUL) and borrowed for the
/// call only.
pub type wk_cache_get_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        cache_name: *const c_char,
        cache_name_len: usize,
        url: *const c_char,
        url_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `put`: store a response for `url` in the cache `cache_name` (NULL for `caches.default`),
/// replacing any entry there: its `status`, `headers_json` (see the module docs; keep it as
/// given), the body `body[0..body_len]`, and `expires_at`, the time it stops being fresh in
/// milliseconds since the UNIX epoch. libworker has already applied the HTTP rules (Cache-Control,
/// Expires, Set-Cookie...), so every response it passes may be stored; a store may still drop any
/// entry at any time, as a cache may. Copy what you keep: the buffers are borrowed for the call.
/// Settle with `wk_completion_resolve(c, NULL, 0)` once stored, or reject.
pub type wk_cache_put_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        cache_name: *const c_char,
        cache_name_len: usize,
        url: *const c_char,
        url_len: usize,
        status: u16,
        headers_json: *const c_char,
        headers_json_len: usize,
        body: *const u8,
        body_len: usize,
        expires_at: u64,
        completion: *mut wk_completion_t,
    ),
>;

/// `remove` (the worker's `cache.delete`; `delete` is a C++ keyword): remove the entry for `url`
/// in `cache_name` (NULL for `caches.default`). Settle with one byte, `1` if a live entry was
/// removed or `0` if there was none (`wk_completion_resolve_null` also means none), or reject.
pub type wk_cache_delete_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        cache_name: *const c_char,
        cache_name_len: usize,
        url: *const c_char,
        url_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// The store behind a worker's `caches` (Cache API), implemented by the host. Set
/// `struct_size = sizeof(wk_cache_vtable_t)`; later ABI versions only add fields at the end.
/// Every callback is required. A store is plain keyed storage: libworker decides what may be
/// stored and for how long, and answers `Range` and conditional requests from the entry `get`
/// returns.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_cache_vtable_t {
    pub struct_size: u32,
    pub get: wk_cache_get_cb,
    pub put: wk_cache_put_cb,
    pub remove: wk_cache_delete_cb,
}

/// A `CacheStore` over the host's vtable.
struct CCache {
    vtable: wk_cache_vtable_t,
    user_data: UserData,
}

/// `s` followed by a NUL, so hosts may treat it as a C string.
fn c_string(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

/// Pointer and length of an optional NUL-terminated string: NULL and 0 for none.
fn opt_ptr(s: &Option<Vec<u8>>) -> (*const c_char, usize) {
    s.as_ref()
        .map_or((std::ptr::null(), 0), |v| (v.as_ptr().cast(), v.len() - 1))
}

async fn outcome(rx: CompletionReceiver) -> Result<Completed, HostError> {
    rx.await.map_err(HostError::from)
}

/// The headers as the JSON text a host keeps (see the module docs).
pub(crate) fn headers_to_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

/// Parses headers JSON text (an array of `[name, value]` string pairs).
pub(crate) fn headers_from_json(json: &str) -> Result<Vec<(String, String)>, String> {
    serde_json::from_str::<Vec<(String, String)>>(json)
        .map_err(|e| format!("headers must be a JSON array of [name, value] strings: {e}"))
}

#[async_trait]
impl CacheStore for CCache {
    async fn get(
        &self,
        cache: Option<&str>,
        url: &str,
    ) -> Result<Option<CachedResponse>, HostError> {
        let name = cache.map(c_string);
        let (np, nl) = opt_ptr(&name);
        let url = c_string(url);
        let (c, rx) = completion_pair();
        let get = self.vtable.get.expect("validated");
        // SAFETY: the host's callback with its own user_data; the strings are valid for the call.
        unsafe {
            get(
                self.user_data.ptr,
                np,
                nl,
                url.as_ptr().cast(),
                url.len() - 1,
                c,
            )
        };
        match outcome(rx).await? {
            Completed::Null => Ok(None),
            Completed::Cache(r) => Ok(Some(r)),
            _ => Err(HostError::new(
                "the host's cache get must resolve with wk_completion_resolve_cache or \
                 wk_completion_resolve_null",
            )),
        }
    }

    async fn put(
        &self,
        cache: Option<&str>,
        url: &str,
        response: CachedResponse,
    ) -> Result<(), HostError> {
        let name = cache.map(c_string);
        let (np, nl) = opt_ptr(&name);
        let url = c_string(url);
        let headers = c_string(&headers_to_json(&response.headers));
        let (c, rx) = completion_pair();
        let put = self.vtable.put.expect("validated");
        // SAFETY: the host's callback with its own user_data; every buffer is valid for the call.
        unsafe {
            put(
                self.user_data.ptr,
                np,
                nl,
                url.as_ptr().cast(),
                url.len() - 1,
                response.status,
                headers.as_ptr().cast(),
                headers.len() - 1,
                response.body.as_ptr(),
                response.body.len(),
                response.expires_at,
                c,
            )
        };
        match outcome(rx).await? {
            Completed::Null => Ok(()),
            Completed::Bytes(b) if b.is_empty() => Ok(()),
            _ => Err(HostError::new(
                "the host's cache put resolved with a value; it must resolve with none",
            )),
        }
    }

    async fn delete(&self, cache: Option<&str>, url: &str) -> Result<bool, HostError> {
        let name = cache.map(c_string);
        let (np, nl) = opt_ptr(&name);
        let url = c_string(url);
        let (c, rx) = completion_pair();
        let remove = self.vtable.remove.expect("validated");
        // SAFETY: the host's callback with its own user_data; the strings are valid for the call.
        unsafe {
            remove(
                self.user_data.ptr,
                np,
                nl,
                url.as_ptr().cast(),
                url.len() - 1,
                c,
            )
        };
        match outcome(rx).await? {
            Completed::Null => Ok(false),
            Completed::Bytes(b) if b == [0] => Ok(false),
            Completed::Bytes(b) if b == [1] => Ok(true),
            _ => Err(HostError::new(
                "the host's cache remove must resolve with one byte, 1 (removed) or 0 (none)",
            )),
        }
    }
}

/// Resolves a cache `get` with a stored response: HTTP `status` (200 to 599), `headers_json` (a
/// JSON array of `[name, value]` pairs, as `put` gave it), the body `body[0..body_len]` (NULL is
/// allowed when the length is 0) and `expires_at` in milliseconds since the UNIX epoch (an entry
/// already past it is a miss). Same rules as `wk_completion_resolve`.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled, a pointer is NULL with a
/// non-zero length, or the status or headers are not valid (the message says which; the
/// completion then stays outstanding).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_resolve_cache(
    c: *mut wk_completion_t,
    status: u16,
    headers_json: *const c_char,
    headers_json_len: usize,
    body: *const u8,
    body_len: usize,
    expires_at: u64,
) -> wk_status_t {
    ffi_status(|| {
        if c.is_null() {
            return Err(invalid("completion is NULL"));
        }
        let headers = text(headers_json, headers_json_len, "headers_json")?;
        let response = CachedResponse {
            status,
            headers: headers_from_json(headers).map_err(invalid)?,
            body: bytes(body, body_len, "body")?.to_vec(),
            expires_at,
        };
        response.check().map_err(invalid)?;
        if completion_settle(c, Ok(Completed::Cache(response))) {
            Ok(())
        } else {
            Err(invalid(
                "completion was already resolved, rejected or freed (or is not a completion)",
            ))
        }
    })
}

/// Serves the worker's `caches.default` and `caches.open(name)` from the host's store instead of
/// the engine's in-memory default. The vtable is copied. `user_data` is passed to every
/// callback, from libworker's executor threads, so it must be usable from any thread;
/// `user_data_free` (may be NULL) is called exactly once when no env or worker uses the store any
/// more (possibly on one of libworker's threads), or before this function returns if it fails.
/// Setting a cache again replaces the previous one (an env has one cache store). Any thread, one
/// at a time per env.
///
/// An env without a cache store uses the engine's in-memory default: one per engine, 64 MiB,
/// least recently used entries evicted, shared by every request, thread and deploy of the same
/// site id and separate between site ids (as caches are per zone on Cloudflare).
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, a bad `struct_size` or a NULL callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_set_cache(
    env: *mut wk_env_t,
    vtable: *const wk_cache_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        let e = handle_mut(env, "env")?;
        // SAFETY: the host passes NULL or a readable vtable of `struct_size` bytes (API contract).
        let vtable = unsafe { read_versioned(vtable, "vtable", "wk_cache_vtable_t") }?;
        require_callbacks(
            "wk_cache_vtable_t",
            &[
                (vtable.get.is_none(), "get"),
                (vtable.put.is_none(), "put"),
                (vtable.remove.is_none(), "remove"),
            ],
        )?;
        Arc::make_mut(&mut e.env).cache = Some(Arc::new(CCache { vtable, user_data }));
        Ok(())
    })
}

/// Serves the worker's `caches` from an in-memory store of the env's own, holding at most
/// `max_bytes` of entries (0: 64 MiB, the size of the engine's default), least recently used
/// evicted first. Every request run with this env shares it, whatever site id it runs under, also
/// after later changes to the env's vars; it is freed once no env or running request refers to
/// it. Use it for a cache apart from the engine's default, or with another budget. Replaces any
/// cache store set before. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `env` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_set_cache_memory(
    env: *mut wk_env_t,
    max_bytes: u64,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let e = handle_mut(env, "env")?;
        let budget = match max_bytes {
            0 => DEFAULT_CACHE_BYTES,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        Arc::make_mut(&mut e.env).cache = Some(Arc::new(MemoryCache::new(budget)));
        Ok(())
    })
}
