"""Queue consumers from Python: batches delivered to a worker's queue() handler, the embedded
broker with retries and dead letters, a project's consumers, and project warnings."""
from __future__ import annotations

import asyncio
import json
import queue as stdlib_queue
import sys
import time
from datetime import datetime, timezone
from typing import Callable, List

import pytest

import worker

# Acks messages whose body says so, retries the others (with the delay the body asks for).
SORTING_CONSUMER = """export default { async queue(batch, env) {
  console.log(batch.queue, batch.messages.length);
  for (const m of batch.messages) {
    if (m.body.ok) m.ack();
    else if (m.body.delay !== undefined) m.retry({ delaySeconds: m.body.delay });
    else m.retry();
  }
} }"""


def engine_for(code: str) -> worker.Engine:
    return worker.Engine(worker.EngineConfig(pool_size=1), lambda site, deploy: code)


def test_outcomes_follow_the_handlers_decisions() -> None:
    with engine_for(SORTING_CONSUMER) as e:
        r = e.execute_queue("consumer", "v1", None, "jobs", [
            worker.QueueDelivery("a", '{"ok": true}'),
            worker.QueueDelivery("b", b'{"ok": false, "delay": 7}'),
            worker.QueueDelivery("c", '{"ok": false}', attempts=2),
            {"id": "d", "body": '{"ok": true}', "content_type": "json"},
        ])
    assert r.error is None
    assert r.outcomes == [
        worker.QueueOutcome(ack=True, retry_delay=None),
        worker.QueueOutcome(ack=False, retry_delay=7),
        worker.QueueOutcome(ack=False, retry_delay=None),
        worker.QueueOutcome(ack=True, retry_delay=None),
    ]
    assert r.logs == [worker.LogEntry("log", "jobs 4")]
    assert r.duration_ms > 0


def test_the_handler_sees_each_message_as_sent() -> None:
    code = """export default { async queue(batch) {
      for (const m of batch.messages) {
        const body = m.body instanceof ArrayBuffer ? [...new Uint8Array(m.body)] : m.body;
        console.log(JSON.stringify([m.id, m.timestamp.getTime(), m.attempts, body]));
      }
    } }"""
    sent = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    before = int(time.time() * 1000)  # the runtime truncates to whole ms
    with engine_for(code) as e:
        r = e.execute_queue("c", "v1", None, "q", [
            worker.QueueDelivery("j", '{"n": [1, 2]}', timestamp=sent, attempts=3),
            worker.QueueDelivery("t", "plain words", content_type="text", timestamp=1_700_000_000_123),
            worker.QueueDelivery("b", b"\x00\xff", content_type="bytes"),
        ])
    seen = [json.loads(l.message) for l in r.logs]
    assert seen[0] == ["j", int(sent.timestamp() * 1000), 3, {"n": [1, 2]}]
    assert seen[1] == ["t", 1_700_000_000_123, 1, "plain words"]
    assert seen[2][0] == "b" and seen[2][3] == [0, 255]
    assert before <= seen[2][1] <= time.time() * 1000 + 1  # no timestamp: now


def test_a_handler_that_throws_sets_error_and_retries_what_it_did_not_ack() -> None:
    code = """export default { async queue(batch) {
      console.log("start");
      batch.messages[0].ack();
      batch.messages[1].retry({ delaySeconds: 3 });
      throw new RangeError("database unreachable");
    } }"""
    with engine_for(code) as e:
        r = e.execute_queue("c", "v1", None, "q",
                            [worker.QueueDelivery(str(i), "{}") for i in range(3)])
    assert isinstance(r.error, worker.JSException)
    assert r.error.js_name == "RangeError"
    assert r.error.message == "database unreachable"
    assert r.error.logs == [worker.LogEntry("log", "start")] == r.logs
    assert r.outcomes == [(True, None), (False, 3), (False, None)]


def test_a_worker_without_a_queue_handler_fails_the_whole_batch() -> None:
    with engine_for('export default { fetch() { return new Response("") } }') as e:
        r = e.execute_queue("c", "v1", None, "q", [worker.QueueDelivery("1", "{}")])
    assert isinstance(r.error, worker.WorkerError)
    assert r.outcomes == [(False, None)]


