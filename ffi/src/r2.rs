//! R2 buckets implemented by the host (`wk_r2_vtable_t`), the embedded bucket, and `wk_body_t`:
//! object bodies streamed a chunk at a time in both directions.
//!
//! Metadata crosses as JSON text (the shapes are documented on each callback); bodies cross as
//! `wk_body_t` handles, so an object never has to be in memory whole on either side.
use std::ffi::{c_char, c_void};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value;
use worker_core::HostError;
use worker_core::body::{self, Body, BodyWriter, WriteError};
use worker_core::r2::*;
use worker_core::stores::FsR2;

use crate::completion::*;
use crate::env::{add_binding, wk_env_t};
use crate::error::*;
use crate::source::{UserData, read_versioned, require_callbacks, wk_user_data_free_cb};

// ---------------------------------------------------------------------- bodies

enum BodyState {
    /// Made by `wk_body_new`: the host writes, the worker reads what the resolve handed over.
    Writer {
        writer: Option<BodyWriter>,
        reader: Option<Body>,
    },
    /// Handed to the host by `put`/`upload_part`: the host reads what the worker writes.
    Reader {
        body: Body,
        /// The rest of a chunk larger than the host's buffer.
        pending: Vec<u8>,
        done: bool,
    },
}

/// An object body streamed a chunk at a time (opaque). Either the host writes it (one from
/// `wk_body_new`, to answer a `get`) or reads it (one a `put` or `upload_part` callback
/// received). Owned by the host, freed with `wk_body_free`; usable from any thread, one call
/// at a time.
pub struct wk_body_t {
    state: Mutex<BodyState>,
}

impl wk_body_t {
    fn lock(&self) -> MutexGuard<'_, BodyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The reading end of a host-written body, moved from the completion to the worker.
#[derive(Clone)]
pub struct BodySlot(Arc<Mutex<Option<Body>>>);

impl BodySlot {
    fn take(&self) -> Option<Body> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl PartialEq for BodySlot {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BodySlot {}

impl fmt::Debug for BodySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodySlot")
    }
}

fn reader_body(body: Body) -> *mut wk_body_t {
    Box::into_raw(Box::new(wk_body_t {
        state: Mutex::new(BodyState::Reader {
            body,
            pending: Vec::new(),
            done: false,
        }),
    }))
}

/// Creates a body for the host to write: hand it to `wk_completion_resolve_r2_body`, then
/// `wk_body_write` its bytes and `wk_body_close` it (in any order relative to the resolve, from
/// any thread), then `wk_body_free` it. `*out_body` is owned by the caller.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `out_body` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_body_new(
    out_body: *mut *mut wk_body_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_body, "out_body", std::ptr::null_mut())?;
        let (writer, reader) = body::pipe();
        *o = Box::into_raw(Box::new(wk_body_t {
            state: Mutex::new(BodyState::Writer {
                writer: Some(writer),
                reader: Some(reader),
            }),
        }));
        Ok(())
    })
}

/// Appends a copy of `data[0..len]` to a body from `wk_body_new`. The body holds a few chunks;
/// when they are unread this waits for the worker to read (backpressure) — except on one of
/// libworker's threads (inside a vtable callback), where waiting could stall the worker, so a
/// full body gives `WK_E_LIMIT` there instead: write bodies of more than a few chunks from a
/// thread of your own.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, a body that is not the host's to write,
/// or one already closed; `WK_E_REJECTED` once the worker stopped reading (the body was
/// cancelled or its request ended: stop writing and free it); `WK_E_LIMIT` as above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_body_write(
    body: *mut wk_body_t,
    data: *const u8,
    len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let b = handle(body, "body")?;
        let data = bytes(data, len, "data")?.to_vec();
        // The writer is cloned out so the lock is not held while waiting for room.
        let writer = match &*b.lock() {
            BodyState::Writer {
                writer: Some(w), ..
            } => w.clone(),
            BodyState::Writer { writer: None, .. } => {
                return Err(invalid("the body was already closed"));
            }
            BodyState::Reader { .. } => {
                return Err(invalid("this body is the worker's to write; read it"));
            }
        };
        writer.write_blocking(data).map_err(|e| match e {
            WriteError::Closed => wk_error_t::new(
                WK_E_REJECTED,
                "rejected",
                "the worker stopped reading this body",
            ),
            WriteError::WouldBlock => wk_error_t::new(
                WK_E_LIMIT,
                "limit",
                "the body is full and this is a libworker thread, which must not wait; \
                 write the body from a thread of your own",
            ),
        })
    })
}

