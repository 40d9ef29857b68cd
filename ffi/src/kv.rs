//! KV namespaces implemented by the host (`wk_kv_vtable_t`), and the embedded SQLite store.
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use worker_core::HostError;
use worker_core::kv::{KvEntry, KvKey, KvList, KvListOptions, KvPutOptions, KvStore};
use worker_core::stores::SqliteKv;

use crate::completion::*;
use crate::env::{add_binding, wk_env_t};
use crate::error::*;
use crate::source::{UserData, read_versioned, require_callbacks, wk_user_data_free_cb};

/// `get`: look up `key` (UTF-8, NUL-terminated; `key_len` excludes the NUL) and settle
/// `completion` with `wk_completion_resolve_kv` (or `wk_completion_resolve` for a value without
/// metadata), `wk_completion_resolve_null` when the key is missing or expired, or
/// `wk_completion_reject` on failure (the worker's promise rejects with that message).
///
/// Every KV callback is called on a libworker executor thread, which other workers share: it
/// must not block. Settle the completion inline when the answer is at hand, or later from any
/// thread. Strings are borrowed for the call only.
pub type wk_kv_get_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `put`: store `value[0..value_len]` under `key`, replacing the value, its metadata and its
/// expiry. `metadata` is JSON text (NULL: none); `expiration` is absolute, in seconds since the
/// UNIX epoch (0: never). Copy what you keep: the buffers are borrowed for the call. Settle with
/// `wk_completion_resolve(c, NULL, 0)` once stored, or reject.
pub type wk_kv_put_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        value: *const u8,
        value_len: usize,
        metadata: *const c_char,
        metadata_len: usize,
        expiration: u64,
        completion: *mut wk_completion_t,
    ),
>;

/// `remove` (the worker's `delete`; `delete` is a C++ keyword): remove `key` (missing keys are
/// fine). Settle with `wk_completion_resolve(c, NULL,
/// 0)`, or reject.
pub type wk_kv_delete_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `list`: up to `limit` (1..1000) live keys starting with `prefix` (may be empty), in UTF-8
/// byte order, after the position `cursor` (NULL: from the start; otherwise a cursor this
/// callback returned before). Resolve with JSON text in Cloudflare's shape:
/// `{"keys":[{"name":"k","expiration":1700000000,"metadata":{...}}],"list_complete":false,
/// "cursor":"..."}`, where `expiration`, `metadata` and (with `list_complete` true) `cursor` may
/// be left out.
pub type wk_kv_list_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        prefix: *const c_char,
        prefix_len: usize,
        limit: u32,
        cursor: *const c_char,
        cursor_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// A KV namespace the host implements. Set `struct_size = sizeof(wk_kv_vtable_t)`; later ABI
/// versions only add fields at the end. Every callback is required. The runtime validates keys,
/// values, metadata and expiry with Cloudflare's rules and error texts before calling, so a
/// store only keeps bytes. Expired keys must be invisible to `get` and `list`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_kv_vtable_t {
    pub struct_size: u32,
    pub get: wk_kv_get_cb,
    pub put: wk_kv_put_cb,
    pub remove: wk_kv_delete_cb,
    pub list: wk_kv_list_cb,
}

/// A `KvStore` over the host's vtable.
struct CKv {
    vtable: wk_kv_vtable_t,
    user_data: UserData,
}

