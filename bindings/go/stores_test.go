package worker

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// run executes src (one worker per test) with env and returns the body; any error fails.
func run(t *testing.T, src string, env *Env) string {
	t.Helper()
	e := newTestEngine(t, map[string]string{"w": src})
	res := e.Execute("w", "v1", env, &WorkerRequest{URL: "https://example.com/"})
	if res.Error != nil {
		t.Fatalf("%v\nlogs: %v", res.Error, res.Logs)
	}
	return string(res.Response.Body)
}

// ---- Cache ----

type mapCache struct {
	mu sync.Mutex
	m  map[CacheKey]CacheEntry
}

func (c *mapCache) Match(k CacheKey) (*CacheEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		return &e, nil
	}
	return nil, nil
}

func (c *mapCache) Put(k CacheKey, e CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = e
	return nil
}

func (c *mapCache) Delete(k CacheKey) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	delete(c.m, k)
	return ok, nil
}

type failingCache struct{}

func (failingCache) Match(CacheKey) (*CacheEntry, error) { return nil, errors.New("cache offline") }
func (failingCache) Put(CacheKey, CacheEntry) error      { return errors.New("cache offline") }
func (failingCache) Delete(CacheKey) (bool, error)       { return false, errors.New("cache offline") }

func TestCacheStore(t *testing.T) {
	store := &mapCache{m: map[CacheKey]CacheEntry{}}
	got := run(t, `export default { async fetch(req, env) {
	  const url = "https://example.com/a", named = await caches.open("named");
	  await caches.default.put(url, new Response("cached", { headers: { "cache-control": "max-age=60", "x-k": "v" } }));
	  await named.put(url, new Response("other", { headers: { "cache-control": "max-age=60" } }));
	  const hit = await caches.default.match(url);
	  const out = { body: await hit.text(), k: hit.headers.get("x-k"), named: await (await named.match(url)).text() };
	  out.deleted = await caches.default.delete(url);
	  out.again = await caches.default.delete(url);
	  out.after = (await caches.default.match(url)) ?? "miss";
	  return Response.json(out) } }`, &Env{Cache: store})
	if got != `{"body":"cached","k":"v","named":"other","deleted":true,"again":false,"after":"miss"}` {
		t.Fatal(got)
	}
	e, ok := store.m[CacheKey{Cache: "named", URL: "https://example.com/a"}]
	if len(store.m) != 1 || !ok || e.Status != 200 || string(e.Body) != "other" || time.Until(e.ExpiresAt) < 50*time.Second {
		t.Fatalf("store holds %+v", store.m)
	}
	got = run(t, `export default { async fetch() {
	  try { await caches.default.match("https://example.com/") } catch (e) { return new Response(e.message) }
	  return new Response("no error") } }`, &Env{Cache: failingCache{}})
	if !strings.Contains(got, "cache offline") {
		t.Fatal(got)
	}
	got = run(t, `export default { async fetch() {
	  await caches.default.put("https://example.com/m", new Response("mem", { headers: { "cache-control": "max-age=60" } }));
	  return new Response(await (await caches.default.match("https://example.com/m")).text()) } }`, &Env{Cache: CacheMemory(1 << 20)})
	if got != "mem" {
		t.Fatal(got)
	}
}

// ---- Queues ----

type sliceQueue struct {
	mu   sync.Mutex
	msgs []QueueMessage
}

func (q *sliceQueue) Send(m []QueueMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, m...)
	return nil
}

func (q *sliceQueue) Metrics() (QueueMetrics, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueMetrics{BacklogCount: int64(len(q.msgs)), BacklogBytes: 42}, nil
}

type fullQueue struct{}

func (fullQueue) Send([]QueueMessage) error { return errors.New("queue is full") }

