package worker

/*
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"regexp"
)

// SourceLoader supplies a worker's JavaScript the first time (siteID, deployKey) is needed. It
// is called from libworker's threads, possibly several at once, and may block.
type SourceLoader interface {
	GetWorkerScript(siteID, deployKey string) (string, error)
}

// SourceLoaderFunc adapts a function to SourceLoader.
type SourceLoaderFunc func(siteID, deployKey string) (string, error)

// GetWorkerScript calls f.
func (f SourceLoaderFunc) GetWorkerScript(siteID, deployKey string) (string, error) {
	return f(siteID, deployKey)
}

// ModuleLoader is what a SourceLoader may also implement to supply workers of several modules
// (imports, text, JSON and data modules); the engine then calls LoadWorker instead of
// GetWorkerScript.
type ModuleLoader interface {
	LoadWorker(siteID, deployKey string) (*Source, error)
}

// ModuleType says what a module's bytes are.
type ModuleType int

// Module types, as the C ABI numbers them.
const (
	ModuleESM    ModuleType = C.WK_MODULE_ESM    // export default { fetch }
	ModuleScript ModuleType = C.WK_MODULE_SCRIPT // addEventListener("fetch", ...); main module only
	ModuleText   ModuleType = C.WK_MODULE_TEXT   // the default export is the string
	ModuleJSON   ModuleType = C.WK_MODULE_JSON   // the default export is the parsed value
	ModuleData   ModuleType = C.WK_MODULE_DATA   // the default export is an ArrayBuffer
)

// Module is one file of a worker. Name is path-like ("src/index.js"); relative imports resolve
// against it.
type Module struct {
	Name    string
	Type    ModuleType
	Content []byte
}

// Source is a worker's code: its modules and the name of the main one (default: the first).
type Source struct {
	Main    string
	Modules []Module
}

// esmSyntax finds an import or export declaration at the start of a line: wrangler's rule for
// telling an ES module from a service-worker script.
var esmSyntax = regexp.MustCompile(`(?m)^[ \t]*(import[ \t]*[\w{*"']|export[ \t]+[\w{*]|export[ \t]*[{*])`)

// ScriptSource is a one-module worker named "worker.js": an ES module when the code has
// import/export declarations, otherwise a service-worker script.
func ScriptSource(code string) *Source {
	t := ModuleScript
	if esmSyntax.MatchString(code) {
		t = ModuleESM
	}
	return &Source{Modules: []Module{{Name: "worker.js", Type: t, Content: []byte(code)}}}
}

type loaderBox struct{ loader SourceLoader }

func (l *loaderBox) load(site, deploy string) (*Source, error) {
	if m, ok := l.loader.(ModuleLoader); ok {
		return m.LoadWorker(site, deploy)
	}
	code, err := l.loader.GetWorkerScript(site, deploy)
	if err != nil {
		return nil, err
	}
	return ScriptSource(code), nil
}

//export wkgoSourceLoad
func wkgoSourceLoad(h C.uintptr_t, site *C.char, siteLen C.size_t, deploy *C.char, deployLen C.size_t, out *C.wk_source_t) (status C.wk_status_t) {
	defer func() {
		if r := recover(); r != nil {
			status = failSource(out, fmt.Sprintf("source loader panicked: %v", r))
		}
	}()
	src, err := handleValue(h).(*loaderBox).load(gostr(site, siteLen), gostr(deploy, deployLen))
	if err != nil {
		return failSource(out, err.Error())
	}
	if src == nil {
		return failSource(out, "source loader returned no source")
	}
	if err := fillSource(out, src); err != nil {
		return failSource(out, err.Error())
	}
	return C.WK_OK
}

func failSource(out *C.wk_source_t, msg string) C.wk_status_t {
	p, n := cstr(msg)
	C.wk_source_set_error(out, p, n, nil)
	return C.WK_E_NOT_FOUND
}

// fillSource adds src's modules to a wk_source_t.
func fillSource(out *C.wk_source_t, src *Source) error {
	if len(src.Modules) == 0 {
		return fmt.Errorf("worker source has no modules")
	}
	var cerr *C.wk_error_t
	for _, m := range src.Modules {
		name, nameLen := cstr(m.Name)
		content, contentLen := cbytes(m.Content)
		if st := C.wk_source_add_module(out, name, nameLen, C.wk_module_type_t(m.Type), content, contentLen, &cerr); st != C.WK_OK {
			return takeError(st, cerr)
		}
	}
	if src.Main != "" {
		p, n := cstr(src.Main)
		if st := C.wk_source_set_main(out, p, n, &cerr); st != C.WK_OK {
			return takeError(st, cerr)
		}
	}
	return nil
}
