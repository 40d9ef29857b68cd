package worker

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProjectServesHTTP(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("wrangler.jsonc", `{ // a comment, as wrangler allows
	  "name": "go-http", "main": "src.js", "vars": { "GREETING": "hey" },
	  "kv_namespaces": [{ "binding": "KV", "id": "x" }], }`)
	write("src.js", `import t from "./t.txt";
export default { async fetch(req, env) {
  await env.KV.put("seen", new URL(req.url).pathname);
  return new Response(env.GREETING + " " + t + " " + req.url + " " + await env.KV.get("seen"), { headers: { "x-w": "1" } }) } }`)
	write("t.txt", "text-module")

	cfg, err := ReadConfig(filepath.Join(dir, "wrangler.jsonc"))
	if err != nil || cfg["name"] != "go-http" {
		t.Fatalf("ReadConfig: %v %v", cfg, err)
	}
	e := newTestEngine(t, nil)
	kv := &mapKV{}
	p, err := e.OpenProject(filepath.Join(dir, "wrangler.jsonc"), ProjectOptions{StateDir: t.TempDir(), Env: &Env{KV: map[string]KVStore{"KV": kv}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != "go-http" {
		t.Fatalf("name %q", p.Name())
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/path?q=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want := "hey text-module " + srv.URL + "/path?q=1 /path"
	if string(body) != want || res.Header.Get("X-W") != "1" {
		t.Fatalf("%q, want %q (%v)", body, want, res.Header)
	}
	if e, _ := kv.Get("seen"); e == nil || string(e.Value) != "/path" {
		t.Fatal("the Go KV store replaces the config's namespace")
	}

	// A syntax error names its place; a missing config is a clear error.
	write("src.js", "export default {\n  fetch( {\n}")
	if _, err := e.OpenProject(filepath.Join(dir, "wrangler.jsonc"), ProjectOptions{StateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "src.js:") {
		t.Fatalf("syntax error: %v", err)
	}
	if _, err := ReadConfig(filepath.Join(dir, "nope.toml")); err == nil {
		t.Fatal("missing config")
	}
}

func TestEngineHandler(t *testing.T) {
	e := newTestEngine(t, map[string]string{"echo": `export default { async fetch(req) { return new Response(req.method + " " + await req.text(), { status: 202 }) } }`})
	srv := httptest.NewServer(e.Handler("echo", "v1", nil))
	defer srv.Close()
	res, err := http.Post(srv.URL, "text/plain", strings.NewReader("data"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 202 || string(body) != "POST data" {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
}

func TestModuleLoader(t *testing.T) {
	loader := moduleLoader{"m": &Source{Main: "src/main.js", Modules: []Module{
		{Name: "src/main.js", Type: ModuleESM, Content: []byte(`import data from "./data.json"; import bin from "../raw.bin";
export default { fetch() { return new Response(data.x + " " + new Uint8Array(bin).length) } }`)},
		{Name: "src/data.json", Type: ModuleJSON, Content: []byte(`{"x":"json"}`)},
		{Name: "raw.bin", Type: ModuleData, Content: []byte{0, 1, 2}},
	}}}
	e, err := NewEngine(EngineConfig{PoolSize: 1}, loader)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	res := e.Execute("m", "v1", nil, &WorkerRequest{URL: "https://x/"})
	if res.Error != nil || string(res.Response.Body) != "json 3" {
		t.Fatalf("%v %+v", res.Error, res.Response)
	}
}

type moduleLoader map[string]*Source

func (m moduleLoader) GetWorkerScript(string, string) (string, error) {
	panic("LoadWorker is preferred")
}

func (m moduleLoader) LoadWorker(site, deploy string) (*Source, error) { return m[site], nil }
