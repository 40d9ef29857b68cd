//! Status codes, the owned `wk_error_t`, and the helpers every exported function uses to turn
//! bad arguments and panics into status codes instead of crashes.
use std::any::Any;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use worker_core::{ErrorKind, WorkerError};

/// Result of every fallible call: `WK_OK` (0) or a negative `WK_E_*` code.
pub type wk_status_t = i32;

/// Success.
pub const WK_OK: wk_status_t = 0;
/// A NULL pointer, invalid UTF-8, a bad `struct_size`, an unknown enum value, or an API misuse
/// (such as resolving a completion twice). The error message names the argument.
pub const WK_E_INVALID_ARGUMENT: wk_status_t = -1;
/// A bug inside libworker panicked; the call was abandoned without unwinding into C.
pub const WK_E_PANIC: wk_status_t = -2;
/// The worker threw an uncaught JavaScript exception (or rejected its promise).
pub const WK_E_EXCEPTION: wk_status_t = -3;
/// The worker's code failed to compile or to evaluate at startup (syntax error, top-level throw).
pub const WK_E_SCRIPT: wk_status_t = -4;
/// The source loader could not supply the worker, or a named item does not exist.
pub const WK_E_NOT_FOUND: wk_status_t = -5;
/// The worker hit a limit: CPU time, memory, wall time or response size. `wk_error_kind` names it.
pub const WK_E_LIMIT: wk_status_t = -6;
/// The engine is shut down or failed internally.
pub const WK_E_INTERNAL: wk_status_t = -7;
/// The worker has no handler for the event, or its handler returned something that is not a
/// `Response`.
pub const WK_E_BAD_HANDLER: wk_status_t = -8;
/// A completion was rejected by its host (or dropped without being resolved).
pub const WK_E_REJECTED: wk_status_t = -9;

/// The symbolic name of a status code (`"WK_E_LIMIT"`), or `"WK_E_UNKNOWN"`.
pub(crate) fn status_name(code: wk_status_t) -> &'static CStr {
    match code {
        WK_OK => c"WK_OK",
        WK_E_INVALID_ARGUMENT => c"WK_E_INVALID_ARGUMENT",
        WK_E_PANIC => c"WK_E_PANIC",
        WK_E_EXCEPTION => c"WK_E_EXCEPTION",
        WK_E_SCRIPT => c"WK_E_SCRIPT",
        WK_E_NOT_FOUND => c"WK_E_NOT_FOUND",
        WK_E_LIMIT => c"WK_E_LIMIT",
        WK_E_INTERNAL => c"WK_E_INTERNAL",
        WK_E_BAD_HANDLER => c"WK_E_BAD_HANDLER",
        WK_E_REJECTED => c"WK_E_REJECTED",
        _ => c"WK_E_UNKNOWN",
    }
}

/// An error: a status code plus what went wrong. Owned by whoever received it; release it with
/// `wk_error_free`. Immutable, so it may be read from any thread.
pub struct wk_error_t {
    code: wk_status_t,
    kind: CString,
    name: CString,
    message: CString,
    stack: CString,
    location: CString,
}

/// A C string from Rust text; interior NULs (possible in JS messages) become U+FFFD.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

pub(crate) type Fallible<T> = Result<T, Box<wk_error_t>>;

impl wk_error_t {
    pub(crate) fn new(code: wk_status_t, kind: &str, message: impl AsRef<str>) -> Box<Self> {
        Box::new(wk_error_t {
            code,
            kind: c_string(kind),
            name: CString::default(),
            message: c_string(message.as_ref()),
            stack: CString::default(),
            location: CString::default(),
        })
    }

    pub(crate) fn code(&self) -> wk_status_t {
        self.code
    }

    pub(crate) fn from_worker(e: &WorkerError) -> Box<Self> {
        Box::new(wk_error_t {
            code: kind_status(e.kind),
            kind: c_string(e.kind.as_str()),
            name: c_string(&e.name),
            message: c_string(&e.message),
            stack: c_string(&e.stack),
            location: c_string(e.location.as_deref().unwrap_or("")),
        })
    }
}

/// The status code that stands for a worker failure of this kind.
pub(crate) fn kind_status(kind: ErrorKind) -> wk_status_t {
    match kind {
        ErrorKind::Exception => WK_E_EXCEPTION,
        ErrorKind::Script => WK_E_SCRIPT,
        ErrorKind::ScriptNotFound => WK_E_NOT_FOUND,
        ErrorKind::BadHandler => WK_E_BAD_HANDLER,
        ErrorKind::ExceededCpu
        | ErrorKind::ExceededMemory
        | ErrorKind::ExceededWallTime
        | ErrorKind::ExceededResponseSize => WK_E_LIMIT,
        ErrorKind::Internal => WK_E_INTERNAL,
    }
}

