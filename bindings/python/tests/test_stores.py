"""Stores written in Python behind every binding, plain and ``async def``; failures and slow
stores; the embedded stores as Python classes."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

import worker
from stores import AsyncDictKv, DictAssets, DictCache, DictKv, DictR2, ListQueue, SqlD1

KV_WORKER = """export default { async fetch(req, env) {
  const url = new URL(req.url);
  const key = url.searchParams.get("key") || "k";
  if (req.method === "PUT") {
    await env.KV.put(key, await req.text(), {metadata: {by: "test"}, expirationTtl: 3600});
    return new Response("stored");
  }
  if (url.pathname === "/list") {
    const l = await env.KV.list({prefix: url.searchParams.get("prefix") || ""});
    return Response.json(l.keys.map(k => k.name));
  }
  if (url.pathname === "/delete") { await env.KV.delete(key); return new Response("deleted"); }
  try {
    const {value, metadata} = await env.KV.getWithMetadata(key);
    return Response.json({value, metadata});
  } catch (e) {
    return new Response(e.name + ": " + e.message, {status: 502});
  }
} }"""


def kv_engine() -> worker.Engine:
    return worker.Engine(worker.EngineConfig(pool_size=2), lambda s, d: KV_WORKER)


def exercise_kv(e: worker.Engine, env: worker.Env) -> None:
    put = worker.Request("PUT", "http://x/?key=a:1", body="one")
    assert e.execute("s", "d", env, put).text() == "stored"
    e.execute("s", "d", env, worker.Request("PUT", "http://x/?key=b", body="two"))
    assert e.execute("s", "d", env, "http://x/?key=a:1").json() == {"value": "one", "metadata": {"by": "test"}}
    assert e.execute("s", "d", env, "http://x/?key=nope").json() == {"value": None, "metadata": None}
    assert e.execute("s", "d", env, "http://x/list?prefix=a").json() == ["a:1"]
    e.execute("s", "d", env, "http://x/delete?key=a:1")
    assert e.execute("s", "d", env, "http://x/list").json() == ["b"]


@pytest.mark.parametrize("store", [DictKv, AsyncDictKv])
def test_kv_store(store: type) -> None:
    kv = store()
    with kv_engine() as e:
        exercise_kv(e, worker.Env(kv={"KV": kv}))
    entry = kv.items["b"]
    assert entry.value == b"two" and entry.metadata == {"by": "test"}
    assert entry.expiration is not None and entry.expiration > time.time() + 3000


def test_kv_store_in_under_twenty_lines() -> None:
    """The README's store, verbatim in spirit: a dict and four methods."""

    class MemoryKv:
        def __init__(self):
            self.data = {}

        def get(self, key):
            return self.data.get(key)

        def put(self, key, value, metadata=None, expiration=None):
            self.data[key] = worker.KvEntry(value, metadata, expiration)

        def delete(self, key):
            self.data.pop(key, None)

        def list(self, prefix="", limit=1000, cursor=None):
            return worker.KvList(sorted(k for k in self.data if k.startswith(prefix))[:limit])

    with kv_engine() as e:
        exercise_kv(e, worker.Env(kv={"KV": MemoryKv()}))


def test_kv_values_as_str_bytes_and_dicts_and_expired_entries() -> None:
    class Fixed:
        def get(self, key):
            return {"s": "text", "b": b"\xff\x00",
                    "d": {"value": "v", "metadata": [1, 2]},
                    "old": worker.KvEntry("gone", None, int(time.time()) - 10)}.get(key)

    code = """export default { async fetch(req, env) {
      const out = {};
      for (const k of ["s", "d", "old", "missing"]) out[k] = await env.KV.getWithMetadata(k);
      out.b = [...new Uint8Array(await env.KV.get("b", "arrayBuffer"))];
      return Response.json(out) } }"""
    with worker.Engine(source_loader=lambda s, d: code) as e:
        got = e.execute("s", "d", worker.Env(kv={"KV": Fixed()}), "http://x/").json()
    assert got["s"]["value"] == "text"
    assert got["d"] == {"value": "v", "metadata": [1, 2], "cacheStatus": None}
    assert got["old"]["value"] is None and got["missing"]["value"] is None
    assert got["b"] == [255, 0]


