// Internal C interface over V8's C++ API, used only by core/src/v8. Never part of the public ABI.
//
// Values cross through a per-call value stack (like Lua's C API): a `wkv8_scope` lives on the C++
// stack inside a HandleScope, Rust pushes and reads values by index, and nothing outlives the
// scope, so no persistent handle is created per value.
#ifndef WKV8_H
#define WKV8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wkv8_isolate wkv8_isolate;
typedef struct wkv8_scope wkv8_scope;

// Filled when a call into JS throws. Strings are malloc'ed; release with wkv8_exc_clear.
typedef struct {
  char* name;
  char* message;
  char* stack;
  char* resource;
  int line;    // 1-based, 0 when unknown
  int column;  // 1-based, 0 when unknown
} wkv8_exc;

enum {
  WKV8_OK = 0,
  WKV8_EXCEPTION = 1,
  WKV8_TERMINATED = 2,
};

enum {
  WKV8_T_UNDEFINED = 0,
  WKV8_T_NULL,
  WKV8_T_BOOL,
  WKV8_T_NUMBER,
  WKV8_T_STRING,
  WKV8_T_FUNCTION,
  WKV8_T_ARRAY,
  WKV8_T_BYTES,  // ArrayBuffer or ArrayBufferView
  WKV8_T_PROMISE,
  WKV8_T_OBJECT,
  WKV8_T_OTHER,
};

enum {
  WKV8_MODULE_JS = 0,
  WKV8_MODULE_TEXT = 1,
  WKV8_MODULE_JSON = 2,
  WKV8_MODULE_DATA = 3,
};

// Rust callbacks, registered once by wkv8_init.
// An op call: `data` is the isolate's embedder data, `op` the index given at snapshot creation.
// Arguments are at stack indexes [0, argc); the op pushes its result (or nothing for undefined).
typedef void (*wkv8_op_cb)(void* data, wkv8_scope* s, uint32_t op, int argc);
// Growable output buffer owned by Rust: returns a pointer to `len` writable bytes.
typedef uint8_t* (*wkv8_alloc_cb)(void* sink, size_t len);

void wkv8_init(int worker_threads, const char* flags, wkv8_op_cb op_cb);
const char* wkv8_version(void);

// Builds a startup snapshot: creates `ops` (one native function per name), then runs each
// bootstrap script, whose completion value must be a function called as f(ops, internals).
// `internals` is kept in the snapshot and reachable through wkv8_push_internal.
// Returns the blob length and writes it through `alloc`; 0 and `exc` filled on failure.
size_t wkv8_snapshot_create(const char* const* op_names, size_t n_ops, const char* const* names,
                            const char* const* sources, size_t n_scripts, wkv8_alloc_cb alloc,
                            void* sink, wkv8_exc* exc);

// An isolate with one context created from the snapshot (which must outlive the isolate).
wkv8_isolate* wkv8_isolate_new(const uint8_t* snapshot, size_t snapshot_len, size_t heap_limit,
                               int allow_codegen, void* data);
void wkv8_isolate_free(wkv8_isolate* iso);
// Thread-safe.
void wkv8_isolate_terminate(wkv8_isolate* iso);
void wkv8_isolate_cancel_terminate(wkv8_isolate* iso);
// Set once the heap came close to its limit; the running script was terminated.
int wkv8_isolate_oom(wkv8_isolate* iso);
// Runs pending platform tasks for this isolate (GC finalisation, wasm). Never blocks.
void wkv8_isolate_pump(wkv8_isolate* iso);

// Opens isolate, handle and context scopes, then calls fn(scope, arg).
typedef void (*wkv8_scope_fn)(wkv8_scope* s, void* arg);
void wkv8_enter(wkv8_isolate* iso, wkv8_scope_fn fn, void* arg);

