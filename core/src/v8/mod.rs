//! Safe Rust over the C++ shim: the only module that touches V8.
//!
//! Values live on a per-entry value stack ([`Scope`]) addressed by index; nothing outlives the
//! entry, so no persistent handle is made per value. Natively implemented JS functions ("ops")
//! are numbered at snapshot creation and dispatched through one callback ([`OpTable`]).
mod ffi;

use std::ffi::{CStr, CString, c_int, c_void};
use std::fmt;
use std::sync::OnceLock;

/// A JavaScript exception, or a failure V8 reported like one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsError {
    pub name: String,
    pub message: String,
    pub stack: String,
    /// Script or module the exception points into, with 1-based line and column (0 = unknown).
    pub resource: String,
    pub line: u32,
    pub column: u32,
}

impl JsError {
    fn take(exc: &mut ffi::Exc) -> JsError {
        let s = |p: *mut std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: the shim fills these with NUL-terminated malloc'ed strings.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        let e = JsError {
            name: s(exc.name),
            message: s(exc.message),
            stack: s(exc.stack),
            resource: s(exc.resource),
            line: exc.line.max(0) as u32,
            column: exc.column.max(0) as u32,
        };
        // SAFETY: releases exactly the strings read above; the struct is reset to nulls.
        unsafe { ffi::wkv8_exc_clear(exc) };
        e
    }

    /// `file:line:col` when V8 knew where the exception happened.
    pub fn location(&self) -> Option<String> {
        (self.line > 0).then(|| format!("{}:{}:{}", self.resource, self.line, self.column))
    }
}

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "Uncaught {}", self.message)?;
        } else {
            write!(f, "{}: {}", self.name, self.message)?;
        }
        if let Some(loc) = self.location() {
            write!(f, " at {loc}")?;
        }
        Ok(())
    }
}

/// Outcome of running JavaScript (the shim's third status, an exception, carries a JsError): an exception, or termination (watchdog or heap limit).
#[derive(Clone, Debug)]
pub enum Failure {
    Exception(JsError),
    Terminated,
}

pub type JsResult<T> = Result<T, Failure>;

fn status(code: c_int, exc: &mut ffi::Exc) -> JsResult<()> {
    match code {
        ffi::OK => Ok(()),
        ffi::TERMINATED => Err(Failure::Terminated),
        _ => Err(Failure::Exception(JsError::take(exc))),
    }
}

/// Native implementations of JS functions, numbered by position.
pub struct OpTable {
    pub names: &'static [&'static str],
    pub dispatch: fn(data: *mut c_void, scope: &mut Scope, op: u32, argc: i32),
}

static OPS: OnceLock<&'static OpTable> = OnceLock::new();

extern "C" fn op_callback(data: *mut c_void, s: *mut ffi::Scope, op: u32, argc: c_int) {
    let mut scope = Scope { raw: s };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(table) = OPS.get() {
            (table.dispatch)(data, &mut scope, op, argc);
        }
    }));
    if result.is_err() {
        scope.settop(argc);
        scope.throw("Error", "internal error in a native function");
    }
}

/// Initialises V8 once per process. Later calls are no-ops (the first table wins).
pub fn init(worker_threads: usize, ops: &'static OpTable) {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = OPS.set(ops);
        // Harmony features workers rely on are on by default in 10.2; keep stack traces useful.
        let flags = CString::new("--stack-trace-limit=20").unwrap();
        // SAFETY: called exactly once, before any isolate exists.
        unsafe { ffi::wkv8_init(worker_threads as c_int, flags.as_ptr(), op_callback) };
    });
}

pub fn version() -> String {
    // SAFETY: V8 returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(ffi::wkv8_version()) }
        .to_string_lossy()
        .into_owned()
}

extern "C" fn vec_alloc(sink: *mut c_void, len: usize) -> *mut u8 {
    // SAFETY: every caller passes a `&mut Vec<u8>` as the sink.
    let v = unsafe { &mut *(sink as *mut Vec<u8>) };
    v.clear();
    v.resize(len, 0);
    v.as_mut_ptr()
}

fn sink(v: &mut Vec<u8>) -> *mut c_void {
    v as *mut Vec<u8> as *mut c_void
}