class Failing:
    def get(self, key):
        raise KeyError("the backend is down")


class AsyncFailing:
    async def get(self, key):
        await asyncio.sleep(0.01)
        raise ConnectionError("async backend unreachable")


@pytest.mark.parametrize("store,message", [(Failing, "'the backend is down'"),
                                           (AsyncFailing, "async backend unreachable")])
def test_a_store_exception_rejects_the_js_promise(store: type, message: str) -> None:
    with kv_engine() as e:
        res = e.execute("s", "d", worker.Env(kv={"KV": store()}), "http://x/")
    assert res.status == 502
    assert res.text() == f"Error: {message}"


class SlowKv(DictKv):
    def get(self, key):
        time.sleep(0.2)
        return b"slow"


class AsyncSlowKv(DictKv):
    async def get(self, key):
        await asyncio.sleep(0.2)
        return b"slow async"


@pytest.mark.parametrize("store,value", [(SlowKv, "slow"), (AsyncSlowKv, "slow async")])
def test_slow_stores_answer_later_without_holding_up_others(store: type, value: str) -> None:
    """Eight requests to one worker on one executor thread, each waiting 200 ms on the store:
    the waits overlap, so neither the executor nor the store calls run one at a time."""
    env = worker.Env(kv={"KV": store()})
    with worker.Engine(worker.EngineConfig(pool_size=1), lambda s, d: KV_WORKER) as e:
        e.execute("s", "d", env, "http://x/")  # warm
        results = []
        started = time.monotonic()
        threads = [threading.Thread(target=lambda: results.append(e.execute("s", "d", env, "http://x/")))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    assert [r.json()["value"] for r in results] == [value] * 8
    assert elapsed < 1.2  # one after another: 1.6 s


def test_async_store_registered_inside_a_loop_runs_on_that_loop() -> None:
    seen = []

    class LoopKv(DictKv):
        async def get(self, key):
            seen.append(asyncio.get_running_loop())
            return b"on the loop"

    async def main() -> None:
        env = worker.Env(kv={"KV": LoopKv()})
        with kv_engine() as e:
            res = await e.execute_async("s", "d", env, "http://x/")
            assert res.json()["value"] == "on the loop"
            # A plain execute from this loop's thread blocks the loop: the store runs elsewhere.
            assert e.execute("s", "d", env, "http://x/").json()["value"] == "on the loop"
        return asyncio.get_running_loop()

    loop = asyncio.run(main())
    assert seen[0] is loop
    assert seen[1] is not loop


def test_async_store_without_a_loop_uses_the_callers() -> None:
    seen = []

    class LoopKv(DictKv):
        async def get(self, key):
            seen.append(asyncio.get_running_loop())
            return b"x"

    env = worker.Env(kv={"KV": LoopKv()})
    with kv_engine() as e:
        e.execute("s", "d", env, "http://x/")  # no loop anywhere: the private loop

        async def main():
            await e.execute_async("s", "d", env, "http://x/")
            return asyncio.get_running_loop()

        loop = asyncio.run(main())
    assert seen[0] is not loop and seen[1] is loop


R2_WORKER = """export default { async fetch(req, env) {
  const B = env.BUCKET;
  const url = new URL(req.url);
  if (url.pathname === "/put") {
    const o = await B.put("a/obj", "hello r2 world", {customMetadata: {k: "v"}, httpMetadata: {contentType: "text/x"}});
    const again = await B.put("a/obj", "new", {onlyIf: {etagMatches: "nope"}});
    return Response.json({etag: o.etag, size: o.size, again});
  }
  if (url.pathname === "/stream") {
    const {readable, writable} = new FixedLengthStream(200000);
    const w = writable.getWriter();
    (async () => { for (let i = 0; i < 200; i++) await w.write(new Uint8Array(1000).fill(65 + i % 26)); await w.close(); })();
    const o = await B.put("big", readable);
    const got = await B.get("big");
    const bytes = new Uint8Array(await got.arrayBuffer());
    return Response.json({size: o.size, read: bytes.length, first: bytes[0], last: bytes[bytes.length - 1]});
  }
  if (url.pathname === "/checksum") {
    try { await B.put("bad", "data", {sha256: "00".repeat(32)}); return new Response("stored"); }
    catch (e) { return new Response(e.message, {status: 400}); }
  }
  const head = await B.head("a/obj");
  const whole = await B.get("a/obj");
  const part = await B.get("a/obj", {range: {offset: 6, length: 2}});
  const cond = await B.get("a/obj", {onlyIf: {etagDoesNotMatch: head.etag}});
  const list = await B.list({prefix: "a/"});
  await B.delete(["a/obj"]);
  return Response.json({head: [head.size, head.customMetadata.k, head.httpMetadata.contentType],
    whole: await whole.text(), part: await part.text(), condHasBody: "body" in cond,
    list: list.objects.map(o => o.key), afterDelete: await B.head("a/obj")});
} }"""


class AsyncDictR2(DictR2):
    async def head(self, key):
        await asyncio.sleep(0)
        return DictR2.head(self, key)

    async def get(self, key, options):
        return DictR2.get(self, key, options)

    async def list(self, options):
        return DictR2.list(self, options)


class StreamingR2(DictR2):
    """Answers get with an iterator of 10 000-byte chunks (only for whole reads)."""

    def get(self, key, options):
        found = self.objects.get(key)
        if found is None:
            return None
        obj, data = found
        return worker.R2ObjectBody(obj, (data[i:i + 10000] for i in range(0, len(data), 10000)),
                                   worker.r2_resolve_range(options.get("range"), obj["size"]))


@pytest.mark.parametrize("store", [DictR2, AsyncDictR2, StreamingR2])
def test_r2_store(store: type) -> None:
    bucket = store()
    env = worker.Env(r2={"BUCKET": bucket})
    with worker.Engine(source_loader=lambda s, d: R2_WORKER) as e:
        put = e.execute("s", "d", env, "http://x/put").json()
        assert put["size"] == 14 and put["again"] is None
        assert bucket.objects["a/obj"][1] == b"hello r2 world"
        streamed = e.execute("s", "d", env, "http://x/stream").json()
        assert streamed == {"size": 200000, "read": 200000, "first": 65, "last": 65 + 199 % 26}
        bad = e.execute("s", "d", env, "http://x/checksum")
        assert bad.status == 400 and "SHA-256 checksum you specified did not match" in bad.text()
        assert "bad" not in bucket.objects
        if store is StreamingR2:
            return
        got = e.execute("s", "d", env, "http://x/").json()
    assert got == {"head": [14, "v", "text/x"], "whole": "hello r2 world", "part": "r2",
                   "condHasBody": False, "list": ["a/obj"], "afterDelete": None}


def test_r2_helpers() -> None:
    obj = {"etag": "abc", "uploaded": 1000.0}
    assert worker.r2_conditional_holds(None, obj)
    assert worker.r2_conditional_holds({"etagMatches": ["abc"]}, obj)
    assert not worker.r2_conditional_holds({"etagDoesNotMatch": ["abc"]}, obj)
    assert not worker.r2_conditional_holds({"etagMatches": ["*"]}, None)
    assert worker.r2_resolve_range({"suffix": 3}, 10) == (7, 3)
    assert worker.r2_resolve_range(None, 10) == (0, 10)
    with pytest.raises(ValueError, match="not satisfiable"):
        worker.r2_resolve_range({"offset": 11}, 10)


D1_WORKER = """export default { async fetch(req, env) {
  await env.DB.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)");
  const ins = await env.DB.prepare("INSERT INTO t (name, data) VALUES (?, ?)").bind("a", new Uint8Array([1, 2])).run();
  await env.DB.batch([env.DB.prepare("INSERT INTO t (name) VALUES (?)").bind("b"),
                      env.DB.prepare("INSERT INTO t (name) VALUES (?)").bind(3.5)]);
  const rows = await env.DB.prepare("SELECT id, name, data FROM t ORDER BY id").all();
  let error;
  try { await env.DB.prepare("SELECT * FROM missing").all() } catch (e) { error = e.message }
  return Response.json({changes: ins.meta.changes, last: ins.meta.last_row_id,
    rows: rows.results.map(r => [r.id, r.name, r.data]), error});
} }"""


class AsyncSqlD1(SqlD1):
    async def query(self, query):  # type: ignore[override]
        await asyncio.sleep(0)
        return SqlD1.query(self, query)


@pytest.mark.parametrize("store", [SqlD1, AsyncSqlD1])
def test_d1_database(store: type) -> None:
    with worker.Engine(source_loader=lambda s, d: D1_WORKER) as e:
        got = e.execute("s", "d", worker.Env(d1={"DB": store()}), "http://x/").json()
    assert got["changes"] == 1 and got["last"] == 1
    assert got["rows"] == [[1, "a", [1, 2]], [2, "b", None], [3, "3.5", None]]
    assert got["error"] == "D1_ERROR: no such table: missing"


def test_d1_database_failing_as_a_whole() -> None:
    class Down:
        def query(self, query):
            raise RuntimeError("db offline")

    code = """export default { async fetch(req, env) {
      try { await env.DB.prepare("SELECT 1").all() } catch (e) { return new Response(e.message) } } }"""
    with worker.Engine(source_loader=lambda s, d: code) as e:
        assert e.execute("s", "d", worker.Env(d1={"DB": Down()}), "http://x/").text() == "D1_ERROR: db offline"


CACHE_WORKER = """export default { async fetch(req, env) {
  const c = caches.default;
  const named = await caches.open("mine");
  await c.put("https://x/a", new Response("cached", {headers: {"cache-control": "max-age=60", "x-h": "1"}}));
  const hit = await c.match("https://x/a");
  const other = await named.match("https://x/a");
  const deleted = await c.delete("https://x/a");
  const gone = await c.match("https://x/a");
  return Response.json({hit: await hit.text(), h: hit.headers.get("x-h"), status: hit.headers.get("cf-cache-status"),
                        other: other ?? null, deleted, gone: gone ?? null});
} }"""


class AsyncDictCache(DictCache):
    async def get(self, cache_name, url):
        return DictCache.get(self, cache_name, url)

    async def put(self, cache_name, url, response):
        await asyncio.sleep(0)
        DictCache.put(self, cache_name, url, response)


@pytest.mark.parametrize("store", [DictCache, AsyncDictCache, lambda: worker.MemoryCache(1 << 20)])
def test_cache_store(store) -> None:
    cache = store()
    with worker.Engine(source_loader=lambda s, d: CACHE_WORKER) as e:
        got = e.execute("s", "d", worker.Env(cache=cache), "http://x/").json()
    assert got == {"hit": "cached", "h": "1", "status": "HIT", "other": None, "deleted": True, "gone": None}
    if isinstance(cache, DictCache):
        assert cache.entries == {}


ASSETS_WORKER = """export default { async fetch(req, env) {
  const a = await env.ASSETS.fetch("https://any/hello.txt");
  const b = await env.ASSETS.fetch(new Request("https://any/missing"));
  return Response.json({a: [a.status, await a.text(), a.headers.get("content-type")], b: b.status});
} }"""


class AsyncDictAssets(DictAssets):
    async def fetch(self, request):
        await asyncio.sleep(0)
        return DictAssets.fetch(self, request)


@pytest.mark.parametrize("store", [DictAssets, AsyncDictAssets])
def test_assets_fetcher(store: type) -> None:
    with worker.Engine(source_loader=lambda s, d: ASSETS_WORKER) as e:
        env = worker.Env(assets={"ASSETS": store({"/hello.txt": b"hi there"})})
        got = e.execute("s", "d", env, "http://x/").json()
    assert got == {"a": [200, "hi there", "text/plain"], "b": 404}


def test_embedded_dir_assets(tmp_path) -> None:
    (tmp_path / "hello.txt").write_text("from disk")
    with worker.Engine(source_loader=lambda s, d: ASSETS_WORKER) as e:
        env = worker.Env(assets={"ASSETS": worker.DirAssets(str(tmp_path), not_found_handling="none")})
        got = e.execute("s", "d", env, "http://x/").json()
    assert got["a"][:2] == [200, "from disk"] and got["b"] == 404
    with pytest.raises(ValueError, match="html_handling"):
        worker.DirAssets(str(tmp_path), html_handling="sideways")
    with pytest.raises(OSError):
        worker.DirAssets(str(tmp_path / "nope"))


QUEUE_WORKER = """export default { async fetch(req, env) {
  await env.JOBS.send({job: 1});
  await env.JOBS.sendBatch([{body: "text", contentType: "text"}, {body: new Uint8Array([9]), contentType: "bytes", delaySeconds: 5}]);
  const m = await env.JOBS.metrics();
  return Response.json(m);
} }"""


class AsyncListQueue(ListQueue):
    async def send(self, messages):
        await asyncio.sleep(0)
        return ListQueue.send(self, messages)


@pytest.mark.parametrize("store", [ListQueue, AsyncListQueue])
def test_queue_sender(store: type) -> None:
    q = store()
    with worker.Engine(source_loader=lambda s, d: QUEUE_WORKER) as e:
        got = e.execute("s", "d", worker.Env(queues={"JOBS": q}), "http://x/").json()
    assert [(m.body, m.content_type, m.delay_seconds) for m in q.messages] == [
        (b'{"job":1}', "json", None), (b"text", "text", None), (b"\x09", "bytes", 5)]
    assert got["backlogCount"] == 3


def test_embedded_stores_persist(tmp_path) -> None:
    code = """export default { async fetch(req, env) {
      if (req.method === "POST") {
        await env.KV.put("k", "kv value");
        await env.R2.put("o", "r2 value");
        await env.DB.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('d1 value')");
        await env.Q.send("q");
        return new Response("written");
      }
      const row = await env.DB.prepare("SELECT v FROM t").first();
      return Response.json([await env.KV.get("k"), await (await env.R2.get("o")).text(), row.v]);
    } }"""

    def env() -> worker.Env:
        return worker.Env(kv={"KV": worker.SqliteKv(str(tmp_path / "kv.sqlite"))},
                          r2={"R2": worker.FsR2(str(tmp_path / "r2"))},
                          d1={"DB": worker.SqliteD1(str(tmp_path / "d1.sqlite"))},
                          queues={"Q": worker.SqliteQueue(str(tmp_path / "q.sqlite"))})

    with worker.Engine(source_loader=lambda s, d: code) as e:
        assert e.execute("s", "d", env(), worker.Request("POST", "http://x/")).text() == "written"
    with worker.Engine(source_loader=lambda s, d: code) as e:
        assert e.execute("s", "d", env(), "http://x/").json() == ["kv value", "r2 value", "d1 value"]
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OSError):
        worker.SqliteKv(str(tmp_path / "a-file" / "kv.sqlite"))