/// A `WK_E_INVALID_ARGUMENT` error.
pub(crate) fn invalid(message: impl AsRef<str>) -> Box<wk_error_t> {
    wk_error_t::new(WK_E_INVALID_ARGUMENT, "invalidArgument", message)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic payload");
    format!("libworker panicked: {what}")
}

pub(crate) fn panic_error(payload: &(dyn Any + Send)) -> Box<wk_error_t> {
    wk_error_t::new(WK_E_PANIC, "panic", panic_message(payload))
}

/// Hands `e` to the caller through the optional `err` out-parameter; returns its code.
pub(crate) fn report(err: *mut *mut wk_error_t, e: Box<wk_error_t>) -> wk_status_t {
    let code = e.code;
    if !err.is_null() {
        // SAFETY: the API contract makes a non-NULL `err` point to writable storage for one
        // pointer; ownership of the error passes to the caller.
        unsafe { *err = Box::into_raw(e) };
    }
    code
}

/// Runs the body of an exported fallible function: clears `*err`, converts a panic into
/// `WK_E_PANIC`, and stores any error in `*err`.
pub(crate) fn ffi_call(err: *mut *mut wk_error_t, f: impl FnOnce() -> Fallible<()>) -> wk_status_t {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` points to writable storage for one pointer (API contract).
        unsafe { *err = ptr::null_mut() };
    }
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_error(&*p)));
    match result {
        Ok(()) => WK_OK,
        Err(e) => report(err, e),
    }
}

/// Runs the body of an exported function that reports only a status (accessors).
pub(crate) fn ffi_status(f: impl FnOnce() -> Fallible<()>) -> wk_status_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => WK_OK,
        Ok(Err(e)) => e.code,
        Err(_) => WK_E_PANIC,
    }
}

/// Runs the body of an exported function that returns a plain value, with `fallback` on panic.
pub(crate) fn ffi_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Borrows a required handle.
pub(crate) fn handle<'a, T>(p: *const T, what: &str) -> Fallible<&'a T> {
    // SAFETY: a non-NULL handle was produced by the matching `wk_*_new` and not yet freed
    // (API contract); NULL is rejected here.
    unsafe { p.as_ref() }.ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// Borrows a required handle mutably.
pub(crate) fn handle_mut<'a, T>(p: *mut T, what: &str) -> Fallible<&'a mut T> {
    // SAFETY: as in `handle`; the API contract forbids concurrent use of non-thread-safe handles.
    unsafe { p.as_mut() }.ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// A required out-parameter; set to `init` straight away so it is defined on every error path.
pub(crate) fn out<'a, T>(p: *mut T, what: &str, init: T) -> Fallible<&'a mut T> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and, per the API contract, valid for writes of one `T`. `write` does not
    // read (or drop) the uninitialised previous value.
    unsafe {
        p.write(init);
        Ok(&mut *p)
    }
}

/// An optional out-parameter (NULL means "not wanted").
pub(crate) fn opt_out<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: non-NULL out-parameters are valid for writes of one `T` (API contract).
    unsafe { p.as_mut() }
}

/// A byte buffer: `(ptr, len)`, where NULL is allowed only with `len == 0`.
pub(crate) fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Fallible<&'a [u8]> {
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(invalid(format!("{what} is NULL but its length is {len}")));
    }
    if len > isize::MAX as usize {
        return Err(invalid(format!("{what}: length {len} is too large")));
    }
    // SAFETY: the caller passes `len` readable bytes at `p` (API contract), checked non-NULL and
    // within isize::MAX above; the bytes are only borrowed for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A UTF-8 string: `(ptr, len)`, not necessarily NUL-terminated. NULL is rejected.
pub(crate) fn text<'a>(p: *const c_char, len: usize, what: &str) -> Fallible<&'a str> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    let b = bytes(p.cast(), len, what)?;
    std::str::from_utf8(b).map_err(|e| {
        invalid(format!(
            "{what} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Size of the hidden length header in front of buffers returned by `wk_bytes_free`-style APIs.
const HEADER: usize = size_of::<usize>();

/// Copies `data` into a buffer the host later frees with `wk_bytes_free`/`wk_string_free`.
/// A NUL byte always follows the data (not counted in its length).
pub(crate) fn alloc_out(data: &[u8]) -> *mut u8 {
    let total = HEADER + data.len() + 1;
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&total.to_ne_bytes());
    v.extend_from_slice(data);
    v.push(0);
    let raw: *mut [u8] = Box::into_raw(v.into_boxed_slice());
    // SAFETY: the allocation is `total > HEADER` bytes long, so the offset stays inside it.
    unsafe { raw.cast::<u8>().add(HEADER) }
}

/// Frees a buffer from `alloc_out`.
///
/// # Safety
/// `p` is NULL or came from `alloc_out` and was not freed before.
pub(crate) unsafe fn free_out(p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` is HEADER bytes into an allocation from `alloc_out`, whose first HEADER bytes
    // hold its total length; rebuilding the boxed slice with that length releases it exactly.
    unsafe {
        let base = p.sub(HEADER);
        let total = base.cast::<usize>().read_unaligned();
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(base, total)));
    }
}

