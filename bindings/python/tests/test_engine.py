"""The engine from Python: requests and responses, errors, the source loader, functions,
compilation, threads, asyncio and closing."""
from __future__ import annotations

import asyncio
import threading

import pytest

import worker

HELLO = 'export default { fetch() { return new Response("hello") } }'


def engine_for(code: str, **config) -> worker.Engine:
    return worker.Engine(worker.EngineConfig(pool_size=2, **config), lambda site, deploy: code)


def test_request_and_response_round_trip() -> None:
    code = """export default { async fetch(req, env) {
      const h = new Headers({"x-method": req.method, "x-body": await req.text(),
                             "x-multi": req.headers.get("x-multi"), "x-var": env.WHO,
                             "x-json": JSON.stringify(env.CONF), "x-secret": env.TOKEN});
      h.append("set-cookie", "a=1"); h.append("set-cookie", "b=2");
      return new Response("body:" + req.url, {status: 201, statusText: "Made", headers: h});
    } }"""
    with engine_for(code) as e:
        env = worker.Env(vars={"WHO": "py"}, secrets={"TOKEN": "t"}, json={"CONF": {"a": [1, True]}})
        req = worker.Request("POST", "https://example.com/p?q=1",
                             [("x-multi", "1"), ("x-multi", "2")], "payload")
        res = e.execute("site", "v1", env, req)
    assert (res.status, res.status_text) == (201, "Made")
    assert res.text() == "body:https://example.com/p?q=1"
    assert res.header("x-method") == "POST"
    assert res.header("x-body") == "payload"
    assert res.header("x-multi") == "1, 2"
    assert res.header("x-var") == "py" and res.header("x-secret") == "t"
    assert res.header("x-json") == '{"a":[1,true]}'
    assert res.header_values("set-cookie") == ["a=1", "b=2"]
    assert isinstance(res.body, bytes) and res.duration > 0


def test_headers_as_a_mapping_with_lists() -> None:
    code = 'export default { fetch(r) { return new Response(r.headers.get("a") + "|" + r.headers.get("b")) } }'
    with engine_for(code) as e:
        res = e.execute("s", "d", None, worker.Request("GET", "http://x/", {"a": ["1", "2"], "b": "3"}))
    assert res.text() == "1, 2|3"


def test_json_and_logs() -> None:
    code = 'export default { fetch() { console.log("hi", 1); console.warn("careful"); return Response.json({a: 1}) } }'
    with engine_for(code) as e:
        res = e.execute("s", "d", None, "http://x/")
    assert res.json() == {"a": 1}
    assert res.logs == [worker.LogEntry("log", "hi 1"), worker.LogEntry("warn", "careful")]


def test_uncaught_exception_is_a_js_exception() -> None:
    code = """export default { fetch() { console.log("before"); null.boom } }"""
    with engine_for(code) as e:
        with pytest.raises(worker.JSException) as info:
            e.execute("s", "d", None, "http://x/")
    err = info.value
    assert isinstance(err, worker.WorkerError)
    assert err.js_name == "TypeError"
    assert "null" in err.message
    assert "worker.js" in err.js_stack
    assert err.logs == [worker.LogEntry("log", "before")]


def test_syntax_error_reports_file_line_col() -> None:
    with engine_for(HELLO) as e:
        with pytest.raises(worker.ScriptError) as info:
            e.compile_and_cache("s", "d", worker.WorkerSource(
                [worker.Module("src/main.js", "export default {\n  fetch() { return 1 +; }\n}")]))
    assert info.value.location is not None
    assert info.value.location.startswith("src/main.js:2:")
    assert "SyntaxError" in str(info.value)


def test_compile_and_cache_replaces_the_loader_source() -> None:
    with engine_for(HELLO) as e:
        cache = e.compile_and_cache("s", "d", 'export default { fetch() { return new Response("compiled") } }')
        assert isinstance(cache, bytes) and len(cache) > 0
        assert e.execute("s", "d", None, "http://x/").text() == "compiled"
        assert e.execute("other", "d", None, "http://x/").text() == "hello"


def test_modules_of_every_type() -> None:
    source = worker.WorkerSource([
        worker.Module("index.js", 'import t from "./a.txt"; import j from "./b.json"; import d from "./c.bin";\n'
                      'export default { fetch() { return new Response(t + j.n + new Uint8Array(d)[0]) } }'),
        worker.Module("a.txt", "text-", "text"),
        worker.Module("b.json", '{"n": 5}', "json"),
        worker.Module("c.bin", b"\x07", "data"),
    ], main_module="index.js")
    with worker.Engine(source_loader=lambda s, d: source) as e:
        assert e.execute("s", "d", None, "http://x/").text() == "text-57"


def test_service_worker_syntax_is_detected() -> None:
    code = 'addEventListener("fetch", e => e.respondWith(new Response("sw")))'
    with engine_for(code) as e:
        assert e.execute("s", "d", None, "http://x/").text() == "sw"


def test_execute_function() -> None:
    code = """export function add(env, a, b) { return {sum: a + b, who: env.WHO} }
    export default { async twice(env, x) { return x * 2 }, fetch() { return new Response("") } }"""
    with engine_for(code) as e:
        env = worker.Env(vars={"WHO": "me"})
        assert e.execute_function("s", "d", env, "add", 2, 3) == {"sum": 5, "who": "me"}
        assert e.execute_function("s", "d", None, "twice", 21) == 42
        with pytest.raises(worker.WorkerError):
            e.execute_function("s", "d", None, "missing")
        assert asyncio.run(e.execute_function_async("s", "d", env, "add", 1, 1))["sum"] == 2