/// Ends a body from `wk_body_new`: `error` NULL for a complete body, or the UTF-8 message
/// `error[0..error_len]` to fail it (the worker's read rejects with it). A body freed without
/// being closed fails too, so a host that gives up midway never produces a short object.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for a NULL body, one the host reads, or a second close.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_body_close(
    body: *mut wk_body_t,
    error: *const c_char,
    error_len: usize,
) -> wk_status_t {
    ffi_status(|| {
        let b = handle(body, "body")?;
        let error = if error.is_null() {
            None
        } else {
            let m = bytes(error.cast(), error_len, "error")?;
            Some(String::from_utf8_lossy(m).into_owned())
        };
        let writer = match &mut *b.lock() {
            BodyState::Writer { writer, .. } => writer
                .take()
                .ok_or_else(|| invalid("the body was already closed"))?,
            BodyState::Reader { .. } => {
                return Err(invalid("this body is the worker's to write; read it"));
            }
        };
        writer.end_blocking(error);
        Ok(())
    })
}

/// Reads the next bytes of a body a `put` or `upload_part` callback received into
/// `buf[0..cap]`; `*out_len` is how many (0 only at the end). Waits until the worker has
/// written more — except on one of libworker's threads (inside the callback itself), where it
/// only takes what is already there and gives `WK_E_LIMIT` when it would have to wait. A body
/// whose bytes were all in hand (any value but a stream) can thus be read inside the callback;
/// read streamed bodies from a thread of your own.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, `cap` 0, or a body from `wk_body_new`;
/// `WK_E_REJECTED` when the body failed (the worker's stream errored or was abandoned, or its
/// bytes do not match a checksum the worker gave): do not store it, and reject the completion
/// with the message; `WK_E_LIMIT` as above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_body_read(
    body: *mut wk_body_t,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let n = out(out_len, "out_len", 0)?;
        let b = handle(body, "body")?;
        if buf.is_null() || cap == 0 {
            return Err(invalid("buf is NULL or cap is 0"));
        }
        let mut state = b.lock();
        let BodyState::Reader {
            body,
            pending,
            done,
        } = &mut *state
        else {
            return Err(invalid("this body is the host's to write; write it"));
        };
        while pending.is_empty() && !*done {
            match body::next_chunk_blocking(body) {
                Ok(Some(c)) => *pending = c,
                Ok(None) => *done = true,
                Err(Some(e)) => {
                    *done = true;
                    return Err(wk_error_t::new(WK_E_REJECTED, "rejected", e.message));
                }
                Err(None) => {
                    return Err(wk_error_t::new(
                        WK_E_LIMIT,
                        "limit",
                        "the body has no bytes yet and this is a libworker thread, which must \
                         not wait; read the body from a thread of your own",
                    ));
                }
            }
        }
        let k = pending.len().min(cap);
        // SAFETY: `buf` is valid for writes of `cap` bytes (API contract) and k <= cap.
        unsafe { std::ptr::copy_nonoverlapping(pending.as_ptr(), buf, k) };
        pending.drain(..k);
        *n = k;
        Ok(())
    })
}