def test_execute_queue_async_with_a_python_store() -> None:
    class Seen:
        def __init__(self) -> None:
            self.bodies: List[bytes] = []

        async def send(self, messages):
            await asyncio.sleep(0)
            self.bodies += [m.body for m in messages]

    code = """export default { async queue(batch, env) {
      for (const m of batch.messages) await env.SEEN.send(m.body, { contentType: "text" });
    } }"""
    seen = Seen()

    async def main() -> worker.QueueResult:
        with engine_for(code) as e:
            env = worker.Env(queues={"SEEN": seen})
            return await e.execute_queue_async("c", "v1", env, "q", [
                worker.QueueDelivery("1", "one", content_type="text"),
                worker.QueueDelivery("2", "two", content_type="text")])

    r = asyncio.run(main())
    assert r.error is None and r.outcomes == [(True, None), (True, None)]
    assert seen.bodies == [b"one", b"two"]


@pytest.mark.parametrize("messages, error, text", [
    ([worker.QueueDelivery("1", "{}", content_type="xml")], ValueError, 'unknown content type "xml"'),
    ([worker.QueueDelivery("1", "{}")] * 101, ValueError, "at most 100 messages"),
    ([worker.QueueDelivery("1", "{}", attempts=0)], ValueError, "attempts is 0"),
    ([worker.QueueDelivery("1", "not json")], ValueError, "not JSON text"),
    ([worker.QueueDelivery("1", b"\xff", content_type="text")], ValueError, "not UTF-8"),
    ([worker.QueueDelivery("1", 42)], TypeError, "body"),  # type: ignore[arg-type]
    ([worker.QueueDelivery(1, "{}")], TypeError, "id must be a str"),  # type: ignore[arg-type]
    ([worker.QueueDelivery("1", "{}", timestamp="yesterday")], TypeError, "timestamp"),  # type: ignore[arg-type]
    ([{"body": "{}"}], ValueError, "needs `id`"),
    ("{}", TypeError, "sequence of QueueDelivery"),
])
def test_bad_messages_raise_before_anything_runs(messages, error, text: str) -> None:
    with engine_for(SORTING_CONSUMER) as e:
        with pytest.raises(error, match=text):
            e.execute_queue("c", "v1", None, "q", messages)
        with pytest.raises(ValueError, match="queue name"):
            e.execute_queue("c", "v1", None, "", [])
        # The engine is none the worse.
        assert e.execute_queue("c", "v1", None, "q", [worker.QueueDelivery("1", '{"ok": 1}')]).outcomes == [(True, None)]


# ---------------------------------------------------------------------- the broker


