//! One-shot completions: how a host answers a call libworker made into one of its vtables.
//!
//! A `wk_completion_t *` is a handle value, never memory: libworker keeps the sending half of a
//! oneshot channel in a registry keyed by the handle, and removes it on the first
//! resolve/reject/free. A second call therefore finds nothing and returns
//! `WK_E_INVALID_ARGUMENT` instead of touching freed memory. Handles are drawn from a range far
//! below any Go heap arena and above the first page, so garbage-collected hosts that keep them in
//! pointer-typed variables never mistake them for their own pointers.
use std::collections::HashMap;
use std::ffi::c_char;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::sync::oneshot;
use worker_core::assets::AssetResponse;
use worker_core::cache::CachedResponse;
use worker_core::kv::KvEntry;

use crate::error::*;

/// What a host resolved a completion with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completed {
    /// `wk_completion_resolve`: bytes.
    Bytes(Vec<u8>),
    /// `wk_completion_resolve_null`: no value (a missing key, say).
    Null,
    /// `wk_completion_resolve_kv`: a KV value with its metadata and expiry.
    Kv(KvEntry),
    /// `wk_completion_resolve_asset`: an asset server's response.
    Asset(AssetResponse),
    /// `wk_completion_resolve_cache`: a Cache API entry.
    Cache(CachedResponse),
    /// `wk_completion_resolve_r2_body`: an R2 object's JSON with a body to stream.
    R2Body(Vec<u8>, crate::r2::BodySlot),
}

/// What a completion carries: the resolved value, or the rejection message.
pub type CompletionResult = Result<Completed, String>;

/// The message a receiver sees when its completion was released without being resolved.
pub const COMPLETION_DROPPED: &str = "completion dropped";

/// A one-shot completion handle (opaque, not dereferenceable). The host settles it exactly once
/// with `wk_completion_resolve`, `wk_completion_reject` or `wk_completion_free`, from any
/// thread, before or after the call that handed it over has returned.
pub struct wk_completion_t {
    _opaque: [u8; 0],
}

const FIRST_HANDLE: usize = 0x1_0000;
const HANDLE_STEP: usize = 16;
/// Handles stay below 256 GiB (Go's heap arenas start at 768 GiB on 64-bit Linux).
const HANDLE_SPAN: usize = 1 << 38;

static NEXT: AtomicUsize = AtomicUsize::new(0);
static PENDING: LazyLock<Mutex<HashMap<usize, oneshot::Sender<CompletionResult>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn pending() -> MutexGuard<'static, HashMap<usize, oneshot::Sender<CompletionResult>>> {
    // A poisoned registry only means a panic happened elsewhere while it was held; the map itself
    // is always consistent (single insert/remove calls).
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// The receiving half of a completion, held by the Rust side that waits for the host.
/// `.await` it, or call [`CompletionReceiver::wait`] from a thread outside any async runtime.
pub struct CompletionReceiver {
    rx: oneshot::Receiver<CompletionResult>,
}

impl CompletionReceiver {
    /// Blocks until the host settles the completion. Must not be called from inside an async
    /// runtime (tokio forbids blocking there).
    pub fn wait(self) -> CompletionResult {
        self.rx
            .blocking_recv()
            .unwrap_or_else(|_| Err(COMPLETION_DROPPED.to_string()))
    }

    /// The result if the host already settled the completion, without waiting.
    pub fn try_take(&mut self) -> Option<CompletionResult> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(COMPLETION_DROPPED.to_string())),
        }
    }
}

impl Future for CompletionReceiver {
    type Output = CompletionResult;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CompletionResult> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(COMPLETION_DROPPED.to_string())))
    }
}