/// Frees a body. A body the host was writing and did not close fails for the worker; a body
/// the host was reading is cancelled for the worker's stream. NULL is a no-op. Any thread, once,
/// and not while another call on the body is running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_body_free(body: *mut wk_body_t) {
    ffi_value((), || {
        if !body.is_null() {
            // SAFETY: a non-NULL body came from `wk_body_new` or a callback and is freed once.
            drop(unsafe { Box::from_raw(body) });
        }
    })
}

/// Resolves an R2 `get` with the object's JSON (as for `head`, plus optionally
/// `"range": {"offset": n, "length": n}` for the bytes served; absent means the whole object)
/// and the body streaming those bytes, from `wk_body_new`. The completion takes the body's
/// reading end; the host keeps writing through `body` and frees it when done. Same rules as
/// `wk_completion_resolve`.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled, `json` is NULL or not
/// UTF-8, or `body` is NULL, not from `wk_body_new`, or already handed over.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_resolve_r2_body(
    c: *mut wk_completion_t,
    json: *const c_char,
    json_len: usize,
    body: *mut wk_body_t,
) -> wk_status_t {
    ffi_status(|| {
        if c.is_null() {
            return Err(invalid("completion is NULL"));
        }
        let json = text(json, json_len, "json")?.as_bytes().to_vec();
        let b = handle(body, "body")?;
        let reader = match &mut *b.lock() {
            BodyState::Writer { reader, .. } => reader
                .take()
                .ok_or_else(|| invalid("the body was already handed over"))?,
            BodyState::Reader { .. } => return Err(invalid("the body is not from wk_body_new")),
        };
        let slot = BodySlot(Arc::new(Mutex::new(Some(reader))));
        if completion_settle(c, Ok(Completed::R2Body(json, slot.clone()))) {
            Ok(())
        } else {
            // Give the reading end back so the host may try again with a live completion.
            if let BodyState::Writer { reader, .. } = &mut *b.lock() {
                *reader = slot.take();
            }
            Err(invalid(
                "completion was already resolved, rejected or freed (or is not a completion)",
            ))
        }
    })
}

// ---------------------------------------------------------------------- helpers for hosts

/// Evaluates an R2 conditional against the object a store holds, with R2's (HTTP's) precedence
/// rules: `*out_holds` is 1 if the operation should go ahead, 0 if not. `options_json` is the
/// options JSON a `get` or `put` callback received (its `onlyIf` member is used; none holds
/// always) or a conditional object itself. `etag` (unquoted, UTF-8) and `uploaded_ms`
/// (milliseconds since the UNIX epoch) describe the current object; `etag` NULL means the key
/// has none. Evaluate it in the same transaction as the read or write it guards. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, invalid UTF-8 or JSON that is not an
/// object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_r2_conditional_holds(
    options_json: *const c_char,
    options_len: usize,
    etag: *const c_char,
    etag_len: usize,
    uploaded_ms: f64,
    out_holds: *mut i32,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let o = out(out_holds, "out_holds", 0)?;
        let v = json_object(options_json, options_len, "options_json")?;
        let etag = if etag.is_null() {
            None
        } else {
            Some(text(etag, etag_len, "etag")?)
        };
        let holds = match v.get("onlyIf") {
            Some(c) if c.is_object() => {
                R2Conditional::from_json(c).holds(etag.map(|e| (e, uploaded_ms)))
            }
            Some(_) => true,
            None => R2Conditional::from_json(&v).holds(etag.map(|e| (e, uploaded_ms))),
        };
        *o = holds as i32;
        Ok(())
    })
}