class Loader:
    def __init__(self) -> None:
        self.calls = []

    def load(self, site: str, deploy: str) -> str:
        self.calls.append((site, deploy))
        if site == "missing":
            raise LookupError(f"no worker called {site}")
        if site == "none":
            return None  # type: ignore[return-value]
        return f'export default {{ fetch() {{ return new Response("{site}/{deploy}") }} }}'


def test_source_loader_object_and_errors() -> None:
    loader = Loader()
    with worker.Engine(source_loader=loader) as e:
        assert e.execute("a", "1", None, "http://x/").text() == "a/1"
        assert e.execute("a", "1", None, "http://x/").text() == "a/1"
        assert loader.calls == [("a", "1")]  # loaded once, then resident
        with pytest.raises(worker.ScriptNotFound, match="no worker called missing"):
            e.execute("missing", "1", None, "http://x/")
        with pytest.raises(worker.ScriptNotFound, match="returned None"):
            e.execute("none", "1", None, "http://x/")


def test_async_source_loader_and_no_loader() -> None:
    async def load(site: str, deploy: str) -> str:
        await asyncio.sleep(0.01)
        return 'export default { fetch() { return new Response("async loaded") } }'

    with worker.Engine(source_loader=load) as e:
        assert e.execute("s", "d", None, "http://x/").text() == "async loaded"
    with worker.Engine() as e:
        with pytest.raises(worker.ScriptNotFound, match="no source loader"):
            e.execute("s", "d", None, "http://x/")


def test_a_loader_returning_a_broken_script() -> None:
    with engine_for("export default {") as e:
        with pytest.raises(worker.ScriptError):
            e.execute("s", "d", None, "http://x/")


def test_limits_raise_their_own_errors_and_the_engine_recovers() -> None:
    code = """export default { fetch(req) {
      if (req.url.endsWith("/spin")) { for (;;) {} }
      if (req.url.endsWith("/big")) return new Response("x".repeat(4096));
      return new Response("ok") } }"""
    with engine_for(code, cpu_time_ms=50, max_response_bytes=1024) as e:
        with pytest.raises(worker.ExceededCpu) as info:
            e.execute("s", "d", None, "http://x/spin")
        assert isinstance(info.value, worker.LimitExceeded)
        with pytest.raises(worker.ExceededResponseSize):
            e.execute("s", "d", None, "http://x/big")
        assert e.execute("s", "d", None, "http://x/").text() == "ok"


def test_sixteen_threads_execute_at_once() -> None:
    code = 'export default { async fetch(r) { await new Promise(ok => setTimeout(ok, 5)); return new Response(new URL(r.url).pathname) } }'
    results = {}
    errors = []
    with engine_for(code) as e:
        def run(i: int) -> None:
            try:
                for j in range(20):
                    results[(i, j)] = e.execute("s", "d", None, f"http://x/{i}/{j}").text()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(results) == 320
    assert all(v == f"/{i}/{j}" for (i, j), v in results.items())


def test_execute_async_interleaves() -> None:
    code = 'export default { async fetch(r) { await new Promise(ok => setTimeout(ok, 100)); return new Response(r.url) } }'

    async def main() -> list:
        with engine_for(code) as e:
            return await asyncio.gather(*(e.execute_async("s", "d", None, f"http://x/{i}") for i in range(20)))

    loop_started = asyncio.get_event_loop_policy().new_event_loop()
    try:
        import time
        t = time.monotonic()
        results = loop_started.run_until_complete(main())
        elapsed = time.monotonic() - t
    finally:
        loop_started.close()
    assert [r.text() for r in results] == [f"http://x/{i}" for i in range(20)]
    # Twenty 100 ms requests that waited one after another would take two seconds.
    assert elapsed < 1.5


def test_execute_async_raises_worker_errors() -> None:
    async def main() -> None:
        with engine_for('export default { fetch() { throw new RangeError("nope") } }') as e:
            await e.execute_async("s", "d", None, "http://x/")

    with pytest.raises(worker.JSException, match="RangeError: nope"):
        asyncio.run(main())


def test_execute_async_needs_a_running_loop() -> None:
    with engine_for(HELLO) as e:
        coro = e.execute_async("s", "d", None, "http://x/")
        with pytest.raises(RuntimeError, match="running asyncio loop"):
            coro.send(None)


def test_close_and_context_manager() -> None:
    e = engine_for(HELLO)
    assert e.execute("s", "d", None, "http://x/").text() == "hello"
    assert not e.closed
    e.close()
    assert e.closed
    e.close()  # again: nothing happens
    with pytest.raises(RuntimeError, match="closed"):
        e.execute("s", "d", None, "http://x/")
    with pytest.raises(RuntimeError, match="closed"):
        e.compile_and_cache("s", "d", HELLO)
    with engine_for(HELLO) as e2:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        e2.execute("s", "d", None, "http://x/")


def test_bad_arguments_raise_python_errors() -> None:
    with engine_for(HELLO) as e:
        with pytest.raises(TypeError):
            e.execute("s", "d", None, worker.Request("GET", "http://x/", [("a", 1)]))  # type: ignore[list-item]
        with pytest.raises(ValueError):
            e.compile_and_cache("s", "d", worker.WorkerSource([worker.Module("a.js", "", "wasm")]))
    with pytest.raises(TypeError):
        worker.Env(kv={"KV": None})
    with pytest.raises(TypeError):
        worker.Env(json={"X": object()})


def test_v8_version() -> None:
    assert worker.Engine.v8_version().startswith("10.")