/// Builds a startup snapshot holding the ops object and the bootstrap scripts' effects.
pub fn create_snapshot(ops: &OpTable, scripts: &[(&str, String)]) -> Result<Vec<u8>, JsError> {
    let c = |s: &str| CString::new(s).expect("no NUL in bootstrap sources");
    let op_names: Vec<CString> = ops.names.iter().map(|n| c(n)).collect();
    let names: Vec<CString> = scripts.iter().map(|(n, _)| c(n)).collect();
    let sources: Vec<CString> = scripts.iter().map(|(_, s)| c(s)).collect();
    let op_ptrs: Vec<_> = op_names.iter().map(|s| s.as_ptr()).collect();
    let name_ptrs: Vec<_> = names.iter().map(|s| s.as_ptr()).collect();
    let src_ptrs: Vec<_> = sources.iter().map(|s| s.as_ptr()).collect();
    let mut out = Vec::new();
    let mut exc = ffi::Exc::default();
    // SAFETY: all pointers stay alive for the call; the sink is a Vec<u8>.
    let len = unsafe {
        ffi::wkv8_snapshot_create(
            op_ptrs.as_ptr(),
            op_ptrs.len(),
            name_ptrs.as_ptr(),
            src_ptrs.as_ptr(),
            src_ptrs.len(),
            vec_alloc,
            sink(&mut out),
            &mut exc,
        )
    };
    if len == 0 {
        return Err(JsError::take(&mut exc));
    }
    Ok(out)
}

/// A V8 isolate with one context. Not Send: it lives and dies on the thread that made it.
pub struct Isolate {
    raw: *mut ffi::Isolate,
}

/// Lets another thread stop the JavaScript running in an isolate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TerminateHandle(*mut ffi::Isolate);

// SAFETY: TerminateExecution is documented thread-safe; owners guarantee the isolate outlives
// every handle that may still be used (see engine::watchdog).
unsafe impl Send for TerminateHandle {}
// SAFETY: as above; the handle is only a pointer passed to a thread-safe call.
unsafe impl Sync for TerminateHandle {}

impl TerminateHandle {
    pub fn terminate(&self) {
        // SAFETY: see the Send impl: the isolate is alive while the handle is armed.
        unsafe { ffi::wkv8_isolate_terminate(self.0) }
    }
}

impl Isolate {
    /// Boots an isolate (and its context) from `snapshot`.
    ///
    /// # Safety
    /// `data` is handed to every op called in this isolate, so it must point to whatever the op
    /// table's dispatcher expects and stay valid until the isolate is dropped.
    pub unsafe fn new(
        snapshot: &'static [u8],
        heap_limit: usize,
        allow_codegen: bool,
        data: *mut c_void,
    ) -> Isolate {
        // SAFETY: the snapshot is 'static; the caller vouches for `data` (see above).
        let raw = unsafe {
            ffi::wkv8_isolate_new(
                snapshot.as_ptr(),
                snapshot.len(),
                heap_limit,
                allow_codegen as c_int,
                data,
            )
        };
        Isolate { raw }
    }

    pub fn terminate_handle(&self) -> TerminateHandle {
        TerminateHandle(self.raw)
    }

    pub fn cancel_terminate(&self) {
        // SAFETY: the isolate is alive (owned by self).
        unsafe { ffi::wkv8_isolate_cancel_terminate(self.raw) }
    }

    pub fn hit_heap_limit(&self) -> bool {
        // SAFETY: the isolate is alive.
        unsafe { ffi::wkv8_isolate_oom(self.raw) != 0 }
    }

    /// Runs V8's pending foreground tasks for this isolate without blocking.
    pub fn pump(&self) {
        // SAFETY: the isolate is alive and owned by this thread.
        unsafe { ffi::wkv8_isolate_pump(self.raw) }
    }