/// Resolves the range a `get` asked for against an object of `size` bytes:
/// `*out_offset`/`*out_length` are the bytes to serve (lengths past the end are cut, a suffix
/// longer than the object is all of it, no range is the whole object). `options_json` is the
/// options JSON the `get` callback received (its `range` member is used) or a range object
/// itself. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or JSON that is not an object;
/// `WK_E_REJECTED` when the range starts past the end, with Cloudflare's message (reject the
/// `get` with it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_r2_resolve_range(
    options_json: *const c_char,
    options_len: usize,
    size: u64,
    out_offset: *mut u64,
    out_length: *mut u64,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let oo = out(out_offset, "out_offset", 0)?;
        let ol = out(out_length, "out_length", 0)?;
        let v = json_object(options_json, options_len, "options_json")?;
        let range = match v.get("range") {
            Some(r) if r.is_object() => r,
            Some(_) => &Value::Object(Default::default()),
            None if v.get("onlyIf").is_some() => &Value::Object(Default::default()),
            None => &v,
        };
        let r = R2RangeRequest::from_json(range)
            .resolve(size)
            .map_err(|e| wk_error_t::new(WK_E_REJECTED, "rejected", e.message))?;
        *oo = r.offset;
        *ol = r.length;
        Ok(())
    })
}

fn json_object(p: *const c_char, len: usize, what: &str) -> Fallible<Value> {
    let t = text(p, len, what)?;
    let v: Value =
        serde_json::from_str(t).map_err(|e| invalid(format!("{what} is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(invalid(format!("{what} must be a JSON object")));
    }
    Ok(v)
}

// ---------------------------------------------------------------------- the vtable

/// `head`: the object under `key` (UTF-8, NUL-terminated; `key_len` excludes the NUL). Resolve
/// with its JSON, `{"key":"k","version":"v1","size":5,"etag":"<md5 hex>","uploaded":<ms since
/// the epoch>,"httpMetadata":{"contentType":"...","cacheExpiry":<ms>},"customMetadata":{"k":
/// "v"},"checksums":{"md5":"<hex>"},"storageClass":"Standard"}` (key, size and etag are
/// required; version defaults to the etag, uploaded to 0, storageClass to Standard), or with
/// `wk_completion_resolve_null` when there is none. Reject on failure: the worker's promise
/// rejects with `"head: <your message>"`.
///
/// Every R2 callback is called on a libworker executor thread, which other workers share: it
/// must not block. Settle the completion inline when the answer is at hand, or later from any
/// thread. Strings are borrowed for the call only.
pub type wk_r2_head_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `get`: `options` is JSON `{"onlyIf": {...}, "range": {...}}` (both optional). `onlyIf` is
/// `{"etagMatches": ["<etag>" | "W/<etag>" | "*", ...], "etagDoesNotMatch": [...],
/// "uploadedBefore": <ms>, "uploadedAfter": <ms>, "secondsGranularity": bool}` (all optional;
/// evaluate it with `wk_r2_conditional_holds`); `range` is `{"offset": n, "length": n}` or
/// `{"suffix": n}` (resolve it with `wk_r2_resolve_range`). Resolve with
/// `wk_completion_resolve_null` when the key is missing; with the object's JSON via
/// `wk_completion_resolve` when `onlyIf` does not hold (the worker gets the object without a
/// body); otherwise with `wk_completion_resolve_r2_body` and a body carrying the range's bytes.
pub type wk_r2_get_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        options: *const c_char,
        options_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `put`: store the bytes read from `body` under `key`. `options` is JSON `{"onlyIf": {...}
/// (optional, as for get), "httpMetadata": {...}, "customMetadata": {...}, "checksums":
/// {"sha256": "<hex>"} (already verified by libworker: a mismatch makes wk_body_read fail),
/// "storageClass": "Standard", "size": n}`. Read the body to its end with `wk_body_read`
/// (inline only for values the worker had in hand; from your own thread otherwise), then,
/// atomically with evaluating `onlyIf` against the current object, store it and resolve with
/// the new object's JSON (the etag is the bytes' MD5 hex), or resolve with
/// `wk_completion_resolve_null` if `onlyIf` does not hold. If the body fails, store nothing and
/// reject. `body` is the host's: free it with `wk_body_free` when done with it.
pub type wk_r2_put_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        options: *const c_char,
        options_len: usize,
        body: *mut wk_body_t,
        completion: *mut wk_completion_t,
    ),
>;

/// `remove` (the worker's `delete`): delete the keys of the JSON array of strings `keys`
/// (1..1000 of them; missing keys are fine). Resolve with `wk_completion_resolve(c, NULL, 0)`.
pub type wk_r2_remove_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        keys: *const c_char,
        keys_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `list`: `options` is JSON `{"limit": 1..1000, "prefix": "", "cursor": "..."|null,
/// "delimiter": "..."|null, "startAfter": "..."|null, "include": ["httpMetadata",
/// "customMetadata"]}`. Resolve with JSON `{"objects": [<object>...], "delimitedPrefixes":
/// [...], "truncated": bool, "cursor": "..."}`: keys in UTF-8 byte order, a key whose rest after
/// the prefix contains the delimiter rolled up into its prefix (up to and including the
/// delimiter), at most `limit` objects plus prefixes, and a cursor (any string the callback
/// understands later) while truncated.
pub type wk_r2_list_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        options: *const c_char,
        options_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `create_multipart_upload`: start an upload for `key`; `options` is JSON `{"httpMetadata",
/// "customMetadata", "storageClass"}` for the completed object. Resolve with the upload id
/// (UTF-8 bytes via `wk_completion_resolve`).
pub type wk_r2_create_multipart_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        options: *const c_char,
        options_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `upload_part`: store part `part_number` (1..10000, replacing an earlier one) of `size`
/// bytes read from `body` (as for put). Resolve with the part's etag (UTF-8 bytes), or reject
/// with "The specified multipart upload does not exist. (10024)" for an unknown upload id.
pub type wk_r2_upload_part_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        upload_id: *const c_char,
        upload_id_len: usize,
        part_number: u32,
        size: u64,
        body: *mut wk_body_t,
        completion: *mut wk_completion_t,
    ),
