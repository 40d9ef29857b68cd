//! `wk_response_t`: a worker's response plus its console logs, read through accessors.
use std::ffi::c_char;

use worker_core::{ExecuteResult, LogLevel};

use crate::error::*;

/// Console log level (`WK_LOG_*`).
pub type wk_log_level_t = i32;
/// `console.debug` / `console.trace`.
pub const WK_LOG_DEBUG: wk_log_level_t = 0;
/// `console.log`.
pub const WK_LOG_LOG: wk_log_level_t = 1;
/// `console.info`.
pub const WK_LOG_INFO: wk_log_level_t = 2;
/// `console.warn`.
pub const WK_LOG_WARN: wk_log_level_t = 3;
/// `console.error`.
pub const WK_LOG_ERROR: wk_log_level_t = 4;

fn level(l: LogLevel) -> wk_log_level_t {
    match l {
        LogLevel::Debug => WK_LOG_DEBUG,
        LogLevel::Log => WK_LOG_LOG,
        LogLevel::Info => WK_LOG_INFO,
        LogLevel::Warn => WK_LOG_WARN,
        LogLevel::Error => WK_LOG_ERROR,
    }
}

/// Text kept with a trailing NUL so C can use it either as `(ptr, len)` or as a C string.
struct Text(Box<[u8]>);

impl Text {
    fn new(s: &str) -> Text {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        Text(v.into_boxed_slice())
    }
    fn ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
    fn len(&self) -> usize {
        self.0.len() - 1
    }
}

/// A worker's response: status, ordered headers, body, console logs and timing. Owned by the
/// caller (`wk_response_free`). Accessors may be called from any thread but not concurrently with
/// `wk_response_body_read` or `wk_response_free` on the same response. Every pointer an accessor
/// returns is owned by the response and valid until `wk_response_free`.
pub struct wk_response_t {
    status: u16,
    status_text: Text,
    headers: Vec<(Text, Text)>,
    body: Vec<u8>,
    cursor: usize,
    logs: Vec<(wk_log_level_t, Text)>,
    pass_through: bool,
    duration_us: u64,
}

impl wk_response_t {
    pub(crate) fn new(r: &ExecuteResult) -> Box<wk_response_t> {
        Box::new(wk_response_t {
            status: r.status,
            status_text: Text::new(&r.status_text),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (Text::new(k), Text::new(v)))
                .collect(),
            body: r.body.clone(),
            cursor: 0,
            logs: r
                .logs
                .iter()
                .map(|l| (level(l.level), Text::new(&l.message)))
                .collect(),
            pass_through: r.pass_through,
            duration_us: u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX),
        })
    }
}

/// Frees a response. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_free(resp: *mut wk_response_t) {
    ffi_value((), || {
        if !resp.is_null() {
            // SAFETY: a non-NULL response came from libworker as a Box and is freed only once.
            drop(unsafe { Box::from_raw(resp) });
        }
    })
}

/// The HTTP status (500 when the worker failed). 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_status(resp: *const wk_response_t) -> u16 {
    ffi_value(0, || handle(resp, "resp").map_or(0, |r| r.status))
}

/// The status text (`"OK"`), NUL-terminated UTF-8; `""` for NULL. Never NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_status_text(resp: *const wk_response_t) -> *const c_char {
    ffi_value(c"".as_ptr(), || {
        handle(resp, "resp").map_or(c"".as_ptr(), |r| r.status_text.ptr())
    })
}

/// Number of header entries (a repeated header counts once per value). 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_header_count(resp: *const wk_response_t) -> usize {
    ffi_value(0, || handle(resp, "resp").map_or(0, |r| r.headers.len()))
}

