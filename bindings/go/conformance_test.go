package worker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The conformance corpus (tests/conformance, see its README.md), run through this package.
// WK_CONFORMANCE=a,b picks cases.

var corpusDir = filepath.Join("..", "..", "tests", "conformance")

type corpusRequest struct {
	Name    string          `json:"name"`
	Method  string          `json:"method"`
	Path    string          `json:"path"`
	Headers [][2]string     `json:"headers"`
	Body    *string         `json:"body"`
	DelayMs int             `json:"delayMs"`
	Expect  json.RawMessage `json:"expect"`
}

type corpusExpect struct {
	Status       *int                       `json:"status"`
	StatusText   *string                    `json:"statusText"`
	Headers      map[string]json.RawMessage `json:"headers"`
	Body         *string                    `json:"body"`
	BodyContains json.RawMessage            `json:"bodyContains"`
	JSON         json.RawMessage            `json:"json"`
}

func corpusCases(t *testing.T) []string {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var only map[string]bool
	if f := os.Getenv("WK_CONFORMANCE"); f != "" {
		only = map[string]bool{}
		for _, n := range strings.Split(f, ",") {
			only[strings.TrimSpace(n)] = true
		}
	}
	var cases []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(corpusDir, e.Name(), "requests.json")); err != nil {
			continue
		}
		if only == nil || only[e.Name()] {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) == 0 {
		t.Fatal("no conformance cases found (WK_CONFORMANCE names none?)")
	}
	return cases
}

// toRequest builds the request the corpus describes: URL from the host header (default
// 127.0.0.1:8787, which is then sent too) and the path.
func (r *corpusRequest) toRequest() *WorkerRequest {
	req := &WorkerRequest{Method: r.Method, Headers: http.Header{}}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	host := ""
	for _, h := range r.Headers {
		req.Headers.Add(h[0], h[1])
		if strings.EqualFold(h[0], "host") {
			host = h[1]
		}
	}
	if host == "" {
		host = "127.0.0.1:8787"
		req.Headers.Set("Host", host)
	}
	req.URL = "http://" + host + r.Path
	if r.Body != nil {
		req.Body = []byte(*r.Body)
		req.Headers.Set("Content-Length", fmt.Sprint(len(req.Body)))
	}
	return req
}

// check compares a response with an expectation and returns every difference.
func check(raw json.RawMessage, res *WorkerResponse) []string {
	var exp corpusExpect
	if err := json.Unmarshal(raw, &exp); err != nil {
		return []string{"bad expect: " + err.Error()}
	}
	var diffs []string
	body := string(res.Body)
	if exp.Status != nil && *exp.Status != res.StatusCode {
		diffs = append(diffs, fmt.Sprintf("status %d, want %d (body %.300q)", res.StatusCode, *exp.Status, body))
	}
	if exp.StatusText != nil && *exp.StatusText != res.StatusText {
		diffs = append(diffs, fmt.Sprintf("statusText %q, want %q", res.StatusText, *exp.StatusText))
	}
	names := make([]string, 0, len(exp.Headers))
	for n := range exp.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := exp.Headers[name]
		got := res.Headers.Values(name)
		var s string
		var list []string
		switch {
		case string(want) == "null":
			if len(got) > 0 {
				diffs = append(diffs, fmt.Sprintf("header %s: %q, want absent", name, got))
			}
		case json.Unmarshal(want, &s) == nil:
			if len(got) == 0 || strings.Join(got, ", ") != s {
				diffs = append(diffs, fmt.Sprintf("header %s: %q, want %q", name, got, s))
			}
		case json.Unmarshal(want, &list) == nil:
			if !reflect.DeepEqual(got, list) && !(len(got) == 0 && len(list) == 0) {
				diffs = append(diffs, fmt.Sprintf("header %s: %q, want %q", name, got, list))
			}
		default:
			diffs = append(diffs, fmt.Sprintf("header %s: bad expectation %s", name, want))
		}
	}
	if exp.Body != nil && *exp.Body != body {
		diffs = append(diffs, fmt.Sprintf("body %q, want %q", body, *exp.Body))
	}
	if len(exp.BodyContains) > 0 {
		var parts []string
		var one string
		if json.Unmarshal(exp.BodyContains, &one) == nil {
			parts = []string{one}
		} else if err := json.Unmarshal(exp.BodyContains, &parts); err != nil {
			diffs = append(diffs, "bad bodyContains: "+err.Error())
		}
		for _, p := range parts {
			if !strings.Contains(body, p) {
				diffs = append(diffs, fmt.Sprintf("body %.500q does not contain %q", body, p))
			}
		}
	}
	if len(exp.JSON) > 0 {
		var got, want interface{}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			diffs = append(diffs, fmt.Sprintf("body is not JSON (%v): %.500q", err, body))
		} else if err := json.Unmarshal(exp.JSON, &want); err != nil {
			diffs = append(diffs, "bad json expectation: "+err.Error())
		} else if !reflect.DeepEqual(got, want) {
			diffs = append(diffs, fmt.Sprintf("json\n  got  %s\n  want %s", body, exp.JSON))
		}
	}
	return diffs
}