>;

/// `complete_multipart_upload`: join the parts of the JSON array `parts`
/// (`[{"partNumber": 1, "etag": "..."}, ...]`) into the object `key`, with R2's rules and error
/// texts (see `R2Store::complete_multipart_upload` in worker-core). Resolve with the object's
/// JSON.
pub type wk_r2_complete_multipart_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        upload_id: *const c_char,
        upload_id_len: usize,
        parts: *const c_char,
        parts_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// `abort_multipart_upload`: discard the upload and its parts (an unknown one is fine).
/// Resolve with `wk_completion_resolve(c, NULL, 0)`.
pub type wk_r2_abort_multipart_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        upload_id: *const c_char,
        upload_id_len: usize,
        completion: *mut wk_completion_t,
    ),
>;

/// An R2 bucket the host implements. Set `struct_size = sizeof(wk_r2_vtable_t)`; later ABI
/// versions only add fields at the end. `head`, `get`, `put`, `remove` and `list` are required;
/// the four multipart callbacks are optional together (all NULL: the worker's multipart calls
/// fail with "Multipart uploads are not supported by this bucket."). The runtime validates keys,
/// options and limits with Cloudflare's rules and error texts before calling.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wk_r2_vtable_t {
    pub struct_size: u32,
    pub head: wk_r2_head_cb,
    pub get: wk_r2_get_cb,
    pub put: wk_r2_put_cb,
    pub remove: wk_r2_remove_cb,
    pub list: wk_r2_list_cb,
    pub create_multipart_upload: wk_r2_create_multipart_cb,
    pub upload_part: wk_r2_upload_part_cb,
    pub complete_multipart_upload: wk_r2_complete_multipart_cb,
    pub abort_multipart_upload: wk_r2_abort_multipart_cb,
}

/// An `R2Store` over the host's vtable.
struct CR2 {
    vtable: wk_r2_vtable_t,
    user_data: UserData,
}