/// Releases an error. NULL is a no-op. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_free(err: *mut wk_error_t) {
    ffi_value((), || {
        if !err.is_null() {
            // SAFETY: a non-NULL error came from libworker as a `Box` and is freed only once.
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

/// The error's status code (`WK_E_*`). `WK_E_INVALID_ARGUMENT` for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_code(err: *const wk_error_t) -> wk_status_t {
    ffi_value(WK_E_PANIC, || {
        handle(err, "err").map_or(WK_E_INVALID_ARGUMENT, |e| e.code)
    })
}

fn error_str(err: *const wk_error_t, f: impl FnOnce(&wk_error_t) -> &CString) -> *const c_char {
    ffi_value(c"".as_ptr(), || {
        handle(err, "err").map_or(c"".as_ptr(), |e| f(e).as_ptr())
    })
}

/// The human-readable message (for a JS exception: its `message`). NUL-terminated UTF-8, owned by
/// `err` and valid until `wk_error_free(err)`. Never NULL (empty string for a NULL `err`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_message(err: *const wk_error_t) -> *const c_char {
    error_str(err, |e| &e.message)
}

/// The JavaScript error name (`"TypeError"`), or an empty string when the failure is not a JS
/// error. Lifetime as `wk_error_message`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_name(err: *const wk_error_t) -> *const c_char {
    error_str(err, |e| &e.name)
}

/// The JavaScript stack trace, or an empty string. Lifetime as `wk_error_message`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_stack(err: *const wk_error_t) -> *const c_char {
    error_str(err, |e| &e.stack)
}

/// `file:line:col` of the failure when known, else an empty string. Lifetime as
/// `wk_error_message`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_location(err: *const wk_error_t) -> *const c_char {
    error_str(err, |e| &e.location)
}

/// What failed, as a stable camelCase word: `"exception"`, `"script"`, `"scriptNotFound"`,
/// `"badHandler"`, `"exceededCpu"`, `"exceededMemory"`, `"exceededWallTime"`,
/// `"exceededResponseSize"`, `"internalError"`, `"invalidArgument"`, `"panic"`, `"rejected"`.
/// Lifetime as `wk_error_message`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_error_kind(err: *const wk_error_t) -> *const c_char {
    error_str(err, |e| &e.kind)
}

/// The symbolic name of a status code, e.g. `"WK_E_LIMIT"`; `"WK_E_UNKNOWN"` for other values.
/// Static storage; never NULL. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn wk_status_name(code: wk_status_t) -> *const c_char {
    ffi_value(c"WK_E_UNKNOWN".as_ptr(), || status_name(code).as_ptr())
}

/// Frees a buffer returned by libworker (`wk_compile_and_cache`, `wk_completion_wait`). NULL is a
/// no-op. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_bytes_free(data: *mut u8) {
    // SAFETY: `data` is NULL or a buffer libworker returned and the host has not freed.
    ffi_value((), || unsafe { free_out(data) })
}

/// Frees a string returned by libworker (`wk_execute_function`). NULL is a no-op. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_string_free(s: *mut c_char) {
    // SAFETY: `s` is NULL or a string libworker returned and the host has not freed.
    ffi_value((), || unsafe { free_out(s.cast()) })
}

/// Runs `f` the way every exported function runs its body, for tests of the panic barrier:
/// a panic comes back as `WK_E_PANIC` with its message in `*err`. Not part of the C ABI.
#[doc(hidden)]
pub fn run_guarded(err: *mut *mut wk_error_t, f: impl FnOnce()) -> wk_status_t {
    ffi_call(err, || {
        f();
        Ok(())
    })
}
