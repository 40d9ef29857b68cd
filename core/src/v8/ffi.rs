//! Declarations of the C++ shim (core/shim/wkv8.h). Only `super` uses them.
use std::ffi::{c_char, c_int, c_void};

#[repr(C)]
pub struct Isolate {
    _private: [u8; 0],
}

#[repr(C)]
pub struct Scope {
    _private: [u8; 0],
}

#[repr(C)]
pub struct Exc {
    pub name: *mut c_char,
    pub message: *mut c_char,
    pub stack: *mut c_char,
    pub resource: *mut c_char,
    pub line: c_int,
    pub column: c_int,
}

impl Default for Exc {
    fn default() -> Self {
        Exc {
            name: std::ptr::null_mut(),
            message: std::ptr::null_mut(),
            stack: std::ptr::null_mut(),
            resource: std::ptr::null_mut(),
            line: 0,
            column: 0,
        }
    }
}

pub const OK: c_int = 0;
pub const TERMINATED: c_int = 2;

pub type OpCb = extern "C" fn(data: *mut c_void, s: *mut Scope, op: u32, argc: c_int);
pub type AllocCb = extern "C" fn(sink: *mut c_void, len: usize) -> *mut u8;
pub type ScopeFn = extern "C" fn(s: *mut Scope, arg: *mut c_void);

unsafe extern "C" {
    pub fn wkv8_init(worker_threads: c_int, flags: *const c_char, op_cb: OpCb);
    pub fn wkv8_version() -> *const c_char;
    pub fn wkv8_snapshot_create(
        op_names: *const *const c_char,
        n_ops: usize,
        names: *const *const c_char,
        sources: *const *const c_char,
        n_scripts: usize,
        alloc: AllocCb,
        sink: *mut c_void,
        exc: *mut Exc,
    ) -> usize;
    pub fn wkv8_isolate_new(
        snapshot: *const u8,
        snapshot_len: usize,
        heap_limit: usize,
        allow_codegen: c_int,
        data: *mut c_void,
    ) -> *mut Isolate;
    pub fn wkv8_isolate_free(iso: *mut Isolate);
    pub fn wkv8_isolate_terminate(iso: *mut Isolate);
    pub fn wkv8_isolate_cancel_terminate(iso: *mut Isolate);
    pub fn wkv8_isolate_oom(iso: *mut Isolate) -> c_int;
    pub fn wkv8_isolate_pump(iso: *mut Isolate);
    pub fn wkv8_enter(iso: *mut Isolate, f: ScopeFn, arg: *mut c_void);

    pub fn wkv8_top(s: *mut Scope) -> c_int;
    pub fn wkv8_settop(s: *mut Scope, n: c_int);
    pub fn wkv8_dup(s: *mut Scope, idx: c_int);
    pub fn wkv8_push_undefined(s: *mut Scope);
    pub fn wkv8_push_null(s: *mut Scope);
    pub fn wkv8_push_bool(s: *mut Scope, v: c_int);
    pub fn wkv8_push_number(s: *mut Scope, v: f64);
    pub fn wkv8_push_string(s: *mut Scope, p: *const c_char, len: usize);
    pub fn wkv8_push_bytes(s: *mut Scope, p: *const u8, len: usize);
    pub fn wkv8_push_array(s: *mut Scope, n: c_int);
    pub fn wkv8_push_internal(s: *mut Scope, name: *const c_char, len: usize);
    pub fn wkv8_get(s: *mut Scope, obj: c_int, name: *const c_char, len: usize);
    pub fn wkv8_get_index(s: *mut Scope, obj: c_int, i: u32);
    pub fn wkv8_set(s: *mut Scope, obj: c_int, name: *const c_char, len: usize);
    pub fn wkv8_type(s: *mut Scope, idx: c_int) -> c_int;
    pub fn wkv8_to_number(s: *mut Scope, idx: c_int) -> f64;
    pub fn wkv8_to_bool(s: *mut Scope, idx: c_int) -> c_int;
    pub fn wkv8_to_utf8(s: *mut Scope, idx: c_int, alloc: AllocCb, sink: *mut c_void);
    pub fn wkv8_bytes(s: *mut Scope, idx: c_int, ptr: *mut *mut u8, len: *mut usize) -> c_int;
    pub fn wkv8_array_length(s: *mut Scope, idx: c_int) -> u32;
    pub fn wkv8_promise_state(s: *mut Scope, idx: c_int) -> c_int;
    pub fn wkv8_call(s: *mut Scope, f: c_int, recv: c_int, argc: c_int, exc: *mut Exc) -> c_int;
    pub fn wkv8_throw(s: *mut Scope, kind: *const c_char, msg: *const c_char, len: usize);
    pub fn wkv8_microtasks(s: *mut Scope);
    pub fn wkv8_take_rejections(s: *mut Scope) -> c_int;
    pub fn wkv8_serialize(
        s: *mut Scope,
        idx: c_int,
        alloc: AllocCb,
        sink: *mut c_void,
        exc: *mut Exc,
    ) -> c_int;
    pub fn wkv8_deserialize(s: *mut Scope, p: *const u8, len: usize, exc: *mut Exc) -> c_int;
    pub fn wkv8_module_add(
        s: *mut Scope,
        name: *const c_char,
        name_len: usize,
        kind: c_int,
        src: *const u8,
        src_len: usize,
        cache: *const u8,
        cache_len: usize,
        alloc: AllocCb,
        sink: *mut c_void,
        cache_rejected: *mut c_int,
        exc: *mut Exc,
    ) -> c_int;
    pub fn wkv8_module_run(s: *mut Scope, name: *const c_char, len: usize, exc: *mut Exc) -> c_int;
    pub fn wkv8_script_run(
        s: *mut Scope,
        name: *const c_char,
        name_len: usize,
        src: *const c_char,
        src_len: usize,
        cache: *const u8,
        cache_len: usize,
        alloc: AllocCb,
        sink: *mut c_void,
        cache_rejected: *mut c_int,
        exc: *mut Exc,
    ) -> c_int;
    pub fn wkv8_exc_clear(exc: *mut Exc);
}