/// Creates a completion: the handle to give to a host callback, and the receiver to wait on.
/// The handle is settled at most once; if the host calls `wk_completion_free` on it, or the Rust
/// side calls [`completion_drop`], the receiver sees `Err("completion dropped")`.
pub fn completion_pair() -> (*mut wk_completion_t, CompletionReceiver) {
    let (tx, rx) = oneshot::channel();
    let mut map = pending();
    let id = loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = FIRST_HANDLE + (n.wrapping_mul(HANDLE_STEP) % HANDLE_SPAN);
        // After a wrap-around, skip any handle that is still outstanding.
        if !map.contains_key(&id) {
            break id;
        }
    };
    map.insert(id, tx);
    (
        std::ptr::without_provenance_mut(id),
        CompletionReceiver { rx },
    )
}

/// Settles `c` (resolve with `Ok`, reject with `Err`). Returns false if `c` is not an outstanding
/// completion (already settled, freed, or never issued).
pub fn completion_settle(c: *mut wk_completion_t, result: CompletionResult) -> bool {
    let Some(tx) = pending().remove(&c.addr()) else {
        return false;
    };
    // The receiver may be gone (the caller gave up waiting); the host still did its part.
    let _ = tx.send(result);
    true
}

/// Releases `c` unsettled: its receiver sees `Err("completion dropped")`. Returns false if `c`
/// was not outstanding.
pub fn completion_drop(c: *mut wk_completion_t) -> bool {
    pending().remove(&c.addr()).is_some()
}

fn settle(c: *mut wk_completion_t, result: CompletionResult) -> Fallible<()> {
    if c.is_null() {
        return Err(invalid("completion is NULL"));
    }
    if completion_settle(c, result) {
        Ok(())
    } else {
        Err(invalid(
            "completion was already resolved, rejected or freed (or is not a completion)",
        ))
    }
}

/// Resolves `c` with a copy of `data[0..len]` (NULL is allowed when `len` is 0). Call exactly
/// one of resolve/reject/free per completion, from any thread. The handle is invalid afterwards.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled, or `data` is NULL with a
/// non-zero `len` (the completion then stays outstanding).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_resolve(
    c: *mut wk_completion_t,
    data: *const u8,
    len: usize,
) -> wk_status_t {
    ffi_status(|| {
        let data = bytes(data, len, "data")?;
        settle(c, Ok(Completed::Bytes(data.to_vec())))
    })
}

/// Resolves `c` with "no value": what a store answers for a key it does not have (KV `get`
/// gives the worker `null`). Same rules as `wk_completion_resolve`.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_resolve_null(c: *mut wk_completion_t) -> wk_status_t {
    ffi_status(|| settle(c, Ok(Completed::Null)))
}

/// Resolves a KV `get` with the value `value[0..value_len]`, its metadata as JSON text
/// `metadata[0..metadata_len]` (NULL for none) and its absolute expiry in seconds since the UNIX
/// epoch (0 for none). Plain `wk_completion_resolve` is the same without metadata or expiry.
/// Same rules as `wk_completion_resolve`.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled, a pointer is NULL with a
/// non-zero length, or the metadata is not valid UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_resolve_kv(
    c: *mut wk_completion_t,
    value: *const u8,
    value_len: usize,
    metadata: *const c_char,
    metadata_len: usize,
    expiration: u64,
) -> wk_status_t {
    ffi_status(|| {
        let value = bytes(value, value_len, "value")?.to_vec();
        let metadata = if metadata.is_null() {
            None
        } else {
            Some(text(metadata, metadata_len, "metadata")?.to_string())
        };
        let entry = KvEntry {
            value,
            metadata,
            expiration: (expiration > 0).then_some(expiration),
        };
        settle(c, Ok(Completed::Kv(entry)))
    })
}

