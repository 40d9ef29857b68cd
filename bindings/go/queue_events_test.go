package worker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A consumer acks "good", retries "bad" and throws on "boom".
const judgingConsumer = `export default {
  async fetch(req, env) {
    await env.Q.sendBatch([{ body: "good" }, { body: "bad" }])
    return new Response("sent")
  },
  async queue(batch) {
    console.log("batch of", batch.messages.length)
    for (const m of batch.messages) {
      if (m.body === "boom") throw new Error("consumer failed")
      m.body === "good" ? m.ack() : m.retry({ delaySeconds: 0 })
    }
  },
}`

// events collects queue events until the wanted kinds have all been seen (the first of each).
type events chan QueueEvent

func (ch events) observe(ev QueueEvent) { ch <- ev }

func (ch events) await(t *testing.T, kinds ...QueueEventKind) map[QueueEventKind]QueueEvent {
	t.Helper()
	got := map[QueueEventKind]QueueEvent{}
	for len(got) < len(kinds) {
		select {
		case ev := <-ch:
			for _, k := range kinds {
				if _, dup := got[k]; ev.Kind == k && !dup {
					got[k] = ev
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("saw %v, want %v", got, kinds)
		}
	}
	return got
}

func TestQueueBrokerReportsEvents(t *testing.T) {
	dir := t.TempDir()
	e, err := NewEngine(EngineConfig{PoolSize: 1}, mapLoader{"c": judgingConsumer})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	b, err := e.NewQueueBroker()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.OnEvent(nil); err == nil {
		t.Fatal("OnEvent(nil) is an error")
	}
	seen := make(events, 16)
	if err := b.OnEvent(seen.observe); err != nil {
		t.Fatal(err)
	}
	env := &Env{Queues: map[string]QueueSender{"Q": QueueDefault(dir + "/q.sqlite")}}
	if err := b.Consume(QueueConsumer{Queue: "jobs", Path: dir + "/q.sqlite", SiteID: "c", DeployKey: "v1", Env: env,
		MaxBatchTimeout: time.Millisecond, MaxRetries: 1, DeadLetterQueue: "dead", DeadLetterPath: dir + "/dlq.sqlite"}); err != nil {
		t.Fatal(err)
	}
	if res := e.Execute("c", "v1", env, &WorkerRequest{URL: "https://x/"}); res.Error != nil {
		t.Fatal(res.Error)
	}
	got := seen.await(t, QueueDelivered, QueueDeadLettered)
	d := got[QueueDelivered]
	if d.Queue != "jobs" || len(d.IDs) != 2 || d.Result == nil || d.Result.Error != nil {
		t.Fatalf("delivered: %+v", d)
	}
	if o := d.Result.Outcomes; !o[0].Ack || o[1].Ack || o[1].RetryDelay != 0 {
		t.Fatalf("outcomes: %+v", o)
	}
	if len(d.Result.Logs) != 1 || d.Result.Logs[0].Message != "batch of 2" {
		t.Fatalf("logs: %+v", d.Result.Logs)
	}
	if dl := got[QueueDeadLettered]; dl.Queue != "jobs" || dl.DeadLetterQueue != "dead" || dl.ID != d.IDs[1] {
		t.Fatalf("dead-lettered: %+v (ids %v)", dl, d.IDs)
	}
	b.Close()
}

func TestProjectQueueEventsAndWarnings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("wrangler.jsonc", `{
	  "name": "go-queues", "main": "w.js",
	  "triggers": { "crons": ["0 * * * *"] },
	  "queues": {
	    "producers": [{ "binding": "Q", "queue": "jobs" }],
	    "consumers": [{ "queue": "jobs", "max_batch_timeout": 0, "max_retries": 0 }]
	  }
	}`)
	write("w.js", strings.Replace(judgingConsumer, `{ body: "bad" }`, `{ body: "boom" }`, 1))

	e := newTestEngine(t, nil)
	seen := make(events, 16)
	p, err := e.OpenProject(filepath.Join(dir, "wrangler.jsonc"), ProjectOptions{StateDir: t.TempDir(), OnQueueEvent: seen.observe})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], "`triggers` is not supported yet") {
		t.Fatalf("warnings %q", w)
	}
	if res := p.Fetch(&WorkerRequest{URL: "https://go-queues/"}); res.Error != nil {
		t.Fatal(res.Error)
	}
	// The handler acks "good", then throws: its error comes with the delivery, and the message
	// it did not ack, with no retries left, is dropped.
	got := seen.await(t, QueueDelivered, QueueDropped)
	d := got[QueueDelivered]
	var we *WorkerError
	if !errors.As(d.Result.Error, &we) || we.Kind != KindException || !strings.Contains(we.Message, "consumer failed") || we.Stack == "" {
		t.Fatalf("delivery error: %#v", d.Result.Error)
	}
	if !errors.Is(d.Result.Error, ErrException) {
		t.Fatalf("errors.Is(ErrException) for %v", d.Result.Error)
	}
	if o := d.Result.Outcomes; len(o) != 2 || !o[0].Ack || o[1].Ack || o[1].RetryDelay != -1 {
		t.Fatalf("outcomes: %+v", o)
	}
	if dr := got[QueueDropped]; dr.Queue != "jobs" || dr.ID != d.IDs[1] || dr.Attempts != 1 {
		t.Fatalf("dropped: %+v", dr)
	}
}