// Value stack.
int wkv8_top(wkv8_scope* s);
void wkv8_settop(wkv8_scope* s, int n);
void wkv8_dup(wkv8_scope* s, int idx);
void wkv8_push_undefined(wkv8_scope* s);
void wkv8_push_null(wkv8_scope* s);
void wkv8_push_bool(wkv8_scope* s, int v);
void wkv8_push_number(wkv8_scope* s, double v);
void wkv8_push_string(wkv8_scope* s, const char* p, size_t len);
void wkv8_push_bytes(wkv8_scope* s, const uint8_t* p, size_t len);  // a new Uint8Array
void wkv8_push_array(wkv8_scope* s, int n);                          // pops n values into an array
void wkv8_push_internal(wkv8_scope* s, const char* name, size_t len);
void wkv8_get(wkv8_scope* s, int obj, const char* name, size_t len);  // pushes obj[name]
void wkv8_get_index(wkv8_scope* s, int obj, uint32_t i);             // pushes obj[i]
void wkv8_set(wkv8_scope* s, int obj, const char* name, size_t len);  // pops value into obj[name]

int wkv8_type(wkv8_scope* s, int idx);
double wkv8_to_number(wkv8_scope* s, int idx);
int wkv8_to_bool(wkv8_scope* s, int idx);
// Converts with ToString (non-throwing: "" on failure) and writes UTF-8 through alloc.
void wkv8_to_utf8(wkv8_scope* s, int idx, wkv8_alloc_cb alloc, void* sink);
// Borrowed view into an ArrayBuffer/View's memory; valid while the value is on the stack.
int wkv8_bytes(wkv8_scope* s, int idx, uint8_t** ptr, size_t* len);
uint32_t wkv8_array_length(wkv8_scope* s, int idx);
// Promise state: 0 pending, 1 fulfilled, 2 rejected. Pushes the result when settled.
int wkv8_promise_state(wkv8_scope* s, int idx);

// Calls stack[fn] with `this` = stack[recv] (recv < 0: undefined) and the top argc values as
// arguments; pops the arguments and pushes the result on WKV8_OK.
int wkv8_call(wkv8_scope* s, int fn, int recv, int argc, wkv8_exc* exc);
// Inside an op: throws a new error of `kind` ("TypeError", "RangeError", "Error", ...).
void wkv8_throw(wkv8_scope* s, const char* kind, const char* msg, size_t len);
void wkv8_microtasks(wkv8_scope* s);
// Pushes an array of the reasons of promises rejected without a handler since the last call.
int wkv8_take_rejections(wkv8_scope* s);

// Structured clone through V8's serializer. Serialize returns 0 and throws on failure.
int wkv8_serialize(wkv8_scope* s, int idx, wkv8_alloc_cb alloc, void* sink, wkv8_exc* exc);
int wkv8_deserialize(wkv8_scope* s, const uint8_t* p, size_t len, wkv8_exc* exc);

// Modules. Registers (compiles) one module of the worker under `name`. For JS modules a code
// cache may be given; a fresh one is written through alloc when none was given or it was
// rejected (*cache_rejected set to 1 then).
int wkv8_module_add(wkv8_scope* s, const char* name, size_t name_len, int kind,
                    const uint8_t* src, size_t src_len, const uint8_t* cache, size_t cache_len,
                    wkv8_alloc_cb alloc, void* sink, int* cache_rejected, wkv8_exc* exc);
// Instantiates and evaluates a registered module; pushes the evaluation promise then namespace.
int wkv8_module_run(wkv8_scope* s, const char* name, size_t name_len, wkv8_exc* exc);
// Compiles and runs a classic script; pushes its completion value.
int wkv8_script_run(wkv8_scope* s, const char* name, size_t name_len, const char* src,
                    size_t src_len, const uint8_t* cache, size_t cache_len, wkv8_alloc_cb alloc,
                    void* sink, int* cache_rejected, wkv8_exc* exc);

void wkv8_exc_clear(wkv8_exc* exc);

#ifdef __cplusplus
}
#endif
#endif