func TestQueueSender(t *testing.T) {
	q := &sliceQueue{}
	got := run(t, `export default { async fetch(req, env) {
	  await env.JOBS.send({ a: 1 });
	  await env.JOBS.send("text", { contentType: "text", delaySeconds: 5 });
	  await env.JOBS.sendBatch([{ body: new Uint8Array([1, 2]), contentType: "bytes" }, { body: [1] }]);
	  const m = await env.JOBS.metrics();
	  let err = "none";
	  try { await env.FULL.send(1) } catch (e) { err = e.message }
	  return Response.json({ m, err }) } }`, &Env{Queues: map[string]QueueSender{"JOBS": q, "FULL": fullQueue{}}})
	var out struct {
		M   QueueMetrics
		Err string
	}
	if err := json.Unmarshal([]byte(got), &out); err != nil || out.M.BacklogCount != 4 || out.M.BacklogBytes != 42 || !strings.Contains(out.Err, "queue is full") {
		t.Fatalf("%v %s", err, got)
	}
	want := []QueueMessage{
		{Body: []byte(`{"a":1}`), ContentType: QueueJSON, DelaySeconds: -1},
		{Body: []byte("text"), ContentType: QueueText, DelaySeconds: 5},
		{Body: []byte{1, 2}, ContentType: QueueBytes, DelaySeconds: -1},
		{Body: []byte("[1]"), ContentType: QueueJSON, DelaySeconds: -1},
	}
	if len(q.msgs) != len(want) {
		t.Fatalf("%+v", q.msgs)
	}
	for i, m := range q.msgs {
		if !bytes.Equal(m.Body, want[i].Body) || m.ContentType != want[i].ContentType || m.DelaySeconds != want[i].DelaySeconds {
			t.Errorf("message %d: %+v (%s), want %+v", i, m, m.Body, want[i])
		}
	}
}

func TestExecuteQueue(t *testing.T) {
	e := newTestEngine(t, map[string]string{"consumer": `export default { async queue(batch, env) {
	  console.log(batch.queue, batch.messages.length);
	  for (const m of batch.messages) {
	    if (m.body.ok) m.ack(); else m.retry({ delaySeconds: 7 });
	  } } }`})
	now := time.Now()
	res := e.ExecuteQueue("consumer", "v1", nil, "jobs", []QueueDelivery{
		{ID: "1", Timestamp: now, Body: []byte(`{"ok":true}`), ContentType: QueueJSON, Attempts: 1},
		{ID: "2", Timestamp: now, Body: []byte(`{"ok":false}`), ContentType: QueueJSON, Attempts: 2},
	})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if len(res.Outcomes) != 2 || !res.Outcomes[0].Ack || res.Outcomes[1].Ack || res.Outcomes[1].RetryDelay != 7 {
		t.Fatalf("%+v", res.Outcomes)
	}
	if len(res.Logs) != 1 || res.Logs[0].Message != "jobs 2" {
		t.Fatalf("%+v", res.Logs)
	}
	res = e.ExecuteQueue("consumer", "v1", nil, "jobs", []QueueDelivery{{ID: "x", Body: []byte("{}"), Attempts: 0}})
	if !errors.Is(res.Error, ErrInvalidArgument) {
		t.Fatalf("attempts 0: %v", res.Error)
	}
}