/// `s` followed by a NUL, so hosts may treat it as a C string.
fn c_string(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

fn ptr_len(s: &[u8]) -> (*const c_char, usize) {
    (s.as_ptr().cast(), s.len() - 1)
}

fn parse(json: &[u8], what: &str) -> Result<Value, HostError> {
    serde_json::from_slice(json)
        .map_err(|e| HostError::new(format!("the host's R2 {what} result is not JSON: {e}")))
}

fn object_json(got: Completed, what: &str) -> Result<R2Object, HostError> {
    match got {
        Completed::Bytes(json) => R2Object::from_json(&parse(&json, what)?),
        _ => Err(HostError::new(format!(
            "the host's R2 {what} must resolve with the object's JSON"
        ))),
    }
}

fn utf8(got: Completed, what: &str) -> Result<String, HostError> {
    match got {
        Completed::Bytes(b) => String::from_utf8(b)
            .map_err(|_| HostError::new(format!("the host's R2 {what} result is not UTF-8"))),
        _ => Err(HostError::new(format!(
            "the host's R2 {what} must resolve with text"
        ))),
    }
}

fn nothing(got: Completed, what: &str) -> Result<(), HostError> {
    match got {
        Completed::Null => Ok(()),
        Completed::Bytes(b) if b.is_empty() => Ok(()),
        _ => Err(HostError::new(format!(
            "the host's R2 {what} resolved with a value; it must resolve with none"
        ))),
    }
}

async fn outcome(rx: CompletionReceiver) -> Result<Completed, HostError> {
    rx.await.map_err(HostError::from)
}

impl CR2 {
    fn multipart(&self) -> bool {
        self.vtable.create_multipart_upload.is_some()
    }
}

#[async_trait]
impl R2Store for CR2 {
    async fn head(&self, key: &str) -> Result<Option<R2Object>, HostError> {
        let rx = {
            let key = c_string(key);
            let (c, rx) = completion_pair();
            let f = self.vtable.head.expect("validated");
            let (kp, kl) = ptr_len(&key);
            // SAFETY: the host's callback with its own user_data; the key is valid for the call.
            unsafe { f(self.user_data.ptr, kp, kl, c) };
            rx
        };
        match outcome(rx).await? {
            Completed::Null => Ok(None),
            got => object_json(got, "head").map(Some),
        }
    }

    async fn get(&self, key: &str, options: R2GetOptions) -> Result<R2GetResult, HostError> {
        let rx = {
            let key = c_string(key);
            let opts = c_string(&options.to_json().to_string());
            let (c, rx) = completion_pair();
            let f = self.vtable.get.expect("validated");
            let ((kp, kl), (op, ol)) = (ptr_len(&key), ptr_len(&opts));
            // SAFETY: the host's callback with its own user_data; the strings are valid for the
            // call.
            unsafe { f(self.user_data.ptr, kp, kl, op, ol, c) };
            rx
        };
        match outcome(rx).await? {
            Completed::Null => Ok(R2GetResult::NotFound),
            Completed::R2Body(json, slot) => {
                let v = parse(&json, "get")?;
                let object = R2Object::from_json(&v)?;
                let range = match v.get("range") {
                    Some(r) => R2Range {
                        offset: r.get("offset").and_then(Value::as_u64).unwrap_or(0),
                        length: r
                            .get("length")
                            .and_then(Value::as_u64)
                            .unwrap_or(object.size),
                    },
                    None => R2Range {
                        offset: 0,
                        length: object.size,
                    },
                };
                let body = slot
                    .take()
                    .ok_or_else(|| HostError::new("the host's R2 get body was already taken"))?;
                Ok(R2GetResult::Found {
                    object,
                    range,
                    body,
                })
            }
            got => object_json(got, "get").map(R2GetResult::PreconditionFailed),
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Body,
        options: R2PutOptions,
    ) -> Result<Option<R2Object>, HostError> {
        let body = verifying(body, &options.checksums);
        let rx = {
            let key = c_string(key);
            let opts = c_string(&options.to_json().to_string());
            let (c, rx) = completion_pair();
            let f = self.vtable.put.expect("validated");
            let ((kp, kl), (op, ol)) = (ptr_len(&key), ptr_len(&opts));
            // SAFETY: the host's callback with its own user_data; the strings are valid for the
            // call and the body handle is the host's to free.
            unsafe { f(self.user_data.ptr, kp, kl, op, ol, reader_body(body), c) };
            rx
        };
        match outcome(rx).await? {
            Completed::Null => Ok(None),
            got => object_json(got, "put").map(Some),
        }
    }

    async fn delete(&self, keys: &[String]) -> Result<(), HostError> {
        let rx = {
            let keys = c_string(&serde_json::json!(keys).to_string());
            let (c, rx) = completion_pair();
            let f = self.vtable.remove.expect("validated");
            let (kp, kl) = ptr_len(&keys);
            // SAFETY: the host's callback with its own user_data; the JSON is valid for the call.
            unsafe { f(self.user_data.ptr, kp, kl, c) };
            rx
        };
        nothing(outcome(rx).await?, "delete")
    }

    async fn list(&self, options: R2ListOptions) -> Result<R2Objects, HostError> {
        let rx = {
            let opts = c_string(&options.to_json().to_string());
            let (c, rx) = completion_pair();
            let f = self.vtable.list.expect("validated");
            let (op, ol) = ptr_len(&opts);
            // SAFETY: the host's callback with its own user_data; the JSON is valid for the call.
            unsafe { f(self.user_data.ptr, op, ol, c) };
            rx
        };
        match outcome(rx).await? {
            Completed::Bytes(json) => R2Objects::from_json(&parse(&json, "list")?),
            _ => Err(HostError::new("the host's R2 list must resolve with JSON")),
        }
    }

    async fn create_multipart_upload(
        &self,
        key: &str,
        options: R2MultipartOptions,
    ) -> Result<String, HostError> {
        let Some(f) = self
            .vtable
            .create_multipart_upload
            .filter(|_| self.multipart())
        else {
            return Err(HostError::new(
                "Multipart uploads are not supported by this bucket.",
            ));
        };
        let rx = {
            let key = c_string(key);
            let opts = c_string(&options.to_json().to_string());
            let (c, rx) = completion_pair();
            let ((kp, kl), (op, ol)) = (ptr_len(&key), ptr_len(&opts));
            // SAFETY: the host's callback with its own user_data; the strings are valid for the
            // call.
            unsafe { f(self.user_data.ptr, kp, kl, op, ol, c) };
            rx
        };
        utf8(outcome(rx).await?, "createMultipartUpload")
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Body,
        size: u64,
    ) -> Result<R2UploadedPart, HostError> {
        let Some(f) = self.vtable.upload_part else {
            return Err(errors::no_such_upload());
        };
        let rx = {
            let key = c_string(key);
            let id = c_string(upload_id);
            let (c, rx) = completion_pair();
            let ((kp, kl), (ip, il)) = (ptr_len(&key), ptr_len(&id));
            // SAFETY: the host's callback with its own user_data; the strings are valid for the
            // call and the body handle is the host's to free.
            unsafe {
                f(
                    self.user_data.ptr,
                    kp,
                    kl,
                    ip,
                    il,
                    part_number,
                    size,
                    reader_body(body),
                    c,
                )
            };
            rx
        };
        let etag = utf8(outcome(rx).await?, "uploadPart")?;
        Ok(R2UploadedPart { part_number, etag })
    }

    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<R2UploadedPart>,
    ) -> Result<R2Object, HostError> {
        let Some(f) = self.vtable.complete_multipart_upload else {
            return Err(errors::no_such_upload());
        };
        let rx = {
            let key = c_string(key);
            let id = c_string(upload_id);
            let parts = c_string(&R2UploadedPart::list_to_json(&parts).to_string());
            let (c, rx) = completion_pair();
            let ((kp, kl), (ip, il), (pp, pl)) = (ptr_len(&key), ptr_len(&id), ptr_len(&parts));
            // SAFETY: the host's callback with its own user_data; the strings are valid for the
            // call.
            unsafe { f(self.user_data.ptr, kp, kl, ip, il, pp, pl, c) };
            rx
        };
        object_json(outcome(rx).await?, "completeMultipartUpload")
    }

    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), HostError> {
        let Some(f) = self.vtable.abort_multipart_upload else {
            return Ok(());
        };
        let rx = {
            let key = c_string(key);
            let id = c_string(upload_id);
            let (c, rx) = completion_pair();
            let ((kp, kl), (ip, il)) = (ptr_len(&key), ptr_len(&id));
            // SAFETY: the host's callback with its own user_data; the strings are valid for the
            // call.
            unsafe { f(self.user_data.ptr, kp, kl, ip, il, c) };
            rx
        };
        nothing(outcome(rx).await?, "abortMultipartUpload")
    }
}