def test_project_with_a_python_kv_and_assets(tmp_path) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("<h1>static</h1>")
    (tmp_path / "worker.js").write_text(
        'export default { async fetch(r, env) { return new Response(await env.KV.get("k") + " " + env.NAME) } }')
    (tmp_path / "wrangler.toml").write_text(
        'name = "proj"\nmain = "worker.js"\n[vars]\nNAME = "toml"\n[assets]\ndirectory = "public"\n'
        '[[kv_namespaces]]\nbinding = "KV"\nid = "x"\n')
    kv = DictKv()
    kv.put("k", b"python kv")
    e = worker.Engine()
    with worker.Project(e, str(tmp_path / "wrangler.toml"), state_dir=str(tmp_path / "state"),
                        env=worker.Env(kv={"KV": kv})) as p:
        assert p.name == "proj"
        assert p.fetch("http://localhost/").text() == "<h1>static</h1>"
        assert p.fetch("http://localhost/api").text() == "python kv toml"
        assert asyncio.run(p.fetch_async("http://localhost/api")).text() == "python kv toml"
    with pytest.raises(RuntimeError, match="closed"):
        p.fetch("http://localhost/")
    with pytest.raises(worker.ScriptError):
        worker.Project(e, str(tmp_path / "missing.toml"))
    e.close()