    /// Enters the isolate and its context and runs `f` with a fresh value stack.
    pub fn enter<R, F: FnOnce(&mut Scope) -> R>(&self, f: F) -> R {
        struct Call<F, R> {
            f: Option<F>,
            out: Option<R>,
        }
        extern "C" fn trampoline<F: FnOnce(&mut Scope) -> R, R>(
            s: *mut ffi::Scope,
            arg: *mut c_void,
        ) {
            // SAFETY: arg is the `Call` below, alive for the duration of wkv8_enter.
            let call = unsafe { &mut *(arg as *mut Call<F, R>) };
            let mut scope = Scope { raw: s };
            if let Some(f) = call.f.take() {
                // A panic must not unwind through C++ frames: catch it and re-raise after.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut scope)));
                match r {
                    Ok(v) => call.out = Some(v),
                    Err(_) => call.out = None,
                }
            }
        }
        let mut call = Call {
            f: Some(f),
            out: None,
        };
        // SAFETY: the trampoline matches the Call type and runs before wkv8_enter returns.
        unsafe {
            ffi::wkv8_enter(
                self.raw,
                trampoline::<F, R>,
                &mut call as *mut Call<F, R> as *mut c_void,
            )
        };
        call.out.expect("panic inside a V8 scope")
    }
}

impl Drop for Isolate {
    fn drop(&mut self) {
        // SAFETY: owned pointer, freed once.
        unsafe { ffi::wkv8_isolate_free(self.raw) }
    }
}

/// What kind of value sits at a stack slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Undefined,
    Null,
    Bool,
    Number,
    String,
    Function,
    Array,
    Bytes,
    Promise,
    Object,
    Other,
}

/// Module kinds a worker may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleKind {
    Js = 0,
    Text = 1,
    Json = 2,
    Data = 3,
}

/// Settled state of a promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromiseState {
    Pending,
    Fulfilled,
    Rejected,
}

/// The value stack of one entry into an isolate (or of one op call).
pub struct Scope {
    raw: *mut ffi::Scope,
}