class Events:
    """Collects broker events from the broker's thread, for the test's thread to wait on."""

    def __init__(self) -> None:
        self.all: List[worker.BrokerEvent] = []
        self._new: "stdlib_queue.Queue[worker.BrokerEvent]" = stdlib_queue.Queue()

    def __call__(self, event: worker.BrokerEvent) -> None:
        self._new.put(event)

    def wait_for(self, done: Callable[[List[worker.BrokerEvent]], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.all):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {self.all}")
            try:
                self.all.append(self._new.get(timeout=left))
            except stdlib_queue.Empty:
                pass

    def of(self, cls: type) -> list:
        return [e for e in self.all if isinstance(e, cls)]


PRODUCER = """export default { async fetch(req, env) {
  await env.JOBS.sendBatch([{ body: { n: 1, ok: true } }, { body: { n: 2, ok: false } },
                            { body: { n: 3, ok: true } }]);
  return new Response("sent");
} }"""


def test_broker_delivers_retries_and_dead_letters(tmp_path) -> None:
    code = {"producer": PRODUCER, "consumer": SORTING_CONSUMER,
            "dlq-reader": """export default { async queue(batch) {
              for (const m of batch.messages) console.log("dead", m.body.n, m.attempts);
            } }"""}
    jobs = worker.SqliteQueue(str(tmp_path / "jobs.sqlite"))
    dead = worker.SqliteQueue(str(tmp_path / "dead.sqlite"))
    events = Events()
    with worker.Engine(worker.EngineConfig(pool_size=1), lambda site, deploy: code[site]) as e, \
            worker.QueueBroker(e, on_event=events) as broker:
        broker.consume("jobs", jobs, "consumer", "v1", max_batch_size=3, max_batch_timeout=0,
                       max_retries=1, dead_letter_queue=("dead", dead))
        broker.consume("dead", dead, "dlq-reader", "v1", max_batch_timeout=0)
        assert e.execute("producer", "v1", worker.Env(queues={"JOBS": jobs}), "http://x/").text() == "sent"
        events.wait_for(lambda all: any(isinstance(x, worker.QueueDeadLettered) for x in all)
                        and any(isinstance(x, worker.QueueDelivered) and x.queue == "dead"
                                for x in all))

    jobs_batches = [d for d in events.of(worker.QueueDelivered) if d.queue == "jobs"]
    first, second = jobs_batches[:2]
    assert len(first.ids) == 3 and first.result.error is None
    assert first.result.outcomes == [(True, None), (False, None), (True, None)]
    assert first.result.logs == [worker.LogEntry("log", "jobs 3")]
    retried = first.ids[1]
    assert second.ids == [retried] and second.result.outcomes == [(False, None)]
    (moved,) = events.of(worker.QueueDeadLettered)
    assert (moved.queue, moved.dead_letter_queue, moved.id, moved.kind) == ("jobs", "dead", retried, "dead_lettered")
    (read,) = [d for d in events.of(worker.QueueDelivered) if d.queue == "dead"]
    assert read.ids == [retried]  # a dead letter keeps its id
    assert read.result.logs == [worker.LogEntry("log", "dead 2 1")]
    assert broker.closed


def test_broker_without_a_dead_letter_queue_drops(tmp_path) -> None:
    jobs = worker.SqliteQueue(str(tmp_path / "jobs.sqlite"))
    events = Events()
    code = {"producer": PRODUCER, "consumer": SORTING_CONSUMER}
    with worker.Engine(worker.EngineConfig(pool_size=1), lambda site, deploy: code[site]) as e:
        broker = worker.QueueBroker(e, events)
        broker.consume("jobs", jobs, "consumer", "v1", max_batch_timeout=0, max_retries=0)
        e.execute("producer", "v1", worker.Env(queues={"JOBS": jobs}), "http://x/")
        events.wait_for(lambda all: any(isinstance(x, worker.QueueDropped) for x in all))
    (dropped,) = events.of(worker.QueueDropped)
    assert (dropped.queue, dropped.attempts, dropped.kind) == ("jobs", 1, "dropped")
    assert broker.closed  # closing the engine closed its broker


def test_a_failing_event_callback_is_reported_and_the_broker_carries_on(tmp_path, monkeypatch) -> None:
    reported: "stdlib_queue.Queue[BaseException]" = stdlib_queue.Queue()
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.put(u.exc_value))
    delivered: "stdlib_queue.Queue[list]" = stdlib_queue.Queue()

    def on_event(event: worker.BrokerEvent) -> None:
        delivered.put(event.ids)
        raise KeyError("callback bug")

    jobs = worker.SqliteQueue(str(tmp_path / "jobs.sqlite"))
    code = {"producer": 'export default { async fetch(r, env) { await env.JOBS.send({ ok: true }); return new Response("") } }',
            "consumer": SORTING_CONSUMER}
    with worker.Engine(worker.EngineConfig(pool_size=1), lambda site, deploy: code[site]) as e, \
            worker.QueueBroker(e, on_event) as broker:
        broker.consume("jobs", jobs, "consumer", "v1", max_batch_timeout=0)
        env = worker.Env(queues={"JOBS": jobs})
        for _ in range(2):
            e.execute("producer", "v1", env, "http://x/")
            assert len(delivered.get(timeout=20)) == 1
            assert isinstance(reported.get(timeout=20), KeyError)


