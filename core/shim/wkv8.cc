// Thin C layer over V8's C++ API. See wkv8.h for the contract; V8 10.2 is the oldest supported.
#include "wkv8.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace v8;

namespace {

// Never destroyed: executor threads may still be inside V8 while static destructors run at exit.
Platform* g_platform = nullptr;
wkv8_op_cb g_op_cb = nullptr;

void OpTrampoline(const FunctionCallbackInfo<Value>& info);

// Every native callback reachable from the snapshot must be listed here.
const intptr_t g_external_refs[] = {
    reinterpret_cast<intptr_t>(OpTrampoline),
    0,
};

char* dup_str(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) {
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = 0;
  }
  return p;
}

// Counts ArrayBuffer memory so one worker cannot exhaust the process outside its V8 heap.
class CountingAllocator : public ArrayBuffer::Allocator {
 public:
  explicit CountingAllocator(size_t limit) : limit_(limit) {}
  void* Allocate(size_t n) override {
    if (!Reserve(n)) return nullptr;
    void* p = std::calloc(n ? n : 1, 1);
    if (!p) used_ -= n;
    return p;
  }
  void* AllocateUninitialized(size_t n) override {
    if (!Reserve(n)) return nullptr;
    void* p = std::malloc(n ? n : 1);
    if (!p) used_ -= n;
    return p;
  }
  void Free(void* p, size_t n) override {
    std::free(p);
    used_ -= n;
  }

 private:
  bool Reserve(size_t n) {
    size_t now = used_.fetch_add(n) + n;
    if (limit_ && now > limit_) {
      used_ -= n;
      return false;
    }
    return true;
  }
  size_t limit_;
  std::atomic<size_t> used_{0};
};

struct ModuleEntry {
  std::string name;
  Global<Module> module;
  Global<Value> synthetic_default;  // text, JSON and data modules
};

}  // namespace

struct wkv8_isolate {
  Isolate* iso = nullptr;
  StartupData blob{};  // V8 keeps a pointer to this descriptor for the isolate's lifetime
  std::unique_ptr<CountingAllocator> allocator;
  Global<Context> context;
  Global<Object> internals;
  void* data = nullptr;
  std::atomic<bool> oom{false};
  int heap_limit_hits = 0;
  std::vector<std::unique_ptr<ModuleEntry>> modules;
  std::unordered_map<std::string, ModuleEntry*> modules_by_name;
  std::vector<std::pair<Global<Promise>, Global<Value>>> rejections;
};

struct wkv8_scope {
  Isolate* iso;
  Local<Context> ctx;
  wkv8_isolate* w;
  std::vector<Local<Value>> stack;
  bool throw_pending = false;
  Local<Value> thrown;
};

