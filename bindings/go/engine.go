package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Engine runs workers: executor threads with their own event loops, one V8 isolate per worker,
// a compiled-code cache and the source loader. Create one per process; every method may be
// called from any goroutine, concurrently.
type Engine struct {
	// mu guards ptr: calls into the engine hold it for reading, Shutdown takes it for writing
	// before freeing, so no call ever uses a freed engine.
	mu     sync.RWMutex
	ptr    *C.wk_engine_t
	closed int32

	// brokersMu guards the brokers and projects the engine must close before it is freed.
	brokersMu sync.Mutex
	brokers   []*QueueBroker
	projects  map[*Project]struct{}
}

// NewEngine starts an engine. loader may be nil when every worker is supplied by
// CompileAndCache.
func NewEngine(cfg EngineConfig, loader SourceLoader) (*Engine, error) {
	var opts C.wk_engine_options_t
	C.wk_engine_options_init(&opts)
	if cfg.PoolSize > 0 {
		opts.pool_size = C.uint32_t(cfg.PoolSize)
	}
	setLimit64(&opts.memory_limit_mb, int64(cfg.MemoryLimitMB))
	setLimit64(&opts.cpu_time_ms, int64(cfg.CPUTimeLimit))
	setLimit64(&opts.wall_time_ms, int64(cfg.ExecutionTimeout))
	setLimit64(&opts.max_response_bytes, cfg.MaxResponseBytes)
	setLimit32(&opts.max_subrequests, cfg.MaxFetchRequests)
	setLimit32(&opts.max_resident_workers, cfg.MaxResidentWorkers)
	setLimit32(&opts.warm_isolates, cfg.WarmIsolates)
	opts.allow_code_generation = C.bool(cfg.AllowCodeGeneration)

	var h C.uintptr_t
	if loader != nil {
		h = newHandle(&loaderBox{loader})
	}
	var ptr *C.wk_engine_t
	var cerr *C.wk_error_t
	if st := C.wkgo_engine_new(&opts, h, &ptr, &cerr); st != C.WK_OK {
		return nil, takeError(st, cerr)
	}
	return &Engine{ptr: ptr, projects: map[*Project]struct{}{}}, nil
}

// setLimit64 applies the Go convention (0: default, negative: none) to a C limit (0: none).
func setLimit64(dst *C.uint64_t, v int64) {
	switch {
	case v < 0:
		*dst = 0
	case v > 0:
		*dst = C.uint64_t(v)
	}
}

func setLimit32(dst *C.uint32_t, v int) {
	switch {
	case v < 0:
		*dst = 0
	case v > 0:
		*dst = C.uint32_t(v)
	}
}

// Shutdown stops the engine: in-flight requests and their waitUntil work finish, then the
// executor threads stop and the engine is freed. Later calls fail with ErrShutdown.
// Idempotent.
func (e *Engine) Shutdown() {
	if !atomic.CompareAndSwapInt32(&e.closed, 0, 1) {
		return
	}
	// Brokers deliver through the engine, so they stop first.
	e.brokersMu.Lock()
	brokers, projects := e.brokers, e.projects
	e.brokers, e.projects = nil, nil
	e.brokersMu.Unlock()
	for _, b := range brokers {
		b.Close()
	}
	for p := range projects {
		p.Close()
	}
	e.mu.RLock()
	if e.ptr != nil {
		// Without the write lock: shutting down lets calls in flight finish and return.
		C.wk_engine_shutdown(e.ptr, nil)
	}
	e.mu.RUnlock()
	e.mu.Lock()
	C.wk_engine_free(e.ptr)
	e.ptr = nil
	e.mu.Unlock()
}

// acquire holds the engine for one call; release with e.mu.RUnlock.
func (e *Engine) acquire() (*C.wk_engine_t, error) {
	e.mu.RLock()
	if e.ptr == nil || atomic.LoadInt32(&e.closed) != 0 {
		e.mu.RUnlock()
		return nil, errShutdown()
	}
	return e.ptr, nil
}

func errShutdown() error {
	return &WorkerError{Kind: KindShutdown, Code: CodeInternal, Message: "the engine is shut down"}
}