fn add_r2(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    store: Arc<dyn R2Store>,
) -> Fallible<()> {
    add_binding(env, name, name_len, |e, name| {
        e.r2.insert(name, store);
    })
}

/// Binds the R2 bucket `name` (UTF-8 `name[0..name_len]`; `env.NAME` in the worker) to the
/// host's store. The vtable is copied. `user_data` is passed to every callback, from
/// libworker's executor threads, so it must be usable from any thread; `user_data_free` (may be
/// NULL) is called exactly once when no env or worker uses the store any more (possibly on one
/// of libworker's threads), or before this function returns if it fails. Adding a name again
/// replaces the binding. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments, an empty or invalid UTF-8 name, a bad
/// `struct_size`, a NULL required callback, or multipart callbacks that are only partly set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_r2(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    vtable: *const wk_r2_vtable_t,
    user_data: *mut c_void,
    user_data_free: wk_user_data_free_cb,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    let user_data = UserData::new(user_data, user_data_free);
    ffi_call(err, move || {
        // SAFETY: the host passes NULL or a readable vtable of `struct_size` bytes (API contract).
        let vtable = unsafe { read_versioned(vtable, "vtable", "wk_r2_vtable_t") }?;
        require_callbacks(
            "wk_r2_vtable_t",
            &[
                (vtable.head.is_none(), "head"),
                (vtable.get.is_none(), "get"),
                (vtable.put.is_none(), "put"),
                (vtable.remove.is_none(), "remove"),
                (vtable.list.is_none(), "list"),
            ],
        )?;
        let multipart = [
            vtable.create_multipart_upload.is_some(),
            vtable.upload_part.is_some(),
            vtable.complete_multipart_upload.is_some(),
            vtable.abort_multipart_upload.is_some(),
        ];
        if multipart.iter().any(|&m| m) && !multipart.iter().all(|&m| m) {
            return Err(invalid(
                "wk_r2_vtable_t: set all four multipart callbacks or none",
            ));
        }
        add_r2(env, name, name_len, Arc::new(CR2 { vtable, user_data }))
    })
}

/// Binds the R2 bucket `name` to libworker's embedded store: objects as files plus a SQLite
/// index under the directory `dir` (UTF-8 `dir[0..dir_len]`, created if missing), surviving
/// restarts. Any thread, one at a time per env.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or invalid UTF-8; `WK_E_INTERNAL` if the
/// directory or its index cannot be opened or created (the message names it and why).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_env_add_r2_default(
    env: *mut wk_env_t,
    name: *const c_char,
    name_len: usize,
    dir: *const c_char,
    dir_len: usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let dir = text(dir, dir_len, "dir")?;
        let store = FsR2::open(dir).map_err(|e| wk_error_t::new(WK_E_INTERNAL, "internal", e))?;
        add_r2(env, name, name_len, Arc::new(store))
    })
}
