package worker_test

import (
	"fmt"
	"log"
	"strings"
	"sync"

	"libworker.dev/worker"
)

// The README's example and KV store, compiled and checked.

const script = `export default {
  async fetch(request, env) {
    const n = Number(await env.COUNTS.get("hits") ?? 0) + 1;
    await env.COUNTS.put("hits", String(n));
    return new Response(env.GREETING + ", visit " + n, { headers: { "x-served-by": "go" } });
  },
  add(env, a, b) { return { sum: a + b } },
};`

type MapKV struct{ sync.Map } // key -> *worker.KVEntry

func (s *MapKV) Get(k string) (*worker.KVEntry, error) {
	e, _ := s.Load(k)
	v, _ := e.(*worker.KVEntry)
	return v, nil // nil: the worker sees null
}
func (s *MapKV) Put(k string, e worker.KVEntry) error { s.Store(k, &e); return nil }
func (s *MapKV) Delete(k string) error                { s.Map.Delete(k); return nil }
func (s *MapKV) List(prefix string, limit int, cursor string) (*worker.KVListResult, error) {
	var keys []worker.KVKey
	s.Range(func(k, v any) bool {
		if name := k.(string); strings.HasPrefix(name, prefix) && name > cursor {
			keys = append(keys, v.(*worker.KVEntry).Key(name))
		}
		return true
	})
	return worker.KVPage(keys, limit), nil // sorted, cut at limit, with the next cursor
}

func Example() {
	loader := worker.SourceLoaderFunc(func(siteID, deployKey string) (string, error) {
		return script, nil
	})
	engine, err := worker.NewEngine(worker.EngineConfig{MemoryLimitMB: 128, ExecutionTimeout: 30000}, loader)
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Shutdown()

	env := &worker.Env{
		Vars: map[string]string{"GREETING": "Hello"},
		KV:   map[string]worker.KVStore{"COUNTS": &MapKV{}}, // the store below
	}
	for i := 0; i < 2; i++ {
		res := engine.Execute("site", "v1", env, &worker.WorkerRequest{URL: "https://example.com/"})
		if res.Error != nil {
			log.Fatal(res.Error)
		}
		fmt.Println(res.Response.StatusCode, res.Response.Headers.Get("X-Served-By"), string(res.Response.Body))
	}

	sum := engine.ExecuteFunction("site", "v1", env, "add", 3, 4)
	fmt.Println(sum.Data) // {"sum":7}
	// Output:
	// 200 go Hello, visit 1
	// 200 go Hello, visit 2
	// {"sum":7}
}
