package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"path/filepath"
	"sync"
)

// ProjectOptions configure OpenProject.
type ProjectOptions struct {
	// StateDir is where the embedded stores of the config's bindings persist (default:
	// .wk-state beside the config).
	StateDir string
	// Env's vars and bindings replace the config's of the same name or add to them: a KV store
	// under the name of a kv_namespaces binding serves that namespace instead of the embedded
	// SQLite store.
	Env *Env
	// OnQueueEvent, when set, is told what the project's queue consumers do (as
	// QueueBroker.OnEvent); otherwise dropped messages and storage errors go to stderr.
	OnQueueEvent func(QueueEvent)
}

// Project is a wrangler project (or a lone worker script) loaded into an engine, served as
// `wk serve` serves it: static assets first where the config routes them, then the worker, and
// its queue consumers running. Fetch may be called from any goroutine, concurrently.
type Project struct {
	engine   *Engine
	name     string
	warnings []string
	mu       sync.RWMutex
	ptr      *C.wk_project_t
}

// OpenProject opens path: a wrangler.jsonc / wrangler.json / wrangler.toml, a directory holding
// one, or a worker script. Its worker is compiled into the engine under site id Name() (syntax
// errors carry file:line:col).
func (e *Engine) OpenProject(path string, opts ProjectOptions) (*Project, error) {
	engine, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.mu.RUnlock()
	cenv, err := opts.Env.build()
	if err != nil {
		return nil, err
	}
	defer C.wk_env_free(cenv)
	// libworker resolves a relative config path's modules wrongly when it climbs with "..";
	// an absolute path also pins the project to the directory it was opened from.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p, pLen := cstr(path)
	var sd *C.char
	var sdLen C.size_t
	if opts.StateDir != "" {
		sd, sdLen = cstr(opts.StateDir)
	}
	var observer C.uintptr_t
	if opts.OnQueueEvent != nil {
		observer = newHandle(opts.OnQueueEvent)
	}
	var ptr *C.wk_project_t
	var cerr *C.wk_error_t
	if st := C.wkgo_project_open(engine, p, pLen, sd, sdLen, cenv, observer, &ptr, &cerr); st != C.WK_OK {
		return nil, e.wrapErr(takeError(st, cerr))
	}
	proj := &Project{engine: e, name: C.GoString(C.wk_project_name(ptr)), ptr: ptr}
	for i := C.size_t(0); i < C.wk_project_warning_count(ptr); i++ {
		var w *C.char
		var n C.size_t
		if C.wk_project_warning_at(ptr, i, &w, &n) == C.WK_OK {
			proj.warnings = append(proj.warnings, gostr(w, n))
		}
	}
	e.brokersMu.Lock()
	defer e.brokersMu.Unlock()
	if e.projects == nil { // Shutdown began while this opened
		C.wk_project_free(ptr)
		return nil, errShutdown()
	}
	e.projects[proj] = struct{}{}
	return proj, nil
}

// Name is the project's name: its worker's site id in the engine.
func (p *Project) Name() string { return p.name }

// Warnings name the config's settings libworker ignores or does not support yet (a binding
// type it lacks, `triggers`, an unknown key, ...), one sentence each.
func (p *Project) Warnings() []string { return append([]string(nil), p.warnings...) }

// Fetch handles one request as `wk serve` does and waits for the response.
func (p *Project) Fetch(req *WorkerRequest) *WorkerResult {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ptr == nil {
		return &WorkerResult{Error: errShutdown()}
	}
	creq, err := buildRequest(req)
	if err != nil {
		return &WorkerResult{Error: err}
	}
	defer C.wk_request_free(creq)
	var resp *C.wk_response_t
	var cerr *C.wk_error_t
	st := C.wk_project_fetch(p.ptr, creq, &resp, &cerr)
	res := readResponse(resp)
	res.Error = p.engine.wrapErr(takeError(st, cerr))
	return res
}

// Close stops the project's queue consumers (after the batches in flight) and releases it; the
// engine carries on. Idempotent; Engine.Shutdown closes the projects still open.
func (p *Project) Close() {
	p.mu.Lock()
	C.wk_project_free(p.ptr)
	p.ptr = nil
	p.mu.Unlock()
	p.engine.brokersMu.Lock()
	delete(p.engine.projects, p)
	p.engine.brokersMu.Unlock()
}

// ReadConfig reads a wrangler config (.jsonc with comments and trailing commas, .json or
// .toml) into its JSON form, to learn what a project declares (binding names, say) before
// opening it.
func ReadConfig(path string) (map[string]interface{}, error) {
	p, pLen := cstr(path)
	var out *C.char
	var outLen C.size_t
	var cerr *C.wk_error_t
	if st := C.wk_config_read_json(p, pLen, &out, &outLen, &cerr); st != C.WK_OK {
		return nil, takeError(st, cerr)
	}
	defer C.wk_string_free(out)
	var cfg map[string]interface{}
	if err := json.Unmarshal([]byte(gostr(out, outLen)), &cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