// wrapErr turns the error of a call that raced with Shutdown into ErrShutdown.
func (e *Engine) wrapErr(err error) error {
	if we, ok := err.(*WorkerError); ok && we.Code == CodeInternal && atomic.LoadInt32(&e.closed) != 0 {
		we.Kind = KindShutdown
	}
	return err
}

// Execute runs worker (siteID, deployKey)'s fetch handler for req and waits for its response.
// env may be nil (an empty env).
func (e *Engine) Execute(siteID, deployKey string, env *Env, req *WorkerRequest) *WorkerResult {
	engine, err := e.acquire()
	if err != nil {
		return &WorkerResult{Error: err}
	}
	defer e.mu.RUnlock()
	cenv, err := env.build()
	if err != nil {
		return &WorkerResult{Error: err}
	}
	defer C.wk_env_free(cenv)
	creq, err := buildRequest(req)
	if err != nil {
		return &WorkerResult{Error: err}
	}
	defer C.wk_request_free(creq)

	site, siteLen := cstr(siteID)
	deploy, deployLen := cstr(deployKey)
	var resp *C.wk_response_t
	var cerr *C.wk_error_t
	// The blocking call: Go hands the goroutine's P to another thread while it waits, and it
	// measured three times faster per call than wk_execute_async with a channel (the wake-up
	// from libworker's callback thread costs more than the work).
	st := C.wk_execute(engine, site, siteLen, deploy, deployLen, cenv, creq, &resp, &cerr)
	res := readResponse(resp)
	res.Error = e.wrapErr(takeError(st, cerr))
	return res
}