/// Rejects `c` with the UTF-8 message `msg[0..len]`; the waiting side sees it as an error
/// (a JavaScript exception for store bindings). Same rules as `wk_completion_resolve`.
/// Invalid UTF-8 in `msg` is replaced, not refused, so a rejection always gets through.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `c` is NULL or already settled, or `msg` is NULL with a
/// non-zero `len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_reject(
    c: *mut wk_completion_t,
    msg: *const c_char,
    len: usize,
) -> wk_status_t {
    ffi_status(|| {
        let msg = bytes(msg.cast(), len, "msg")?;
        settle(c, Err(String::from_utf8_lossy(msg).into_owned()))
    })
}

/// Releases `c` without settling it: the waiting side sees a rejection with the message
/// "completion dropped". NULL, and a completion already settled, are no-ops. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_free(c: *mut wk_completion_t) {
    ffi_value((), || {
        if !c.is_null() {
            completion_drop(c);
        }
    })
}

/// The waiting half of a completion created with `wk_completion_new`. Owned by the host; free
/// with `wk_completion_waiter_free`. Use from one thread at a time.
pub struct wk_completion_waiter_t {
    rx: Option<CompletionReceiver>,
}

/// Creates a completion and its waiter, for hosts that test their vtable implementations or
/// bridge their own async code (the engine creates the completions it passes to vtables itself).
/// `*out_completion` is settled by the rules of `wk_completion_resolve`; `*out_waiter` is owned
/// by the caller. Any thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if an out-parameter is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_new(
    out_completion: *mut *mut wk_completion_t,
    out_waiter: *mut *mut wk_completion_waiter_t,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let oc = out(out_completion, "out_completion", std::ptr::null_mut())?;
        let ow = out(out_waiter, "out_waiter", std::ptr::null_mut())?;
        let (c, rx) = completion_pair();
        *oc = c;
        *ow = Box::into_raw(Box::new(wk_completion_waiter_t { rx: Some(rx) }));
        Ok(())
    })
}

/// Blocks until the completion behind `waiter` is settled. On resolve: `WK_OK`, `*out_data`
/// gets a copy of the bytes (followed by a NUL not counted in `*out_len`; free with
/// `wk_bytes_free`); the value's bytes for `wk_completion_resolve_kv`, the body for
/// `wk_completion_resolve_asset` and `wk_completion_resolve_cache`, and NULL with length 0
/// for `wk_completion_resolve_null`. On reject or drop: `WK_E_REJECTED` with the message in
/// `*err`, and `*out_data` is NULL. Call at most once per waiter, from a thread that is not a
/// libworker callback thread.
///
/// Errors: `WK_E_INVALID_ARGUMENT` for NULL arguments or a second wait; `WK_E_REJECTED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_wait(
    waiter: *mut wk_completion_waiter_t,
    out_data: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut wk_error_t,
) -> wk_status_t {
    ffi_call(err, || {
        let od = out(out_data, "out_data", std::ptr::null_mut())?;
        let ol = out(out_len, "out_len", 0)?;
        let w = handle_mut(waiter, "waiter")?;
        let rx =
            w.rx.take()
                .ok_or_else(|| invalid("wk_completion_wait was already called on this waiter"))?;
        match rx.wait() {
            Ok(Completed::Null) => Ok(()),
            Ok(
                Completed::Bytes(data)
                | Completed::Kv(KvEntry { value: data, .. })
                | Completed::Asset(AssetResponse { body: data, .. })
                | Completed::Cache(CachedResponse { body: data, .. })
                | Completed::R2Body(data, _),
            ) => {
                *od = alloc_out(&data);
                *ol = data.len();
                Ok(())
            }
            Err(msg) => Err(wk_error_t::new(WK_E_REJECTED, "rejected", msg)),
        }
    })
}

/// Frees a waiter (whether or not it was waited on). NULL is a no-op. Any thread, once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_completion_waiter_free(waiter: *mut wk_completion_waiter_t) {
    ffi_value((), || {
        if !waiter.is_null() {
            // SAFETY: a non-NULL waiter came from `wk_completion_new` and is freed only once.
            drop(unsafe { Box::from_raw(waiter) });
        }
    })
}