namespace {

wkv8_isolate* Wrapper(Isolate* iso) { return static_cast<wkv8_isolate*>(iso->GetData(0)); }

Local<String> Str(Isolate* iso, const std::string& s) {
  return String::NewFromUtf8(iso, s.data(), NewStringType::kNormal, static_cast<int>(s.size()))
      .ToLocalChecked();
}

std::string ToStd(Isolate* iso, Local<Value> v) {
  if (v.IsEmpty()) return {};
  String::Utf8Value u(iso, v);
  return *u ? std::string(*u, u.length()) : std::string();
}

Local<Value> At(wkv8_scope* s, int idx) {
  if (idx < 0 || static_cast<size_t>(idx) >= s->stack.size()) return Undefined(s->iso);
  return s->stack[idx];
}

void FillException(Isolate* iso, Local<Context> ctx, TryCatch& tc, wkv8_exc* exc) {
  if (!exc) return;
  TryCatch inner(iso);
  Local<Value> e = tc.Exception();
  std::string name, message, stack;
  if (!e.IsEmpty() && e->IsObject()) {
    Local<Object> o = e.As<Object>();
    Local<Value> v;
    if (o->Get(ctx, Str(iso, "name")).ToLocal(&v) && v->IsString()) name = ToStd(iso, v);
    if (o->Get(ctx, Str(iso, "message")).ToLocal(&v) && !v->IsUndefined()) {
      message = ToStd(iso, v);
    } else {
      message = ToStd(iso, e);
    }
    if (o->Get(ctx, Str(iso, "stack")).ToLocal(&v) && v->IsString()) stack = ToStd(iso, v);
  } else if (!e.IsEmpty()) {
    message = ToStd(iso, e);
  }
  exc->name = dup_str(name);
  exc->message = dup_str(message);
  exc->stack = dup_str(stack);
  Local<Message> m = tc.Message();
  if (!m.IsEmpty()) {
    exc->resource = dup_str(ToStd(iso, m->GetScriptResourceName()));
    exc->line = m->GetLineNumber(ctx).FromMaybe(0);
    exc->column = m->GetStartColumn(ctx).FromMaybe(-1) + 1;
  } else {
    exc->resource = dup_str("");
  }
}

// Called by V8 on a thread running the isolate when the heap is about to run out: stop the
// script and give V8 enough room to unwind instead of aborting the process.
size_t NearHeapLimit(void* data, size_t current, size_t initial) {
  auto* w = static_cast<wkv8_isolate*>(data);
  w->oom = true;
  w->iso->TerminateExecution();
  w->heap_limit_hits++;
  return current + (w->heap_limit_hits == 1 ? current : initial);
}

void PromiseRejected(PromiseRejectMessage msg) {
  Local<Promise> p = msg.GetPromise();
  Isolate* iso = p->GetIsolate();
  wkv8_isolate* w = Wrapper(iso);
  if (!w) return;
  switch (msg.GetEvent()) {
    case kPromiseRejectWithNoHandler: {
      Local<Value> reason = msg.GetValue();
      if (reason.IsEmpty()) reason = Undefined(iso);
      w->rejections.emplace_back(Global<Promise>(iso, p), Global<Value>(iso, reason));
      break;
    }
    case kPromiseHandlerAddedAfterReject:
      for (auto it = w->rejections.begin(); it != w->rejections.end(); ++it) {
        if (it->first.Get(iso) == p) {
          w->rejections.erase(it);
          break;
        }
      }
      break;
    default:
      break;
  }
}

bool NoWasmCodegen(Local<Context>, Local<String>) { return false; }

// Resolves `spec` against the module name `referrer` ("src/a.js" + "./b.js" -> "src/b.js").
std::string ResolveName(const std::string& referrer, const std::string& spec) {
  bool relative = spec.rfind("./", 0) == 0 || spec.rfind("../", 0) == 0;
  bool absolute = !spec.empty() && spec[0] == '/';
  if (!relative && !absolute) return spec;
  std::string joined;
  if (relative) {
    size_t slash = referrer.rfind('/');
    joined = (slash == std::string::npos ? std::string() : referrer.substr(0, slash + 1)) + spec;
  } else {
    joined = spec;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    std::string part = joined.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); i++) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

ModuleEntry* FindModule(wkv8_isolate* w, Local<Module> m) {
  for (auto& e : w->modules) {
    if (e->module.Get(w->iso) == m) return e.get();
  }
  return nullptr;
}

ModuleEntry* LookupOrThrow(Isolate* iso, const std::string& referrer, const std::string& spec) {
  wkv8_isolate* w = Wrapper(iso);
  std::string name = ResolveName(referrer, spec);
  auto it = w->modules_by_name.find(name);
  if (it != w->modules_by_name.end()) return it->second;
  std::string msg = "No such module \"" + name + "\".\n  imported from \"" + referrer + "\"";
  iso->ThrowException(Exception::Error(Str(iso, msg)));
  return nullptr;
}

MaybeLocal<Module> ResolveModule(Local<Context> ctx, Local<String> specifier, Local<FixedArray>,
                                 Local<Module> referrer) {
  Isolate* iso = ctx->GetIsolate();
  ModuleEntry* from = FindModule(Wrapper(iso), referrer);
  ModuleEntry* e = LookupOrThrow(iso, from ? from->name : "", ToStd(iso, specifier));
  if (!e) return {};
  return e->module.Get(iso);
}

MaybeLocal<Value> SyntheticSteps(Local<Context> ctx, Local<Module> module) {
  Isolate* iso = ctx->GetIsolate();
  ModuleEntry* e = FindModule(Wrapper(iso), module);
  if (!e) return {};
  if (module->SetSyntheticModuleExport(iso, Str(iso, "default"), e->synthetic_default.Get(iso))
          .IsNothing()) {
    return {};
  }
  Local<Promise::Resolver> r;
  if (!Promise::Resolver::New(ctx).ToLocal(&r)) return {};
  r->Resolve(ctx, Undefined(iso)).Check();
  return r->GetPromise();
}

void ReturnNamespace(const FunctionCallbackInfo<Value>& info) {
  info.GetReturnValue().Set(info.Data());
}

// import() from any module or script of the worker: resolve among the worker's registered
// modules, evaluate, and settle with the namespace.
MaybeLocal<Promise> DynamicImport(Local<Context> ctx, Local<Data>, Local<Value> resource_name,
                                  Local<String> specifier, Local<FixedArray>) {
  Isolate* iso = ctx->GetIsolate();
  Local<Promise::Resolver> resolver;
  if (!Promise::Resolver::New(ctx).ToLocal(&resolver)) return {};
  TryCatch tc(iso);
  ModuleEntry* e = LookupOrThrow(iso, ToStd(iso, resource_name), ToStd(iso, specifier));
  Local<Module> m;
  Local<Value> result;
  if (e) {
    m = e->module.Get(iso);
    if (m->GetStatus() == Module::kUninstantiated &&
        m->InstantiateModule(ctx, ResolveModule).IsNothing()) {
      e = nullptr;
    } else if (!m->Evaluate(ctx).ToLocal(&result)) {
      e = nullptr;
    }
  }
  if (!e) {
    if (tc.HasTerminated()) return {};
    resolver->Reject(ctx, tc.Exception()).Check();
    return resolver->GetPromise();
  }
  Local<Value> ns = m->GetModuleNamespace();
  if (result->IsPromise()) {
    Local<Function> then;
    if (!Function::New(ctx, ReturnNamespace, ns).ToLocal(&then)) return {};
    return result.As<Promise>()->Then(ctx, then);
  }
  resolver->Resolve(ctx, ns).Check();
  return resolver->GetPromise();
}

void OpTrampoline(const FunctionCallbackInfo<Value>& info) {
  Isolate* iso = info.GetIsolate();
  wkv8_isolate* w = Wrapper(iso);
  wkv8_scope s{iso, iso->GetCurrentContext(), w, {}, false, {}};
  int argc = info.Length();
  s.stack.reserve(argc + 2);
  for (int i = 0; i < argc; i++) s.stack.push_back(info[i]);
  g_op_cb(w ? w->data : nullptr, &s, static_cast<uint32_t>(info.Data().As<Integer>()->Value()),
          argc);
  if (s.throw_pending) {
    iso->ThrowException(s.thrown);
  } else if (static_cast<int>(s.stack.size()) > argc) {
    info.GetReturnValue().Set(s.stack.back());
  }
}

// Serializer delegate: DataCloneError as an Error named "DataCloneError", like DOMException.
class CloneDelegate : public ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(Isolate* iso) : iso_(iso) {}
  void ThrowDataCloneError(Local<String> message) override {
    Local<Value> err = Exception::TypeError(message);
    Local<Context> ctx = iso_->GetCurrentContext();
    err.As<Object>()->Set(ctx, Str(iso_, "name"), Str(iso_, "DataCloneError")).Check();
    iso_->ThrowException(err);
  }