/// `s` followed by a NUL, so hosts may treat it as a C string.
fn c_string(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

async fn outcome(rx: CompletionReceiver) -> Result<Completed, HostError> {
    rx.await.map_err(HostError::from)
}

fn no_value(what: &str, got: Completed) -> Result<(), HostError> {
    match got {
        Completed::Null => Ok(()),
        Completed::Bytes(b) if b.is_empty() => Ok(()),
        _ => Err(HostError::new(format!(
            "the host's KV {what} resolved with a value; it must resolve with none"
        ))),
    }
}

#[async_trait]
impl KvStore for CKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, HostError> {
        let key = c_string(key);
        let (c, rx) = completion_pair();
        let get = self.vtable.get.expect("validated");
        // SAFETY: the host's callback with its own user_data; the key is valid for the call.
        unsafe { get(self.user_data.ptr, key.as_ptr().cast(), key.len() - 1, c) };
        Ok(match outcome(rx).await? {
            Completed::Null => None,
            Completed::Bytes(value) => Some(KvEntry {
                value,
                ..KvEntry::default()
            }),
            Completed::Kv(entry) => Some(entry),
            _ => {
                return Err(HostError::new(
                    "the host's KV get must resolve with a value, wk_completion_resolve_kv or null",
                ));
            }
        })
    }

    async fn put(&self, key: &str, value: Vec<u8>, options: KvPutOptions) -> Result<(), HostError> {
        let key = c_string(key);
        let metadata = options.metadata.as_deref().map(c_string);
        let (mp, ml) = metadata
            .as_ref()
            .map_or((std::ptr::null(), 0), |m| (m.as_ptr().cast(), m.len() - 1));
        let (c, rx) = completion_pair();
        let put = self.vtable.put.expect("validated");
        // SAFETY: the host's callback with its own user_data; every buffer is valid for the call.
        unsafe {
            put(
                self.user_data.ptr,
                key.as_ptr().cast(),
                key.len() - 1,
                value.as_ptr(),
                value.len(),
                mp,
                ml,
                options.expiration.unwrap_or(0),
                c,
            )
        };
        no_value("put", outcome(rx).await?)
    }

    async fn delete(&self, key: &str) -> Result<(), HostError> {
        let key = c_string(key);
        let (c, rx) = completion_pair();
        let remove = self.vtable.remove.expect("validated");
        // SAFETY: the host's callback with its own user_data; the key is valid for the call.
        unsafe { remove(self.user_data.ptr, key.as_ptr().cast(), key.len() - 1, c) };
        no_value("delete", outcome(rx).await?)
    }

    async fn list(&self, options: KvListOptions) -> Result<KvList, HostError> {
        let prefix = c_string(&options.prefix);
        let cursor = options.cursor.as_deref().map(c_string);
        let (cp, cl) = cursor
            .as_ref()
            .map_or((std::ptr::null(), 0), |c| (c.as_ptr().cast(), c.len() - 1));
        let (c, rx) = completion_pair();
        let list = self.vtable.list.expect("validated");
        // SAFETY: the host's callback with its own user_data; every buffer is valid for the call.
        unsafe {
            list(
                self.user_data.ptr,
                prefix.as_ptr().cast(),
                prefix.len() - 1,
                options.limit as u32,
                cp,
                cl,
                c,
            )
        };
        match outcome(rx).await? {
            Completed::Bytes(json) => parse_list(&json).map_err(|e| {
                HostError::new(format!("the host's KV list result is not valid: {e}"))
            }),
            _ => Err(HostError::new(
                "the host's KV list must resolve with JSON text",
            )),
        }
    }
}

fn parse_list(json: &[u8]) -> Result<KvList, String> {
    let v: Value = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("`keys` must be an array")?;
    let keys = keys
        .iter()
        .map(|k| {
            let name = k
                .get("name")
                .and_then(Value::as_str)
                .ok_or("every key needs a string `name`")?;
            Ok(KvKey {
                name: name.to_string(),
                expiration: k.get("expiration").and_then(Value::as_u64),
                metadata: k
                    .get("metadata")
                    .filter(|m| !m.is_null())
                    .map(Value::to_string),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(KvList {
        keys,
        list_complete: v
            .get("list_complete")
            .and_then(Value::as_bool)
            .ok_or("`list_complete` must be a boolean")?,
        cursor: v.get("cursor").and_then(Value::as_str).map(str::to_string),
    })
}

fn add_kv(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    store: Arc<dyn KvStore>,
) -> Fallible<()> {
    add_binding(env, name, name_len, |e, name| {
        e.kv.insert(name, store);
    })
}

/// Binds the KV namespace `name` (UTF-8 `name[0..name_len]`; `env.NAME` in the worker) to the
/// host's store. The vtable is copied. `user_data` is passed to every callback, from libworker's
/// executor threads, so it must be usable from any thread; `user_data_free` (may be NULL) is
/// called exactly once when no env or worker uses the store any more (possibly on one of
/// libworker's threads), or before this function returns if it fails. Adding a name again
/// replaces the binding. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, an empty or invalid UTF-8 name, a bad
/// `struct_size` or a NULL callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_kv(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    vtable: *const wk_kv_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        // SAFETY: the host passes NULL or a readable vtable of `struct_size` bytes (API contract).
        let vtable = unsafe { read_versioned(vtable, "vtable", "wk_kv_vtable_t") }?;
        require_callbacks(
            "wk_kv_vtable_t",
            &[
                (vtable.get.is_none(), "get"),
                (vtable.put.is_none(), "put"),
                (vtable.remove.is_none(), "remove"),
                (vtable.list.is_none(), "list"),
            ],
        )?;
        add_kv(env, name, name_len, Arc::new(CKv { vtable, user_data }))
    })
}

/// Binds the KV namespace `name` to libworker's embedded store: a SQLite file at `path` (UTF-8
/// `path[0..path_len]`, created with its directory if missing), whose data survives restarts.
/// Several envs and engines may open the same file. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or invalid UTF-8; `WK_E_INTERNAL` if the
/// file cannot be opened or created (the message names it and why).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_kv_default(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    path: *const c_char,
    path_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let path = text(path, path_len, "path")?;
        let store =
            SqliteKv::open(path).map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))?;
        add_kv(env, name, name_len, Arc::new(store))
    })
}
