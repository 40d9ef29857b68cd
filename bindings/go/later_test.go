package worker

import (
	"strings"
	"testing"
	"time"
)

// later runs f on another goroutine after a pause and waits for it, as a store backed by a
// network service answers.
func later[T any](f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result)
	go func() {
		time.Sleep(10 * time.Millisecond)
		v, err := f()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

type laterCache struct{ *mapCache }

func (c laterCache) Match(k CacheKey) (*CacheEntry, error) {
	return later(func() (*CacheEntry, error) { return c.mapCache.Match(k) })
}

type laterD1 struct{ *fakeD1 }

func (d laterD1) Query(q *D1Query) (*D1Response, error) {
	return later(func() (*D1Response, error) { return d.fakeD1.Query(q) })
}

type laterAssets struct{ mapAssets }

func (a laterAssets) Fetch(r *WorkerRequest) (*WorkerResponse, error) {
	return later(func() (*WorkerResponse, error) { return a.mapAssets.Fetch(r) })
}

type laterQueue struct{ *sliceQueue }

func (q laterQueue) Send(m []QueueMessage) error {
	_, err := later(func() (bool, error) { return true, q.sliceQueue.Send(m) })
	return err
}

func TestStoresAnswerLater(t *testing.T) {
	q := &sliceQueue{}
	got := run(t, `export default { async fetch(req, env) {
	  await caches.default.put("https://example.com/x", new Response("c", { headers: { "cache-control": "max-age=60" } }));
	  const c = await (await caches.default.match("https://example.com/x")).text();
	  const d = await env.DB.prepare("SELECT ?, ?, ?, ?, ?").bind(5, 6, 7, 8, 9).raw();
	  const a = await (await env.ASSETS.fetch("https://example.com/a.txt")).text();
	  await env.Q.send("m", { contentType: "text" });
	  return new Response([c, d[0][0], a].join(" ")) } }`, &Env{
		Cache:  laterCache{&mapCache{m: map[CacheKey]CacheEntry{}}},
		D1:     map[string]D1Database{"DB": laterD1{&fakeD1{}}},
		Assets: laterAssets{mapAssets{"/a.txt": "A"}},
		Queues: map[string]QueueSender{"Q": laterQueue{q}},
	})
	if got != "c 5 A" || len(q.msgs) != 1 || !strings.EqualFold(string(q.msgs[0].Body), "m") {
		t.Fatalf("%q %+v", got, q.msgs)
	}
}