func TestQueueBrokerDeliversEmbeddedQueue(t *testing.T) {
	dir := t.TempDir()
	got := make(chan string, 10)
	e, err := NewEngine(EngineConfig{PoolSize: 1}, mapLoader{
		"producer": `export default { async fetch(req, env) { await env.Q.send({ n: 1 }); await env.Q.send({ n: 2 }); return new Response("sent") } }`,
		"consumer": `export default { async queue(batch, env) { for (const m of batch.messages) { await env.SEEN.send(m.body.n); m.ack() } } }`,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	b, err := e.NewQueueBroker()
	if err != nil {
		t.Fatal(err)
	}
	seen := queueFunc(func(m []QueueMessage) error {
		for _, x := range m {
			got <- string(x.Body)
		}
		return nil
	})
	if err := b.Consume(QueueConsumer{Queue: "q", Path: dir + "/q.sqlite", SiteID: "consumer", DeployKey: "v1",
		Env: &Env{Queues: map[string]QueueSender{"SEEN": seen}}, MaxBatchTimeout: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	res := e.Execute("producer", "v1", &Env{Queues: map[string]QueueSender{"Q": QueueDefault(dir + "/q.sqlite")}}, &WorkerRequest{URL: "https://x/"})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	var bodies []string
	for len(bodies) < 2 {
		select {
		case s := <-got:
			bodies = append(bodies, s)
		case <-time.After(10 * time.Second):
			t.Fatalf("broker delivered %v", bodies)
		}
	}
	sort.Strings(bodies)
	if bodies[0] != "1" || bodies[1] != "2" {
		t.Fatalf("%v", bodies)
	}
	b.Close()
}

type queueFunc func([]QueueMessage) error

func (f queueFunc) Send(m []QueueMessage) error { return f(m) }

// ---- Assets ----

type mapAssets map[string]string

func (a mapAssets) Fetch(req *WorkerRequest) (*WorkerResponse, error) {
	path := req.URL[strings.Index(req.URL[len("https://"):], "/")+len("https://"):]
	if path == "/boom" {
		return nil, errors.New("asset server down")
	}
	body, ok := a[path]
	if !ok {
		return &WorkerResponse{StatusCode: 404}, nil
	}
	return &WorkerResponse{StatusCode: 200, Headers: http.Header{"Content-Type": {"text/plain"}, "X-If": {req.Headers.Get("If-None-Match")}}, Body: []byte(body)}, nil
}

func TestAssetsFetcher(t *testing.T) {
	got := run(t, `export default { async fetch(req, env) {
	  const a = await env.ASSETS.fetch("https://example.com/a.txt", { headers: { "if-none-match": "x" } });
	  const miss = await env.ASSETS.fetch(new Request("https://example.com/missing"));
	  let err = "none";
	  try { await env.ASSETS.fetch("https://example.com/boom") } catch (e) { err = e.message }
	  return Response.json({ a: await a.text(), type: a.headers.get("content-type"), inm: a.headers.get("x-if"), miss: miss.status, err }) } }`,
		&Env{Assets: mapAssets{"/a.txt": "A"}})
	if got != `{"a":"A","type":"text/plain","inm":"x","miss":404,"err":"asset server down"}` && !strings.Contains(got, `"err":"`) {
		t.Fatal(got)
	}
	var out map[string]interface{}
	_ = json.Unmarshal([]byte(got), &out)
	if out["a"] != "A" || out["type"] != "text/plain" || out["inm"] != "x" || out["miss"] != float64(404) || !strings.Contains(out["err"].(string), "asset server down") {
		t.Fatal(got)
	}
}

// ---- D1 ----

// fakeD1 answers a few statements the way a SQLite database would, and records the queries.
type fakeD1 struct {
	mu      sync.Mutex
	queries []*D1Query
}

func (d *fakeD1) Query(q *D1Query) (*D1Response, error) {
	d.mu.Lock()
	d.queries = append(d.queries, q)
	d.mu.Unlock()
	var res D1Response
	for i, s := range q.Statements {
		switch {
		case strings.HasPrefix(s.SQL, "SELECT ?"):
			res.Results = append(res.Results, D1Result{Columns: []string{"a", "b", "c", "d", "e"}, Rows: [][]interface{}{s.Params}, Meta: D1Meta{RowsRead: 1}})
		case strings.HasPrefix(s.SQL, "SELECT big"):
			res.Results = append(res.Results, D1Result{Columns: []string{"r", "blob", "t"}, Rows: [][]interface{}{{2.0, []byte("hi"), true}}})
		case strings.HasPrefix(s.SQL, "INSERT"):
			res.Results = append(res.Results, D1Result{Meta: D1Meta{Changes: 1, LastRowID: 9, ChangedDB: true}})
		case strings.HasPrefix(s.SQL, "DOWN"):
			return nil, errors.New("database unreachable")
		default:
			return nil, &D1StatementError{Statement: i, Message: "no such table: " + s.SQL}
		}
	}
	res.Bookmark = "000042"
	return &res, nil
}

func TestD1Database(t *testing.T) {
	db := &fakeD1{}
	got := run(t, `export default { async fetch(req, env) {
	  const out = {};
	  const r = await env.DB.prepare("SELECT ?, ?, ?, ?, ?").bind(1, 2.5, "s", null, new Uint8Array([104, 105])).raw();
	  out.row = r[0].slice(0, 4); out.blob = Array.from(new Uint8Array(r[0][4]));
	  out.big = await env.DB.prepare("SELECT big").first();
	  out.big.blob = Array.from(new Uint8Array(out.big.blob));
	  const ins = await env.DB.prepare("INSERT x").run();
	  out.meta = { changes: ins.meta.changes, last: ins.meta.last_row_id };
	  for (const sql of ["nope", "DOWN"]) try { await env.DB.prepare(sql).all() } catch (e) { out[sql] = e.message }
	  return Response.json(out) } }`, &Env{D1: map[string]D1Database{"DB": db}})
	want := `{"row":[1,2.5,"s",null],"blob":[104,105],"big":{"r":2,"blob":[104,105],"t":1},"meta":{"changes":1,"last":9},"nope":"D1_ERROR: no such table: nope","DOWN":"D1_ERROR: database unreachable"}`
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	p := db.queries[0].Statements[0].Params
	if p[0] != int64(1) || p[1] != 2.5 || p[2] != "s" || p[3] != nil || !bytes.Equal(p[4].([]byte), []byte("hi")) || db.queries[0].Mode != "query" {
		t.Fatalf("params %#v", db.queries[0])
	}
}

// ---- R2 ----

type memObject struct {
	obj  R2Object
	data []byte
}

// memR2 is an in-memory bucket: conditionals and ranges through the package's helpers.
type memR2 struct {
	mu sync.Mutex
	m  map[string]memObject
}

func (b *memR2) Head(key string) (*R2Object, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.m[key]; ok {
		return &o.obj, nil
	}
	return nil, nil
}

func (b *memR2) Get(key string, opts R2GetOptions) (*R2Object, io.Reader, error) {
	b.mu.Lock()
	o, ok := b.m[key]
	b.mu.Unlock()
	if !ok {
		return nil, nil, nil
	}
	if holds, err := opts.Holds(o.obj.ETag, o.obj.Uploaded); err != nil || !holds {
		return &o.obj, nil, err
	}
	r, err := opts.ResolveRange(o.obj.Size)
	if err != nil {
		return nil, nil, err
	}
	obj := o.obj
	obj.Range = &r
	// A slow reader: the body crosses in several chunks from this goroutine.
	return &obj, io.LimitReader(bytes.NewReader(o.data[r.Offset:]), r.Length), nil
}

func (b *memR2) Put(key string, body io.Reader, opts R2PutOptions) (*R2Object, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.m[key]
	if holds, err := opts.Holds(cur.obj.ETag, cur.obj.Uploaded); err != nil || !holds {
		return nil, err
	}
	sum := md5.Sum(data)
	o := R2Object{Key: key, Size: int64(len(data)), ETag: hex.EncodeToString(sum[:]), Uploaded: time.Now(),
		HTTPMetadata: opts.HTTPMetadata, CustomMetadata: opts.CustomMetadata}
	b.m[key] = memObject{o, data}
	return &o, nil
}

func (b *memR2) Delete(keys []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.m, k)
	}
	return nil
}

func (b *memR2) List(opts R2ListOptions) (*R2ListResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var res R2ListResult
	var keys []string
	for k := range b.m {
		if strings.HasPrefix(k, opts.Prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		res.Objects = append(res.Objects, b.m[k].obj)
	}
	return &res, nil
}

func TestR2Store(t *testing.T) {
	bucket := &memR2{m: map[string]memObject{}}
	big := strings.Repeat("0123456789", 30000) // 300 kB: several body chunks each way
	got := run(t, `export default { async fetch(req, env) {
	  const B = env.BUCKET, out = {};
	  const big = "`+big+`";
	  const put = await B.put("big", big, { httpMetadata: { contentType: "text/plain" }, customMetadata: { a: "b" } });
	  out.etag = put.etag; out.size = put.size;
	  const g = await B.get("big");
	  out.same = (await g.text()) === big; out.type = g.httpMetadata.contentType; out.custom = g.customMetadata;
	  out.range = await (await B.get("big", { range: { offset: 5, length: 7 } })).text();
	  const fls = new FixedLengthStream(6), w = fls.writable.getWriter(), enc = new TextEncoder();
	  const putting = B.put("s", fls.readable);
	  await w.write(enc.encode("str")); await w.write(enc.encode("eam")); await w.close();
	  await putting;
	  out.stream = await (await B.get("s")).text();
	  out.notModified = "body" in (await B.get("big", { onlyIf: { etagDoesNotMatch: put.etag } }));
	  out.failedPut = await B.put("big", "x", { onlyIf: { etagMatches: "nope" } });
	  out.head = (await B.head("s")).size;
	  out.list = (await B.list()).objects.map(o => o.key);
	  await B.delete(["s"]);
	  out.gone = await B.get("s");
	  try { await B.createMultipartUpload("m") } catch (e) { out.multipart = e.message }
	  return Response.json(out) } }`, &Env{Storage: map[string]R2Store{"BUCKET": bucket}})
	sum := md5.Sum([]byte(big))
	want := `{"etag":"` + hex.EncodeToString(sum[:]) + `","size":300000,"same":true,"type":"text/plain","custom":{"a":"b"},"range":"5678901","stream":"stream","notModified":false,"failedPut":null,"head":6,"list":["big","s"],"gone":null,"multipart":"createMultipartUpload: Multipart uploads are not supported by this bucket."}`
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

type brokenR2 struct{ memR2 }

func (*brokenR2) Get(string, R2GetOptions) (*R2Object, io.Reader, error) {
	return &R2Object{Key: "k", Size: 10, ETag: "e"}, io.MultiReader(strings.NewReader("part"), errReader{}), nil
}
func (*brokenR2) Head(string) (*R2Object, error) { return nil, errors.New("bucket offline") }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk read failed") }

func TestR2StoreFailures(t *testing.T) {
	got := run(t, `export default { async fetch(req, env) {
	  const out = {};
	  try { await env.B.head("k") } catch (e) { out.head = e.message }
	  try { await (await env.B.get("k")).text() } catch (e) { out.body = e.message }
	  return Response.json(out) } }`, &Env{Storage: map[string]R2Store{"B": &brokenR2{}}})
	if got != `{"head":"head: bucket offline","body":"disk read failed"}` {
		t.Fatal(got)
	}
}

func TestEmbeddedDefaults(t *testing.T) {
	dir := t.TempDir()
	got := run(t, `export default { async fetch(req, env) {
	  await env.DB.exec("CREATE TABLE t (x)");
	  await env.DB.prepare("INSERT INTO t VALUES (?)").bind(41).run();
	  const row = await env.DB.prepare("SELECT x + 1 AS y FROM t").first();
	  await env.FILES.put("k", "v");
	  return Response.json({ y: row.y, r2: await (await env.FILES.get("k")).text() }) } }`,
		&Env{D1: map[string]D1Database{"DB": D1Default(dir + "/d1.sqlite")}, Storage: map[string]R2Store{"FILES": R2Default(dir + "/r2")}})
	if got != `{"y":42,"r2":"v"}` {
		t.Fatal(got)
	}
}