// fetcher sends one request of a case.
type fetcher func(*WorkerRequest) *WorkerResult

func runCase(t *testing.T, dir string, fetch fetcher) []string {
	data, err := os.ReadFile(filepath.Join(dir, "requests.json"))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []corpusRequest
	if err := json.Unmarshal(data, &reqs); err != nil {
		t.Fatalf("requests.json: %v", err)
	}
	var failures []string
	for _, r := range reqs {
		if r.DelayMs > 0 {
			time.Sleep(time.Duration(r.DelayMs) * time.Millisecond)
		}
		req := r.toRequest()
		res := fetch(req)
		if res.Response == nil {
			failures = append(failures, fmt.Sprintf("%s: no response: %v", r.Name, res.Error))
			continue
		}
		for _, d := range check(r.Expect, res.Response) {
			failures = append(failures, r.Name+": "+d)
		}
	}
	return failures
}

func TestConformance(t *testing.T) {
	e, err := NewEngine(EngineConfig{PoolSize: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	var failed []string
	cases := corpusCases(t)
	for _, name := range cases {
		if failures := runProjectCase(t, e, filepath.Join(corpusDir, name)); len(failures) > 0 {
			failed = append(failed, name)
			t.Errorf("%s:\n  %s", name, strings.Join(failures, "\n  "))
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d conformance cases failed: %s", len(failed), len(cases), strings.Join(failed, ", "))
	}
}

// runProjectCase opens the case as a project with a fresh state directory, every KV namespace
// of its config served by a Go store (mapKV), and sends its requests.
func runProjectCase(t *testing.T, e *Engine, dir string) []string {
	entry := filepath.Join(dir, "worker.js")
	env := &Env{KV: map[string]KVStore{}}
	if cfg := configPath(dir); cfg != "" {
		entry = cfg
		conf, err := ReadConfig(cfg)
		if err != nil {
			return []string{"read config: " + err.Error()}
		}
		namespaces, _ := conf["kv_namespaces"].([]interface{})
		for _, ns := range namespaces {
			if b, ok := ns.(map[string]interface{})["binding"].(string); ok {
				env.KV[b] = &mapKV{}
			}
		}
	}
	p, err := e.OpenProject(entry, ProjectOptions{StateDir: t.TempDir(), Env: env})
	if err != nil {
		return []string{"open project: " + err.Error()}
	}
	defer p.Close()
	return runCase(t, dir, p.Fetch)
}

func configPath(dir string) string {
	for _, n := range []string{"wrangler.jsonc", "wrangler.json", "wrangler.toml"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return filepath.Join(dir, n)
		}
	}
	return ""
}
