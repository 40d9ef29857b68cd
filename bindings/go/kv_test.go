package worker

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// mapKV is the README's KV store, over a sync.Map.
type mapKV struct{ sync.Map } // key -> *KVEntry

func (s *mapKV) Get(k string) (*KVEntry, error) {
	e, _ := s.Load(k)
	v, _ := e.(*KVEntry)
	return v, nil
}
func (s *mapKV) Put(k string, e KVEntry) error { s.Store(k, &e); return nil }
func (s *mapKV) Delete(k string) error         { s.Map.Delete(k); return nil }
func (s *mapKV) List(prefix string, limit int, cursor string) (*KVListResult, error) {
	var keys []KVKey
	s.Range(func(k, v any) bool {
		if name := k.(string); strings.HasPrefix(name, prefix) && name > cursor {
			keys = append(keys, v.(*KVEntry).Key(name))
		}
		return true
	})
	return KVPage(keys, limit), nil
}

// laterKV answers every call from another goroutine after a pause, as a networked store would.
type laterKV struct{ mapKV }

func (s *laterKV) Get(k string) (*KVEntry, error) {
	ch := make(chan *KVEntry)
	go func() { time.Sleep(20 * time.Millisecond); e, _ := s.mapKV.Get(k); ch <- e }()
	return <-ch, nil
}

// failingKV fails every call; panickyKV panics in Get.
type failingKV struct{}

func (failingKV) Get(string) (*KVEntry, error) { return nil, errors.New("kv is down") }
func (failingKV) Put(string, KVEntry) error    { return errors.New("disk full") }
func (failingKV) Delete(string) error          { return errors.New("read only") }
func (failingKV) List(string, int, string) (*KVListResult, error) {
	return nil, errors.New("no listing today")
}

type panickyKV struct{ mapKV }

func (*panickyKV) Get(string) (*KVEntry, error) { panic("store bug") }

const kvWorker = `export default { async fetch(req, env) {
  const kv = env.KV, out = {};
  await kv.put("a", "1", { metadata: { n: 1 } });
  await kv.put("b", "2", { expirationTtl: 3600 });
  await kv.put("c", "3");
  out.a = await kv.getWithMetadata("a");
  out.json = await kv.get("a", "json");
  out.missing = await kv.get("nope");
  out.list = await kv.list({ limit: 2 });
  out.list2 = await kv.list({ cursor: out.list.cursor });
  await kv.delete("c");
  out.afterDelete = await kv.get("c");
  out.prefix = (await kv.list({ prefix: "b" })).keys.map(k => k.name);
  out.bExp = (await kv.list({ prefix: "b" })).keys[0].expiration > Date.now() / 1000;
  return Response.json(out);
} }`

func TestKVStore(t *testing.T) {
	e := newTestEngine(t, map[string]string{"kv": kvWorker})
	for name, store := range map[string]KVStore{"inline": &mapKV{}, "later": &laterKV{}} {
		res := e.Execute("kv", "v1", &Env{KV: map[string]KVStore{"KV": store}}, &WorkerRequest{URL: "https://x/"})
		if res.Error != nil {
			t.Fatalf("%s: %v", name, res.Error)
		}
		var got map[string]interface{}
		if err := json.Unmarshal(res.Response.Body, &got); err != nil {
			t.Fatalf("%s: %v: %s", name, err, res.Response.Body)
		}
		want := `{"a":{"cacheStatus":null,"metadata":{"n":1},"value":"1"},"afterDelete":null,"bExp":true,"json":1,"list":{"cacheStatus":null,"cursor":"b","keys":[{"metadata":{"n":1},"name":"a"},{"expiration":` +
			jsonOf(got["list"].(map[string]interface{})["keys"].([]interface{})[1].(map[string]interface{})["expiration"]) +
			`,"name":"b"}],"list_complete":false},"list2":{"cacheStatus":null,"keys":[{"name":"c"}],"list_complete":true},"missing":null,"prefix":["b"]}`
		if g := jsonOf(got); g != want {
			t.Errorf("%s:\n got %s\nwant %s", name, g, want)
		}
	}
}

func jsonOf(v interface{}) string { b, _ := json.Marshal(v); return string(b) }

func TestKVExpiredEntriesAreHidden(t *testing.T) {
	e := newTestEngine(t, map[string]string{"kv": `export default { async fetch(req, env) {
	  return Response.json({ v: await env.KV.get("old"), keys: (await env.KV.list()).keys.map(k => k.name) }) } }`})
	store := &mapKV{}
	_ = store.Put("old", KVEntry{Value: []byte("x"), Expiration: time.Now().Unix() - 10})
	_ = store.Put("new", KVEntry{Value: []byte("y"), Expiration: time.Now().Unix() + 1000})
	res := e.Execute("kv", "v1", &Env{KV: map[string]KVStore{"KV": store}}, &WorkerRequest{URL: "https://x/"})
	if res.Error != nil || string(res.Response.Body) != `{"v":null,"keys":["new"]}` {
		t.Fatalf("%v %s", res.Error, res.Response.Body)
	}
}

func TestKVStoreFailures(t *testing.T) {
	e := newTestEngine(t, map[string]string{"kv": `export default { async fetch(req, env) {
	  const r = {};
	  for (const [name, f] of [["get", () => env.KV.get("k")], ["put", () => env.KV.put("k", "v")],
	      ["delete", () => env.KV.delete("k")], ["list", () => env.KV.list()]]) {
	    try { await f(); r[name] = "ok" } catch (e) { r[name] = e.message }
	  }
	  return Response.json(r) } }`})
	res := e.Execute("kv", "v1", &Env{KV: map[string]KVStore{"KV": &failingKV{}}}, &WorkerRequest{URL: "https://x/"})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	var got map[string]string
	_ = json.Unmarshal(res.Response.Body, &got)
	for op, msg := range map[string]string{"get": "kv is down", "put": "disk full", "delete": "read only", "list": "no listing today"} {
		if !strings.Contains(got[op], msg) {
			t.Errorf("%s: %q, want it to contain %q", op, got[op], msg)
		}
	}
	res = e.Execute("kv", "v1", &Env{KV: map[string]KVStore{"KV": &panickyKV{}}}, &WorkerRequest{URL: "https://x/"})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if !strings.Contains(string(res.Response.Body), `"get":"panic: store bug"`) {
		t.Errorf("panicking store: %s", res.Response.Body)
	}
}

func TestKVDefaultPersists(t *testing.T) {
	e := newTestEngine(t, map[string]string{"kv": `export default { async fetch(req, env) {
	  const n = Number(await env.KV.get("n") ?? 0) + 1; await env.KV.put("n", String(n)); return new Response(String(n)) } }`})
	env := &Env{KV: map[string]KVStore{"KV": KVDefault(t.TempDir() + "/kv.sqlite")}}
	for want := 1; want <= 3; want++ {
		res := e.Execute("kv", "v1", env, &WorkerRequest{URL: "https://x/"})
		if res.Error != nil || string(res.Response.Body) != string(rune('0'+want)) {
			t.Fatalf("call %d: %v %s", want, res.Error, res.Response.Body)
		}
	}
	if _, err := KVDefault("x").Get("k"); err == nil {
		t.Fatal("the embedded store's Go methods must say they are not reachable from Go")
	}
}