impl Scope {
    pub fn top(&self) -> i32 {
        // SAFETY: raw is valid for the lifetime of this Scope (inside wkv8_enter / an op call).
        unsafe { ffi::wkv8_top(self.raw) }
    }
    pub fn settop(&mut self, n: i32) {
        // SAFETY: as above.
        unsafe { ffi::wkv8_settop(self.raw, n) }
    }
    pub fn dup(&mut self, idx: i32) {
        // SAFETY: as above; out-of-range indexes read as undefined.
        unsafe { ffi::wkv8_dup(self.raw, idx) }
    }
    pub fn push_undefined(&mut self) {
        // SAFETY: as above.
        unsafe { ffi::wkv8_push_undefined(self.raw) }
    }
    pub fn push_null(&mut self) {
        // SAFETY: as above.
        unsafe { ffi::wkv8_push_null(self.raw) }
    }
    pub fn push_bool(&mut self, v: bool) {
        // SAFETY: as above.
        unsafe { ffi::wkv8_push_bool(self.raw, v as c_int) }
    }
    pub fn push_number(&mut self, v: f64) {
        // SAFETY: as above.
        unsafe { ffi::wkv8_push_number(self.raw, v) }
    }
    pub fn push_str(&mut self, v: &str) {
        // SAFETY: pointer and length describe valid UTF-8 for the call.
        unsafe { ffi::wkv8_push_string(self.raw, v.as_ptr().cast(), v.len()) }
    }
    /// Pushes a new Uint8Array holding a copy of `v`.
    pub fn push_bytes(&mut self, v: &[u8]) {
        // SAFETY: pointer and length are valid for the call.
        unsafe { ffi::wkv8_push_bytes(self.raw, v.as_ptr(), v.len()) }
    }
    /// Pops `n` values into a new array.
    pub fn push_array(&mut self, n: i32) {
        // SAFETY: the shim clamps n to the stack size.
        unsafe { ffi::wkv8_push_array(self.raw, n) }
    }
    pub fn push_strings<S: AsRef<str>>(&mut self, items: &[S]) {
        for s in items {
            self.push_str(s.as_ref());
        }
        self.push_array(items.len() as i32);
    }
    /// Pushes a member of the bootstrap's private `internals` object.
    pub fn push_internal(&mut self, name: &str) {
        // SAFETY: pointer and length are valid for the call.
        unsafe { ffi::wkv8_push_internal(self.raw, name.as_ptr().cast(), name.len()) }
    }
    /// Pushes `stack[obj][name]` (undefined when absent or throwing).
    pub fn get(&mut self, obj: i32, name: &str) {
        // SAFETY: pointer and length are valid for the call.
        unsafe { ffi::wkv8_get(self.raw, obj, name.as_ptr().cast(), name.len()) }
    }
    pub fn get_index(&mut self, obj: i32, i: u32) {
        // SAFETY: raw is valid.
        unsafe { ffi::wkv8_get_index(self.raw, obj, i) }
    }
    /// Pops the top value into `stack[obj][name]`.
    pub fn set(&mut self, obj: i32, name: &str) {
        // SAFETY: pointer and length are valid for the call.
        unsafe { ffi::wkv8_set(self.raw, obj, name.as_ptr().cast(), name.len()) }
    }
    pub fn type_of(&self, idx: i32) -> Type {
        // SAFETY: raw is valid.
        match unsafe { ffi::wkv8_type(self.raw, idx) } {
            0 => Type::Undefined,
            1 => Type::Null,
            2 => Type::Bool,
            3 => Type::Number,
            4 => Type::String,
            5 => Type::Function,
            6 => Type::Array,
            7 => Type::Bytes,
            8 => Type::Promise,
            9 => Type::Object,
            _ => Type::Other,
        }
    }
    pub fn is_nullish(&self, idx: i32) -> bool {
        matches!(self.type_of(idx), Type::Undefined | Type::Null)
    }
    pub fn to_number(&self, idx: i32) -> f64 {
        // SAFETY: raw is valid.
        unsafe { ffi::wkv8_to_number(self.raw, idx) }
    }
    pub fn to_bool(&self, idx: i32) -> bool {
        // SAFETY: raw is valid.
        unsafe { ffi::wkv8_to_bool(self.raw, idx) != 0 }
    }
    /// ToString as UTF-8 (lone surrogates become U+FFFD).
    pub fn to_string(&self, idx: i32) -> String {
        let mut buf = Vec::new();
        // SAFETY: the sink is a Vec<u8>; V8 writes valid UTF-8 into it.
        unsafe { ffi::wkv8_to_utf8(self.raw, idx, vec_alloc, sink(&mut buf)) };
        String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }
    /// Borrows the bytes of an ArrayBuffer or view at `idx`. The slice is only valid while the
    /// value stays on the stack and JavaScript does not run.
    pub fn bytes(&mut self, idx: i32) -> Option<&mut [u8]> {
        let mut ptr = std::ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: raw is valid; out-pointers are locals.
        let ok = unsafe { ffi::wkv8_bytes(self.raw, idx, &mut ptr, &mut len) } != 0;
        if !ok {
            return None;
        }
        if ptr.is_null() || len == 0 {
            return Some(&mut []);
        }
        // SAFETY: the backing store is kept alive by the value on the stack, and no JS runs
        // while the borrow of self lasts.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    }
    pub fn array_length(&self, idx: i32) -> u32 {
        // SAFETY: raw is valid.
        unsafe { ffi::wkv8_array_length(self.raw, idx) }
    }
    /// Reads an array of strings.
    pub fn to_strings(&mut self, idx: i32) -> Vec<String> {
        let n = self.array_length(idx);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            self.get_index(idx, i);
            out.push(self.to_string(-1 + self.top()));
            self.settop(self.top() - 1);
        }
        out
    }
    /// Pushes the result when settled.
    pub fn promise_state(&mut self, idx: i32) -> PromiseState {
        // SAFETY: raw is valid.
        match unsafe { ffi::wkv8_promise_state(self.raw, idx) } {
            0 => PromiseState::Pending,
            1 => PromiseState::Fulfilled,
            _ => PromiseState::Rejected,
        }
    }
    /// Calls `stack[f]` with the top `argc` values; pushes the result on success.
    pub fn call(&mut self, f: i32, recv: Option<i32>, argc: i32) -> JsResult<()> {
        let mut exc = ffi::Exc::default();
        // SAFETY: raw is valid; exc is a local struct the shim may fill.
        let code = unsafe { ffi::wkv8_call(self.raw, f, recv.unwrap_or(-1), argc, &mut exc) };
        status(code, &mut exc)
    }
    /// Inside an op: makes the op throw a new `kind` error once it returns.
    pub fn throw(&mut self, kind: &str, msg: &str) {
        let kind = CString::new(kind).unwrap_or_default();
        // SAFETY: pointers are valid for the call.
        unsafe { ffi::wkv8_throw(self.raw, kind.as_ptr(), msg.as_ptr().cast(), msg.len()) }
    }
    pub fn run_microtasks(&mut self) {
        // SAFETY: raw is valid.
        unsafe { ffi::wkv8_microtasks(self.raw) }
    }
    /// Pushes an array of unhandled rejection reasons; returns how many.
    pub fn take_rejections(&mut self) -> usize {
        // SAFETY: raw is valid.
        unsafe { ffi::wkv8_take_rejections(self.raw) as usize }
    }
    /// V8-serialises `stack[idx]`; on failure the error is thrown when the op returns.
    pub fn serialize(&mut self, idx: i32) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut exc = ffi::Exc::default();
        // SAFETY: sink is a Vec<u8>; exc is a local.
        let ok = unsafe { ffi::wkv8_serialize(self.raw, idx, vec_alloc, sink(&mut out), &mut exc) };
        // SAFETY: releases whatever the shim filled.
        unsafe { ffi::wkv8_exc_clear(&mut exc) };
        (ok != 0).then_some(out)
    }
    pub fn deserialize(&mut self, data: &[u8]) -> Result<(), JsError> {
        let mut exc = ffi::Exc::default();
        // SAFETY: pointer and length are valid for the call.
        let ok = unsafe { ffi::wkv8_deserialize(self.raw, data.as_ptr(), data.len(), &mut exc) };
        if ok != 0 {
            Ok(())
        } else {
            Err(JsError::take(&mut exc))
        }
    }

    /// Compiles one module of the worker. Returns a fresh code cache when `cache` was absent or
    /// rejected.
    pub fn add_module(
        &mut self,
        name: &str,
        kind: ModuleKind,
        source: &[u8],
        cache: Option<&[u8]>,
    ) -> JsResult<Option<Vec<u8>>> {
        let mut out = Vec::new();
        let mut rejected: c_int = 0;
        let mut exc = ffi::Exc::default();
        let (cp, cl) = cache.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
        // SAFETY: all pointers are valid for the call; sink is a Vec<u8>.
        let code = unsafe {
            ffi::wkv8_module_add(
                self.raw,
                name.as_ptr().cast(),
                name.len(),
                kind as c_int,
                source.as_ptr(),
                source.len(),
                cp,
                cl,
                vec_alloc,
                sink(&mut out),
                &mut rejected,
                &mut exc,
            )
        };
        status(code, &mut exc)?;
        Ok((!out.is_empty()).then_some(out))
    }

    /// Instantiates and evaluates a module; pushes its evaluation promise, then its namespace.
    pub fn run_module(&mut self, name: &str) -> JsResult<()> {
        let mut exc = ffi::Exc::default();
        // SAFETY: pointers valid for the call.
        let code =
            unsafe { ffi::wkv8_module_run(self.raw, name.as_ptr().cast(), name.len(), &mut exc) };
        status(code, &mut exc)
    }

    /// Compiles and runs a classic script; pushes its completion value. Returns a fresh code
    /// cache when none was given or it was rejected.
    pub fn run_script(
        &mut self,
        name: &str,
        source: &str,
        cache: Option<&[u8]>,
    ) -> JsResult<Option<Vec<u8>>> {
        let mut out = Vec::new();
        let mut rejected: c_int = 0;
        let mut exc = ffi::Exc::default();
        let (cp, cl) = cache.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
        // SAFETY: all pointers are valid for the call; sink is a Vec<u8>.
        let code = unsafe {
            ffi::wkv8_script_run(
                self.raw,
                name.as_ptr().cast(),
                name.len(),
                source.as_ptr().cast(),
                source.len(),
                cp,
                cl,
                vec_alloc,
                sink(&mut out),
                &mut rejected,
                &mut exc,
            )
        };
        status(code, &mut exc)?;
        Ok((!out.is_empty()).then_some(out))
    }
}