func buildRequest(req *WorkerRequest) (*C.wk_request_t, error) {
	if req == nil {
		return nil, &WorkerError{Kind: KindInvalidArgument, Code: CodeInvalidArgument, Message: "request is nil"}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	m, mLen := cstr(method)
	u, uLen := cstr(req.URL)
	var creq *C.wk_request_t
	var cerr *C.wk_error_t
	if st := C.wk_request_new(m, mLen, u, uLen, &creq, &cerr); st != C.WK_OK {
		return nil, takeError(st, cerr)
	}
	for name, values := range req.Headers {
		n, nLen := cstr(name)
		for _, v := range values {
			vp, vLen := cstr(v)
			if st := C.wk_request_add_header(creq, n, nLen, vp, vLen, &cerr); st != C.WK_OK {
				C.wk_request_free(creq)
				return nil, takeError(st, cerr)
			}
		}
	}
	if len(req.Body) > 0 {
		b, bLen := cbytes(req.Body)
		if st := C.wk_request_set_body(creq, b, bLen, &cerr); st != C.WK_OK {
			C.wk_request_free(creq)
			return nil, takeError(st, cerr)
		}
	}
	return creq, nil
}

// readResponse copies a response into Go and frees it; nil gives an empty result.
func readResponse(resp *C.wk_response_t) *WorkerResult {
	res := &WorkerResult{}
	if resp == nil {
		return res
	}
	defer C.wk_response_free(resp)
	var info C.wkgo_response_info_t
	C.wkgo_response_info(resp, &info)
	r := &WorkerResponse{
		StatusCode:  int(info.status),
		StatusText:  C.GoString(info.status_text),
		Headers:     make(http.Header, int(info.header_count)),
		Body:        gobytes(unsafe.Pointer(info.body), info.body_len),
		PassThrough: bool(info.pass_through),
	}
	for i := C.size_t(0); i < info.header_count; i++ {
		var name, value *C.char
		var nameLen, valueLen C.size_t
		if C.wk_response_header_at(resp, i, &name, &nameLen, &value, &valueLen) == C.WK_OK {
			r.Headers.Add(gostr(name, nameLen), gostr(value, valueLen))
		}
	}
	if r.StatusText == "" {
		// What an HTTP/1.1 client would read as the reason phrase.
		r.StatusText = http.StatusText(r.StatusCode)
	}
	res.Response = r
	res.Logs = readLogs(int(info.log_count), func(i C.size_t, level *C.wk_log_level_t, msg **C.char, n *C.size_t) C.wk_status_t {
		return C.wk_response_log_at(resp, i, level, msg, n)
	})
	res.Duration = time.Duration(info.duration_us) * time.Microsecond
	return res
}

func readLogs(count int, at func(C.size_t, *C.wk_log_level_t, **C.char, *C.size_t) C.wk_status_t) []LogEntry {
	if count == 0 {
		return nil
	}
	logs := make([]LogEntry, 0, count)
	for i := 0; i < count; i++ {
		var level C.wk_log_level_t
		var msg *C.char
		var n C.size_t
		if at(C.size_t(i), &level, &msg, &n) == C.WK_OK {
			logs = append(logs, LogEntry{Level: logLevel(int(level)), Message: gostr(msg, n)})
		}
	}
	return logs
}

// ExecuteFunction calls the worker's named export fnName (a function, or a method of the
// default export) with (env, ...args) and puts the JSON of the awaited result in Data. args
// must be JSON-serialisable.
func (e *Engine) ExecuteFunction(siteID, deployKey string, env *Env, fnName string, args ...interface{}) *WorkerResult {
	start := time.Now()
	res := &WorkerResult{}
	res.Data, res.Error = e.callFunction(siteID, deployKey, env, fnName, args)
	res.Duration = time.Since(start)
	return res
}

func (e *Engine) callFunction(siteID, deployKey string, env *Env, fnName string, args []interface{}) (string, error) {
	if args == nil {
		args = []interface{}{}
	}
	argsJSON, err := json.Marshal(args)
	if err != nil {
		return "", &WorkerError{Kind: KindInvalidArgument, Code: CodeInvalidArgument, Message: "arguments are not JSON: " + err.Error()}
	}
	engine, err := e.acquire()
	if err != nil {
		return "", err
	}
	defer e.mu.RUnlock()
	cenv, err := env.build()
	if err != nil {
		return "", err
	}
	defer C.wk_env_free(cenv)
	site, siteLen := cstr(siteID)
	deploy, deployLen := cstr(deployKey)
	name, nameLen := cstr(fnName)
	a, aLen := cstr(string(argsJSON))
	var out *C.char
	var outLen C.size_t
	var cerr *C.wk_error_t
	st := C.wk_execute_function(engine, site, siteLen, deploy, deployLen, cenv, name, nameLen, a, aLen, &out, &outLen, &cerr)
	if st != C.WK_OK {
		return "", e.wrapErr(takeError(st, cerr))
	}
	defer C.wk_string_free(out)
	return gostr(out, outLen), nil
}

// CompileAndCache compiles source as worker (siteID, deployKey), reporting syntax errors with
// file:line:col (WorkerError.Location), and returns V8's code cache of it. Later requests for
// (siteID, deployKey) run this source instead of asking the loader. source is an ES module when
// it has import/export declarations, otherwise a service-worker script.
func (e *Engine) CompileAndCache(siteID, deployKey, source string) ([]byte, error) {
	return e.CompileSource(siteID, deployKey, ScriptSource(source))
}

// CompileSource is CompileAndCache for a worker of several modules.
func (e *Engine) CompileSource(siteID, deployKey string, src *Source) ([]byte, error) {
	engine, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.mu.RUnlock()
	var csrc *C.wk_source_t
	var cerr *C.wk_error_t
	if st := C.wk_source_new(&csrc, &cerr); st != C.WK_OK {
		return nil, takeError(st, cerr)
	}
	defer C.wk_source_free(csrc)
	if err := fillSource(csrc, src); err != nil {
		return nil, err
	}
	site, siteLen := cstr(siteID)
	deploy, deployLen := cstr(deployKey)
	var out *C.uint8_t
	var outLen C.size_t
	if st := C.wk_compile_and_cache(engine, site, siteLen, deploy, deployLen, csrc, &out, &outLen, &cerr); st != C.WK_OK {
		return nil, e.wrapErr(takeError(st, cerr))
	}
	defer C.wk_bytes_free(out)
	return gobytes(unsafe.Pointer(out), outLen), nil
}