def test_closing_from_the_event_callback_raises_instead_of_hanging(tmp_path) -> None:
    outcome: "stdlib_queue.Queue[BaseException]" = stdlib_queue.Queue()
    jobs = worker.SqliteQueue(str(tmp_path / "jobs.sqlite"))
    code = {"producer": 'export default { async fetch(r, env) { await env.JOBS.send({ ok: true }); return new Response("") } }',
            "consumer": SORTING_CONSUMER}
    with worker.Engine(worker.EngineConfig(pool_size=1), lambda site, deploy: code[site]) as e:
        def on_event(event: worker.BrokerEvent) -> None:
            try:
                broker.close()
            except RuntimeError as err:
                outcome.put(err)

        broker = worker.QueueBroker(e, on_event)
        broker.consume("jobs", jobs, "consumer", "v1", max_batch_timeout=0)
        e.execute("producer", "v1", worker.Env(queues={"JOBS": jobs}), "http://x/")
        assert "own queue event callback" in str(outcome.get(timeout=20))
        assert not broker.closed
        broker.close()
        assert broker.closed


def test_broker_consumer_settings_are_checked(tmp_path) -> None:
    q = worker.SqliteQueue(str(tmp_path / "q.sqlite"))
    with engine_for(SORTING_CONSUMER) as e, worker.QueueBroker(e) as broker:
        for bad, text in [(dict(max_batch_size=0), "max_batch_size is 0"),
                          (dict(max_batch_size=101), "max_batch_size is 101"),
                          (dict(max_batch_timeout=61), "max_batch_timeout"),
                          (dict(max_retries=-1), "max_retries is -1"),
                          (dict(retry_delay=50_000), "retry_delay is 50000")]:
            with pytest.raises(ValueError, match=text):
                broker.consume("q", q, "c", "v1", **bad)
        with pytest.raises(TypeError, match="store must be a worker.SqliteQueue"):
            broker.consume("q", str(tmp_path / "q.sqlite"), "c", "v1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="dead_letter_queue must be a"):
            broker.consume("q", q, "c", "v1", dead_letter_queue=q)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="closed"):
        broker.consume("q", q, "c", "v1")


# ---------------------------------------------------------------------- projects


def test_project_queue_consumer_reports_through_on_queue_event(tmp_path) -> None:
    (tmp_path / "worker.js").write_text("""export default {
      async fetch(req, env) { await env.TASKS.send({ task: "resize" }); return new Response("queued") },
      async queue(batch) { for (const m of batch.messages) console.log("did", m.body.task) },
    }""")
    (tmp_path / "wrangler.jsonc").write_text("""{
      "name": "app", "main": "worker.js",
      // One queue, produced and consumed by the same worker.
      "queues": {
        "producers": [{ "binding": "TASKS", "queue": "tasks" }],
        "consumers": [{ "queue": "tasks", "max_batch_timeout": 0 }]
      }
    }""")
    events = Events()
    with worker.Engine(worker.EngineConfig(pool_size=1)) as e, \
            worker.Project(e, tmp_path / "wrangler.jsonc", state_dir=tmp_path / "state",
                           on_queue_event=events) as app:
        assert app.warnings == []
        assert app.fetch("http://localhost/").text() == "queued"
        events.wait_for(lambda all: len(all) >= 1)
    (delivered,) = events.all
    assert isinstance(delivered, worker.QueueDelivered)
    assert delivered.queue == "tasks" and len(delivered.ids) == 1
    assert delivered.result.outcomes == [(True, None)]
    assert delivered.result.logs == [worker.LogEntry("log", "did resize")]


def test_project_warnings_name_what_the_config_asks_for_in_vain(tmp_path) -> None:
    (tmp_path / "worker.js").write_text('export default { fetch() { return new Response("ok") } }')
    (tmp_path / "wrangler.toml").write_text(
        'name = "w"\nmain = "worker.js"\n[triggers]\ncrons = ["* * * * *"]\n'
        '[ai]\nbinding = "AI"\n')
    with worker.Engine() as e, worker.Project(e, tmp_path / "wrangler.toml",
                                              state_dir=tmp_path / "state") as app:
        assert app.fetch("http://localhost/").text() == "ok"
        warnings = app.warnings
    assert len(warnings) == 2
    assert any("`triggers`" in w and "ignored" in w for w in warnings)
    assert any("`ai` (AI)" in w and "not available in env" in w for w in warnings)