 private:
  Isolate* iso_;
};

bool StoreCache(ScriptCompiler::CachedData* cd, wkv8_alloc_cb alloc, void* sink) {
  if (!cd) return false;
  if (alloc && cd->length > 0) {
    uint8_t* out = alloc(sink, cd->length);
    if (out) std::memcpy(out, cd->data, cd->length);
  }
  delete cd;
  return true;
}

}  // namespace

extern "C" {

void wkv8_init(int worker_threads, const char* flags, wkv8_op_cb op_cb) {
  g_op_cb = op_cb;
  if (flags && *flags) V8::SetFlagsFromString(flags);
  g_platform = platform::NewDefaultPlatform(worker_threads).release();
  V8::InitializePlatform(g_platform);
  V8::Initialize();
}

const char* wkv8_version(void) { return V8::GetVersion(); }

size_t wkv8_snapshot_create(const char* const* op_names, size_t n_ops, const char* const* names,
                            const char* const* sources, size_t n_scripts, wkv8_alloc_cb alloc,
                            void* sink, wkv8_exc* exc) {
  SnapshotCreator creator(g_external_refs);
  Isolate* iso = creator.GetIsolate();
  bool ok = true;
  {
    HandleScope hs(iso);
    Local<Context> ctx = Context::New(iso);
    Context::Scope cs(ctx);
    Local<Object> ops = Object::New(iso);
    for (size_t i = 0; i < n_ops; i++) {
      Local<FunctionTemplate> t = FunctionTemplate::New(
          iso, OpTrampoline, Integer::NewFromUnsigned(iso, static_cast<uint32_t>(i)),
          Local<Signature>(), 0, ConstructorBehavior::kThrow);
      Local<Function> f = t->GetFunction(ctx).ToLocalChecked();
      Local<String> name = Str(iso, op_names[i]);
      f->SetName(name);
      ops->Set(ctx, name, f).Check();
    }
    Local<Object> internals = Object::New(iso);
    for (size_t i = 0; ok && i < n_scripts; i++) {
      TryCatch tc(iso);
      ScriptOrigin origin(iso, Str(iso, names[i]));
      Local<Script> script;
      Local<Value> fn, ignored;
      Local<Value> args[] = {ops, internals};
      ok = Script::Compile(ctx, Str(iso, sources[i]), &origin).ToLocal(&script) &&
           script->Run(ctx).ToLocal(&fn) && fn->IsFunction() &&
           fn.As<Function>()->Call(ctx, Undefined(iso), 2, args).ToLocal(&ignored);
      if (!ok) {
        if (tc.HasCaught()) {
          FillException(iso, ctx, tc, exc);
        } else if (exc) {
          exc->name = dup_str("Error");
          exc->message = dup_str(std::string(names[i]) + " did not evaluate to a function");
        }
      }
    }
    if (ok) {
      creator.SetDefaultContext(ctx);
      creator.AddData(ctx, internals);
    }
  }
  if (!ok) {
    // SnapshotCreator requires a default context even when we give up.
    HandleScope hs(iso);
    creator.SetDefaultContext(Context::New(iso));
    creator.CreateBlob(SnapshotCreator::FunctionCodeHandling::kClear);
    return 0;
  }
  StartupData blob = creator.CreateBlob(SnapshotCreator::FunctionCodeHandling::kKeep);
  size_t len = static_cast<size_t>(blob.raw_size);
  uint8_t* out = alloc(sink, len);
  if (out) std::memcpy(out, blob.data, len);
  delete[] blob.data;
  return len;
}

wkv8_isolate* wkv8_isolate_new(const uint8_t* snapshot, size_t snapshot_len, size_t heap_limit,
                               int allow_codegen, void* data) {
  auto* w = new wkv8_isolate();
  w->data = data;
  w->allocator = std::make_unique<CountingAllocator>(heap_limit);
  w->blob.data = reinterpret_cast<const char*>(snapshot);
  w->blob.raw_size = static_cast<int>(snapshot_len);
  Isolate::CreateParams params;
  params.snapshot_blob = &w->blob;
  params.external_references = g_external_refs;
  params.array_buffer_allocator = w->allocator.get();
  if (heap_limit) params.constraints.ConfigureDefaultsFromHeapSize(0, heap_limit);
  w->iso = Isolate::New(params);
  Isolate* iso = w->iso;
  iso->SetData(0, w);
  iso->AddNearHeapLimitCallback(NearHeapLimit, w);
  iso->SetMicrotasksPolicy(MicrotasksPolicy::kExplicit);
  iso->SetPromiseRejectCallback(PromiseRejected);
  iso->SetHostImportModuleDynamicallyCallback(DynamicImport);
  iso->SetAllowWasmCodeGenerationCallback(NoWasmCodegen);
  {
    Isolate::Scope isc(iso);
    HandleScope hs(iso);
    Local<Context> ctx = Context::New(iso);
    if (!allow_codegen) ctx->AllowCodeGenerationFromStrings(false);
    Local<Object> internals;
    if (!ctx->GetDataFromSnapshotOnce<Object>(0).ToLocal(&internals)) internals = Object::New(iso);
    w->internals.Reset(iso, internals);
    w->context.Reset(iso, ctx);
  }
  return w;
}

void wkv8_isolate_free(wkv8_isolate* w) {
  if (!w) return;
  {
    Isolate::Scope isc(w->iso);
    w->rejections.clear();
    w->modules_by_name.clear();
    w->modules.clear();
    w->internals.Reset();
    w->context.Reset();
  }
  w->iso->Dispose();
  delete w;
}

void wkv8_isolate_terminate(wkv8_isolate* w) { w->iso->TerminateExecution(); }
void wkv8_isolate_cancel_terminate(wkv8_isolate* w) { w->iso->CancelTerminateExecution(); }
int wkv8_isolate_oom(wkv8_isolate* w) { return w->oom ? 1 : 0; }

void wkv8_isolate_pump(wkv8_isolate* w) {
  while (platform::PumpMessageLoop(g_platform, w->iso,
                                   platform::MessageLoopBehavior::kDoNotWait)) {
  }
}

void wkv8_enter(wkv8_isolate* w, wkv8_scope_fn fn, void* arg) {
  Isolate::Scope isc(w->iso);
  HandleScope hs(w->iso);
  Local<Context> ctx = w->context.Get(w->iso);
  Context::Scope cs(ctx);
  wkv8_scope s{w->iso, ctx, w, {}, false, {}};
  s.stack.reserve(16);
  fn(&s, arg);
}

int wkv8_top(wkv8_scope* s) { return static_cast<int>(s->stack.size()); }

void wkv8_settop(wkv8_scope* s, int n) {
  if (n >= 0 && static_cast<size_t>(n) < s->stack.size()) s->stack.resize(n);
}

void wkv8_dup(wkv8_scope* s, int idx) { s->stack.push_back(At(s, idx)); }
void wkv8_push_undefined(wkv8_scope* s) { s->stack.push_back(Undefined(s->iso)); }
void wkv8_push_null(wkv8_scope* s) { s->stack.push_back(Null(s->iso)); }
void wkv8_push_bool(wkv8_scope* s, int v) { s->stack.push_back(Boolean::New(s->iso, v != 0)); }
void wkv8_push_number(wkv8_scope* s, double v) { s->stack.push_back(Number::New(s->iso, v)); }

void wkv8_push_string(wkv8_scope* s, const char* p, size_t len) {
  Local<String> str;
  if (String::NewFromUtf8(s->iso, p, NewStringType::kNormal, static_cast<int>(len))
          .ToLocal(&str)) {
    s->stack.push_back(str);
  } else {
    s->stack.push_back(Undefined(s->iso));
  }
}

void wkv8_push_bytes(wkv8_scope* s, const uint8_t* p, size_t len) {
  void* mem = std::malloc(len ? len : 1);
  if (!mem) {
    s->stack.push_back(Undefined(s->iso));
    return;
  }
  if (len) std::memcpy(mem, p, len);
  std::shared_ptr<BackingStore> store = ArrayBuffer::NewBackingStore(
      mem, len, [](void* data, size_t, void*) { std::free(data); }, nullptr);
  Local<ArrayBuffer> ab = ArrayBuffer::New(s->iso, std::move(store));
  s->stack.push_back(Uint8Array::New(ab, 0, len));
}

void wkv8_push_array(wkv8_scope* s, int n) {
  if (n < 0 || static_cast<size_t>(n) > s->stack.size()) n = 0;
  Local<Value>* items = s->stack.data() + (s->stack.size() - n);
  Local<Array> arr = Array::New(s->iso, items, n);
  s->stack.resize(s->stack.size() - n);
  s->stack.push_back(arr);
}

void wkv8_push_internal(wkv8_scope* s, const char* name, size_t len) {
  Local<Object> internals = s->w->internals.Get(s->iso);
  s->stack.push_back(internals);
  wkv8_get(s, static_cast<int>(s->stack.size()) - 1, name, len);
  s->stack.erase(s->stack.end() - 2);
}

void wkv8_get(wkv8_scope* s, int obj, const char* name, size_t len) {
  Local<Value> o = At(s, obj);
  Local<Value> v;
  TryCatch tc(s->iso);
  Local<String> key;
  if (!o->IsObject() ||
      !String::NewFromUtf8(s->iso, name, NewStringType::kNormal, static_cast<int>(len))
           .ToLocal(&key) ||
      !o.As<Object>()->Get(s->ctx, key).ToLocal(&v)) {
    v = Undefined(s->iso);
  }
  s->stack.push_back(v);
}

void wkv8_get_index(wkv8_scope* s, int obj, uint32_t i) {
  Local<Value> o = At(s, obj);
  Local<Value> v;
  TryCatch tc(s->iso);
  if (!o->IsObject() || !o.As<Object>()->Get(s->ctx, i).ToLocal(&v)) v = Undefined(s->iso);
  s->stack.push_back(v);
}

void wkv8_set(wkv8_scope* s, int obj, const char* name, size_t len) {
  if (s->stack.empty()) return;
  Local<Value> v = s->stack.back();
  s->stack.pop_back();
  Local<Value> o = At(s, obj);
  Local<String> key;
  TryCatch tc(s->iso);
  if (o->IsObject() &&
      String::NewFromUtf8(s->iso, name, NewStringType::kNormal, static_cast<int>(len))
          .ToLocal(&key)) {
    o.As<Object>()->Set(s->ctx, key, v).FromMaybe(false);
  }
}

int wkv8_type(wkv8_scope* s, int idx) {
  Local<Value> v = At(s, idx);
  if (v->IsUndefined()) return WKV8_T_UNDEFINED;
  if (v->IsNull()) return WKV8_T_NULL;
  if (v->IsBoolean()) return WKV8_T_BOOL;
  if (v->IsNumber()) return WKV8_T_NUMBER;
  if (v->IsString()) return WKV8_T_STRING;
  if (v->IsFunction()) return WKV8_T_FUNCTION;
  if (v->IsArray()) return WKV8_T_ARRAY;
  if (v->IsArrayBufferView() || v->IsArrayBuffer()) return WKV8_T_BYTES;
  if (v->IsPromise()) return WKV8_T_PROMISE;
  if (v->IsObject()) return WKV8_T_OBJECT;
  return WKV8_T_OTHER;
}

double wkv8_to_number(wkv8_scope* s, int idx) {
  TryCatch tc(s->iso);
  return At(s, idx)->NumberValue(s->ctx).FromMaybe(0.0);
}

int wkv8_to_bool(wkv8_scope* s, int idx) { return At(s, idx)->BooleanValue(s->iso) ? 1 : 0; }

void wkv8_to_utf8(wkv8_scope* s, int idx, wkv8_alloc_cb alloc, void* sink) {
  Local<Value> v = At(s, idx);
  Local<String> str;
  if (v->IsString()) {
    str = v.As<String>();
  } else {
    TryCatch tc(s->iso);
    if (!v->ToString(s->ctx).ToLocal(&str)) return;
  }
  int len = str->Utf8Length(s->iso);
  uint8_t* out = alloc(sink, static_cast<size_t>(len));
  if (!out || len == 0) return;
  str->WriteUtf8(s->iso, reinterpret_cast<char*>(out), len, nullptr,
                 String::NO_NULL_TERMINATION | String::REPLACE_INVALID_UTF8);
}

int wkv8_bytes(wkv8_scope* s, int idx, uint8_t** ptr, size_t* len) {
  Local<Value> v = At(s, idx);
  if (v->IsArrayBufferView()) {
    Local<ArrayBufferView> view = v.As<ArrayBufferView>();
    std::shared_ptr<BackingStore> store = view->Buffer()->GetBackingStore();
    *ptr = static_cast<uint8_t*>(store->Data()) + view->ByteOffset();
    *len = view->ByteLength();
    if (!store->Data()) *ptr = nullptr;
    return 1;
  }
  if (v->IsArrayBuffer()) {
    std::shared_ptr<BackingStore> store = v.As<ArrayBuffer>()->GetBackingStore();
    *ptr = static_cast<uint8_t*>(store->Data());
    *len = store->ByteLength();
    return 1;
  }
  *ptr = nullptr;
  *len = 0;
  return 0;
}

uint32_t wkv8_array_length(wkv8_scope* s, int idx) {
  Local<Value> v = At(s, idx);
  return v->IsArray() ? v.As<Array>()->Length() : 0;
}

int wkv8_promise_state(wkv8_scope* s, int idx) {
  Local<Value> v = At(s, idx);
  if (!v->IsPromise()) {
    s->stack.push_back(v);
    return 1;
  }
  Local<Promise> p = v.As<Promise>();
  switch (p->State()) {
    case Promise::kPending:
      return 0;
    case Promise::kFulfilled:
      s->stack.push_back(p->Result());
      return 1;
    case Promise::kRejected:
      p->MarkAsHandled();
      s->stack.push_back(p->Result());
      return 2;
  }
  return 0;
}

int wkv8_call(wkv8_scope* s, int fn, int recv, int argc, wkv8_exc* exc) {
  Isolate* iso = s->iso;
  if (argc < 0 || static_cast<size_t>(argc) > s->stack.size()) argc = 0;
  std::vector<Local<Value>> args(s->stack.end() - argc, s->stack.end());
  s->stack.resize(s->stack.size() - argc);
  Local<Value> f = At(s, fn);
  Local<Value> self = recv < 0 ? Local<Value>(Undefined(iso)) : At(s, recv);
  TryCatch tc(iso);
  Local<Value> result;
  if (!f->IsFunction()) {
    iso->ThrowException(Exception::TypeError(Str(iso, "not a function")));
  } else if (f.As<Function>()->Call(s->ctx, self, argc, args.data()).ToLocal(&result)) {
    s->stack.push_back(result);
    return WKV8_OK;
  }
  if (tc.HasTerminated() || iso->IsExecutionTerminating()) return WKV8_TERMINATED;
  FillException(iso, s->ctx, tc, exc);
  return WKV8_EXCEPTION;
}

void wkv8_throw(wkv8_scope* s, const char* kind, const char* msg, size_t len) {
  Local<String> m;
  if (!String::NewFromUtf8(s->iso, msg, NewStringType::kNormal, static_cast<int>(len))
           .ToLocal(&m)) {
    m = Str(s->iso, "error");
  }
  std::string k = kind ? kind : "Error";
  Local<Value> e;
  if (k == "TypeError") {
    e = Exception::TypeError(m);
  } else if (k == "RangeError") {
    e = Exception::RangeError(m);
  } else if (k == "SyntaxError") {
    e = Exception::SyntaxError(m);
  } else {
    e = Exception::Error(m);
    if (k != "Error") {
      e.As<Object>()->Set(s->ctx, Str(s->iso, "name"), Str(s->iso, k)).FromMaybe(false);
    }
  }
  s->throw_pending = true;
  s->thrown = e;
}

void wkv8_microtasks(wkv8_scope* s) { s->iso->PerformMicrotaskCheckpoint(); }

int wkv8_take_rejections(wkv8_scope* s) {
  auto& list = s->w->rejections;
  int n = static_cast<int>(list.size());
  std::vector<Local<Value>> reasons;
  reasons.reserve(n);
  for (auto& r : list) reasons.push_back(r.second.Get(s->iso));
  list.clear();
  s->stack.push_back(Array::New(s->iso, reasons.data(), reasons.size()));
  return n;
}

int wkv8_serialize(wkv8_scope* s, int idx, wkv8_alloc_cb alloc, void* sink, wkv8_exc* exc) {
  CloneDelegate delegate(s->iso);
  ValueSerializer ser(s->iso, &delegate);
  ser.WriteHeader();
  TryCatch tc(s->iso);
  if (ser.WriteValue(s->ctx, At(s, idx)).IsNothing()) {
    if (tc.HasCaught() && !tc.HasTerminated()) {
      FillException(s->iso, s->ctx, tc, exc);
      s->throw_pending = true;
      s->thrown = tc.Exception();
    }
    return 0;
  }
  std::pair<uint8_t*, size_t> out = ser.Release();
  uint8_t* dst = alloc(sink, out.second);
  if (dst && out.second) std::memcpy(dst, out.first, out.second);
  std::free(out.first);
  return 1;
}

int wkv8_deserialize(wkv8_scope* s, const uint8_t* p, size_t len, wkv8_exc* exc) {
  ValueDeserializer de(s->iso, p, len);
  TryCatch tc(s->iso);
  Local<Value> v;
  if (de.ReadHeader(s->ctx).FromMaybe(false) && de.ReadValue(s->ctx).ToLocal(&v)) {
    s->stack.push_back(v);
    return 1;
  }
  if (tc.HasCaught() && !tc.HasTerminated()) FillException(s->iso, s->ctx, tc, exc);
  return 0;
}

int wkv8_module_add(wkv8_scope* s, const char* name, size_t name_len, int kind,
                    const uint8_t* src, size_t src_len, const uint8_t* cache, size_t cache_len,
                    wkv8_alloc_cb alloc, void* sink, int* cache_rejected, wkv8_exc* exc) {
  Isolate* iso = s->iso;
  std::string mname(name, name_len);
  TryCatch tc(iso);
  Local<String> res_name = Str(iso, mname);
  auto entry = std::make_unique<ModuleEntry>();
  entry->name = mname;
  Local<Module> module;
  if (kind == WKV8_MODULE_JS) {
    Local<String> text;
    if (!String::NewFromUtf8(iso, reinterpret_cast<const char*>(src), NewStringType::kNormal,
                             static_cast<int>(src_len))
             .ToLocal(&text)) {
      iso->ThrowException(Exception::RangeError(Str(iso, "module source too large")));
      FillException(iso, s->ctx, tc, exc);
      return WKV8_EXCEPTION;
    }
    ScriptOrigin origin(iso, res_name, 0, 0, false, -1, Local<Value>(), false, false, true);
    ScriptCompiler::CachedData* cd =
        cache_len ? new ScriptCompiler::CachedData(cache, static_cast<int>(cache_len)) : nullptr;
    ScriptCompiler::Source source(text, origin, cd);
    auto opts = cd ? ScriptCompiler::kConsumeCodeCache : ScriptCompiler::kNoCompileOptions;
    if (!ScriptCompiler::CompileModule(iso, &source, opts).ToLocal(&module)) {
      if (tc.HasTerminated()) return WKV8_TERMINATED;
      FillException(iso, s->ctx, tc, exc);
      return WKV8_EXCEPTION;
    }
    bool rejected = cd && source.GetCachedData()->rejected;
    if (cache_rejected) *cache_rejected = rejected ? 1 : 0;
    if (!cd || rejected) {
      StoreCache(ScriptCompiler::CreateCodeCache(module->GetUnboundModuleScript()), alloc, sink);
    }
  } else {
    Local<Value> value;
    if (kind == WKV8_MODULE_DATA) {
      void* mem = std::malloc(src_len ? src_len : 1);
      if (src_len) std::memcpy(mem, src, src_len);
      auto store = ArrayBuffer::NewBackingStore(
          mem, src_len, [](void* d, size_t, void*) { std::free(d); }, nullptr);
      value = ArrayBuffer::New(iso, std::move(store));
    } else {
      Local<String> text;
      if (!String::NewFromUtf8(iso, reinterpret_cast<const char*>(src), NewStringType::kNormal,
                               static_cast<int>(src_len))
               .ToLocal(&text)) {
        text = String::Empty(iso);
      }
      value = text;
      if (kind == WKV8_MODULE_JSON && !JSON::Parse(s->ctx, text).ToLocal(&value)) {
        FillException(iso, s->ctx, tc, exc);
        if (exc && exc->resource && !*exc->resource) {
          std::free(exc->resource);
          exc->resource = dup_str(mname);
        }
        return WKV8_EXCEPTION;
      }
    }
    entry->synthetic_default.Reset(iso, value);
    std::vector<Local<String>> exports = {Str(iso, "default")};
    module = Module::CreateSyntheticModule(iso, res_name, exports, SyntheticSteps);
  }
  entry->module.Reset(iso, module);
  s->w->modules_by_name[mname] = entry.get();
  s->w->modules.push_back(std::move(entry));
  return WKV8_OK;
}

int wkv8_module_run(wkv8_scope* s, const char* name, size_t name_len, wkv8_exc* exc) {
  Isolate* iso = s->iso;
  TryCatch tc(iso);
  ModuleEntry* e = LookupOrThrow(iso, "", std::string(name, name_len));
  Local<Value> result;
  if (e) {
    Local<Module> m = e->module.Get(iso);
    if ((m->GetStatus() != Module::kUninstantiated ||
         m->InstantiateModule(s->ctx, ResolveModule).FromMaybe(false)) &&
        m->Evaluate(s->ctx).ToLocal(&result)) {
      s->stack.push_back(result);
      s->stack.push_back(m->GetModuleNamespace());
      return WKV8_OK;
    }
  }
  if (tc.HasTerminated() || iso->IsExecutionTerminating()) return WKV8_TERMINATED;
  FillException(iso, s->ctx, tc, exc);
  return WKV8_EXCEPTION;
}

int wkv8_script_run(wkv8_scope* s, const char* name, size_t name_len, const char* src,
                    size_t src_len, const uint8_t* cache, size_t cache_len, wkv8_alloc_cb alloc,
                    void* sink, int* cache_rejected, wkv8_exc* exc) {
  Isolate* iso = s->iso;
  TryCatch tc(iso);
  Local<String> text;
  if (!String::NewFromUtf8(iso, src, NewStringType::kNormal, static_cast<int>(src_len))
           .ToLocal(&text)) {
    text = String::Empty(iso);
  }
  ScriptOrigin origin(iso, Str(iso, std::string(name, name_len)));
  ScriptCompiler::CachedData* cd =
      cache_len ? new ScriptCompiler::CachedData(cache, static_cast<int>(cache_len)) : nullptr;
  ScriptCompiler::Source source(text, origin, cd);
  auto opts = cd ? ScriptCompiler::kConsumeCodeCache : ScriptCompiler::kNoCompileOptions;
  Local<Script> script;
  Local<Value> result;
  if (ScriptCompiler::Compile(s->ctx, &source, opts).ToLocal(&script)) {
    bool rejected = cd && source.GetCachedData()->rejected;
    if (cache_rejected) *cache_rejected = rejected ? 1 : 0;
    if (!cd || rejected) {
      StoreCache(ScriptCompiler::CreateCodeCache(script->GetUnboundScript()), alloc, sink);
    }
    if (script->Run(s->ctx).ToLocal(&result)) {
      s->stack.push_back(result);
      return WKV8_OK;
    }
  }
  if (tc.HasTerminated() || iso->IsExecutionTerminating()) return WKV8_TERMINATED;
  FillException(iso, s->ctx, tc, exc);
  return WKV8_EXCEPTION;
}

void wkv8_exc_clear(wkv8_exc* exc) {
  if (!exc) return;
  std::free(exc->name);
  std::free(exc->message);
  std::free(exc->stack);
  std::free(exc->resource);
  *exc = wkv8_exc{};
}

}  // extern "C"
