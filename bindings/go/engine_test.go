package worker

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const helloJS = `export default { fetch(req, env) { console.log("hi", req.method); return new Response("hello " + (env.WHO ?? "world"), { headers: { "x-a": "1" } }) } }`

// mapLoader serves workers from a map keyed by site id.
type mapLoader map[string]string

func (m mapLoader) GetWorkerScript(site, deploy string) (string, error) {
	if s, ok := m[site]; ok {
		return s, nil
	}
	return "", errors.New("no worker for site " + site)
}

func newTestEngine(t *testing.T, workers map[string]string) *Engine {
	t.Helper()
	e, err := NewEngine(EngineConfig{PoolSize: 2}, mapLoader(workers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

func TestExecuteHello(t *testing.T) {
	e := newTestEngine(t, map[string]string{"hello": helloJS})
	res := e.Execute("hello", "v1", &Env{Vars: map[string]string{"WHO": "gopher"}}, &WorkerRequest{URL: "https://example.com/"})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := string(res.Response.Body); got != "hello gopher" {
		t.Fatalf("body %q", got)
	}
	if res.Response.StatusCode != 200 || res.Response.StatusText != "OK" || res.Response.Headers.Get("X-A") != "1" {
		t.Fatalf("response %+v", res.Response)
	}
	if len(res.Logs) != 1 || res.Logs[0].Level != "log" || res.Logs[0].Message != "hi GET" {
		t.Fatalf("logs %+v", res.Logs)
	}
	if res.Duration <= 0 {
		t.Fatalf("duration %v", res.Duration)
	}
}

func TestConcurrentExecute(t *testing.T) {
	e := newTestEngine(t, map[string]string{"hello": helloJS})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				res := e.Execute("hello", "v1", &Env{Vars: map[string]string{"WHO": strings.Repeat("x", i)}}, &WorkerRequest{URL: "https://example.com/"})
				if res.Error != nil {
					errs <- res.Error
					return
				}
				if want := "hello " + strings.Repeat("x", i); string(res.Response.Body) != want {
					errs <- errors.New("got " + string(res.Response.Body) + " want " + want)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestExecuteFunction(t *testing.T) {
	e := newTestEngine(t, nil)
	if _, err := e.CompileAndCache("fn", "v1", `export default { add(env, a, b) { return { sum: a + b, who: env.WHO } } };
export async function later(env, x) { await null; return [x, x] }`); err != nil {
		t.Fatal(err)
	}
	res := e.ExecuteFunction("fn", "v1", &Env{Vars: map[string]string{"WHO": "go"}}, "add", 3, 4)
	if res.Error != nil || res.Data != `{"sum":7,"who":"go"}` {
		t.Fatalf("%v %q", res.Error, res.Data)
	}
	res = e.ExecuteFunction("fn", "v1", nil, "later", "x")
	if res.Error != nil || res.Data != `["x","x"]` {
		t.Fatalf("%v %q", res.Error, res.Data)
	}
	res = e.ExecuteFunction("fn", "v1", nil, "missing")
	var we *WorkerError
	if !errors.As(res.Error, &we) || !strings.Contains(we.Message, `"missing" is not a function`) {
		t.Fatalf("missing export: %v", res.Error)
	}
	res = e.ExecuteFunction("fn", "v1", nil, "add", func() {})
	if !errors.Is(res.Error, ErrInvalidArgument) {
		t.Fatalf("unserialisable argument: %v", res.Error)
	}
}

func TestCompileAndCacheSyntaxError(t *testing.T) {
	e := newTestEngine(t, nil)
	cache, err := e.CompileAndCache("ok", "v1", helloJS)
	if err != nil || len(cache) == 0 {
		t.Fatalf("valid worker: %v, %d bytes of code cache", err, len(cache))
	}
	_, err = e.CompileAndCache("bad", "v1", "export default {\n  fetch() {\n    return new Response(;\n  }\n}")
	var we *WorkerError
	if !errors.As(err, &we) || !errors.Is(err, ErrScript) {
		t.Fatalf("want a script error, got %v", err)
	}
	if we.Location != "worker.js:3:25" || we.Name != "SyntaxError" {
		t.Fatalf("location %q name %q (%v)", we.Location, we.Name, err)
	}
	if !strings.Contains(err.Error(), "worker.js:3:25") {
		t.Fatalf("message should name the place: %v", err)
	}
}

func TestWorkerErrors(t *testing.T) {
	e, err := NewEngine(EngineConfig{PoolSize: 1, CPUTimeLimit: 50}, mapLoader{
		"throws": `export default { fetch() { throw new TypeError("bad thing") } }`,
		"spins":  `export default { fetch() { for (;;) {} } }`,
		"panics": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	res := e.Execute("throws", "v1", nil, &WorkerRequest{URL: "https://x/"})
	var we *WorkerError
	if !errors.As(res.Error, &we) || !errors.Is(res.Error, ErrException) || we.Name != "TypeError" || we.Message != "bad thing" || !strings.Contains(we.Stack, "worker.js") {
		t.Fatalf("exception: %#v", res.Error)
	}
	if res.Response == nil || res.Response.StatusCode != 500 {
		t.Fatalf("a failed worker still has its 500 response: %+v", res.Response)
	}
	res = e.Execute("spins", "v1", nil, &WorkerRequest{URL: "https://x/"})
	if !errors.Is(res.Error, ErrExceededCPU) || !errors.Is(res.Error, ErrLimit) || errors.Is(res.Error, ErrExceededMemory) {
		t.Fatalf("cpu limit: %v", res.Error)
	}
	res = e.Execute("nobody", "v1", nil, &WorkerRequest{URL: "https://x/"})
	if !errors.Is(res.Error, ErrScriptNotFound) || !strings.Contains(res.Error.Error(), "no worker for site nobody") {
		t.Fatalf("loader error: %v", res.Error)
	}
	// The engine keeps serving after all that.
	res = e.Execute("throws", "v2", nil, &WorkerRequest{URL: "https://x/"})
	if !errors.Is(res.Error, ErrException) {
		t.Fatalf("after failures: %v", res.Error)
	}
}

type panickyLoader struct{}

func (panickyLoader) GetWorkerScript(string, string) (string, error) { panic("loader bug") }

func TestLoaderPanicIsAnError(t *testing.T) {
	e, err := NewEngine(EngineConfig{PoolSize: 1}, panickyLoader{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	res := e.Execute("a", "v1", nil, &WorkerRequest{URL: "https://x/"})
	if !errors.Is(res.Error, ErrScriptNotFound) || !strings.Contains(res.Error.Error(), "loader bug") {
		t.Fatalf("%v", res.Error)
	}
}

func TestShutdownThenExecute(t *testing.T) {
	e, err := NewEngine(EngineConfig{PoolSize: 1}, mapLoader{"hello": helloJS})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.Execute("hello", "v1", nil, &WorkerRequest{URL: "https://x/"}); res.Error != nil {
		t.Fatal(res.Error)
	}
	e.Shutdown()
	e.Shutdown() // idempotent
	res := e.Execute("hello", "v1", nil, &WorkerRequest{URL: "https://x/"})
	var we *WorkerError
	if !errors.Is(res.Error, ErrShutdown) || !errors.As(res.Error, &we) || we.Code != CodeInternal {
		t.Fatalf("execute after shutdown: %v", res.Error)
	}
	if r := e.ExecuteFunction("hello", "v1", nil, "fetch"); !errors.Is(r.Error, ErrShutdown) {
		t.Fatalf("function after shutdown: %v", r.Error)
	}
	if _, err := e.CompileAndCache("hello", "v2", helloJS); !errors.Is(err, ErrShutdown) {
		t.Fatalf("compile after shutdown: %v", err)
	}
}

func TestRequestHeadersAndBody(t *testing.T) {
	e := newTestEngine(t, map[string]string{"echo": `export default { async fetch(req) {
	  const h = new Headers(); h.append("set-cookie", "a=1"); h.append("set-cookie", "b=2");
	  return new Response(req.method + " " + req.headers.get("accept") + " " + await req.text(), { status: 201, statusText: "Made", headers: h }) } }`})
	res := e.Execute("echo", "v1", nil, &WorkerRequest{Method: "POST", URL: "https://x/", Headers: http.Header{"Accept": {"a", "b"}}, Body: []byte("payload")})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	r := res.Response
	if string(r.Body) != "POST a, b payload" || r.StatusCode != 201 || r.StatusText != "Made" {
		t.Fatalf("%+v %s", r, r.Body)
	}
	if got := r.Headers.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Fatalf("set-cookie %q", got)
	}
}

func TestServiceWorkerScript(t *testing.T) {
	e := newTestEngine(t, map[string]string{"sw": `addEventListener("fetch", e => e.respondWith(new Response("sw " + (typeof WHO))))`})
	res := e.Execute("sw", "v1", nil, &WorkerRequest{URL: "https://x/"})
	if res.Error != nil || string(res.Response.Body) != "sw undefined" {
		t.Fatalf("%v %+v", res.Error, res.Response)
	}
}