/// Header entry `index` (0-based, in the order the worker set them). Name and value are UTF-8,
/// NUL-terminated, lengths exclude the NUL. Any out-parameter may be NULL if not wanted.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `resp` is NULL; `WK_E_NOT_FOUND` if `index` is out of range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_header_at(
    resp: *const wk_response_t,
    index: usize,
    name: *mut *const c_char,
    name_len: *mut usize,
    value: *mut *const c_char,
    value_len: *mut usize,
) -> wk_status_t {
    ffi_status(|| {
        let r = handle(resp, "resp")?;
        let (k, v) = r.headers.get(index).ok_or_else(|| {
            wk_error_t::new(WK_E_NOT_FOUND, "notFound", "header index out of range")
        })?;
        if let Some(p) = opt_out(name) {
            *p = k.ptr();
        }
        if let Some(p) = opt_out(name_len) {
            *p = k.len();
        }
        if let Some(p) = opt_out(value) {
            *p = v.ptr();
        }
        if let Some(p) = opt_out(value_len) {
            *p = v.len();
        }
        Ok(())
    })
}

/// The whole body: `*data` points to `*len` bytes owned by the response (not NUL-terminated;
/// do not dereference `*data` when `*len` is 0). Does not move the read cursor.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if any argument is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_body(
    resp: *const wk_response_t,
    data: *mut *const u8,
    len: *mut usize,
) -> wk_status_t {
    ffi_status(|| {
        let d = out(data, "data", std::ptr::null())?;
        let l = out(len, "len", 0)?;
        let r = handle(resp, "resp")?;
        *d = r.body.as_ptr();
        *l = r.body.len();
        Ok(())
    })
}

/// Copies up to `cap` bytes of the body, from the read cursor on, into `buf` and advances the
/// cursor; `*n_read` gets the count, 0 once the body is exhausted. For consuming a body in
/// chunks (streaming, server-sent events) with a fixed buffer.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `resp` or `n_read` is NULL, or `buf` is NULL with `cap > 0`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_body_read(
    resp: *mut wk_response_t,
    buf: *mut u8,
    cap: usize,
    n_read: *mut usize,
) -> wk_status_t {
    ffi_status(|| {
        let n = out(n_read, "n_read", 0)?;
        let r = handle_mut(resp, "resp")?;
        if buf.is_null() && cap > 0 {
            return Err(invalid("buf is NULL"));
        }
        let rest = &r.body[r.cursor..];
        let take = rest.len().min(cap);
        if take > 0 {
            // SAFETY: `buf` is non-NULL and valid for `cap >= take` bytes (API contract); the
            // source is inside the body, which the host cannot alias.
            unsafe { std::ptr::copy_nonoverlapping(rest.as_ptr(), buf, take) };
        }
        r.cursor += take;
        *n = take;
        Ok(())
    })
}

/// Number of captured console log entries. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_log_count(resp: *const wk_response_t) -> usize {
    ffi_value(0, || handle(resp, "resp").map_or(0, |r| r.logs.len()))
}

/// Log entry `index`, oldest first: its level and message (UTF-8, NUL-terminated, length
/// excludes the NUL). Any out-parameter may be NULL if not wanted.
///
/// Errors: `WK_E_INVALID_ARGUMENT` if `resp` is NULL; `WK_E_NOT_FOUND` if `index` is out of range.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_log_at(
    resp: *const wk_response_t,
    index: usize,
    level: *mut wk_log_level_t,
    message: *mut *const c_char,
    message_len: *mut usize,
) -> wk_status_t {
    ffi_status(|| {
        let r = handle(resp, "resp")?;
        let (lv, msg) = r
            .logs
            .get(index)
            .ok_or_else(|| wk_error_t::new(WK_E_NOT_FOUND, "notFound", "log index out of range"))?;
        if let Some(p) = opt_out(level) {
            *p = *lv;
        }
        if let Some(p) = opt_out(message) {
            *p = msg.ptr();
        }
        if let Some(p) = opt_out(message_len) {
            *p = msg.len();
        }
        Ok(())
    })
}

/// Wall-clock time the invocation took, in microseconds. 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_duration_us(resp: *const wk_response_t) -> u64 {
    ffi_value(0, || handle(resp, "resp").map_or(0, |r| r.duration_us))
}

/// Whether the worker called `ctx.passThroughOnException()` before failing: a host with an
/// origin server should forward the request there instead of serving the error. false for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wk_response_pass_through(resp: *const wk_response_t) -> bool {
    ffi_value(false, || handle(resp, "resp").is_ok_and(|r| r.pass_through))
}
