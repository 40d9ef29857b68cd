package worker

import (
	"errors"
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
