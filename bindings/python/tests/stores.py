"""Stores written in Python, as a host would write them, used by the tests."""
from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import time
from typing import Any, Dict, List, Optional

import worker


class DictKv:
    """A KV namespace in a dict: expiry, byte-ordered listing and cursors included."""

    def __init__(self) -> None:
        self.items: Dict[str, worker.KvEntry] = {}
        self.lock = threading.Lock()

    def _live(self, key: str) -> Optional[worker.KvEntry]:
        entry = self.items.get(key)
        if entry is not None and entry.expiration is not None and entry.expiration <= time.time():
            del self.items[key]
            return None
        return entry

    def get(self, key: str) -> Optional[worker.KvEntry]:
        with self.lock:
            return self._live(key)

    def put(self, key: str, value: bytes, metadata: Any = None, expiration: Optional[int] = None) -> None:
        with self.lock:
            self.items[key] = worker.KvEntry(value, metadata, expiration)

    def delete(self, key: str) -> None:
        with self.lock:
            self.items.pop(key, None)

    def list(self, prefix: str = "", limit: int = 1000, cursor: Optional[str] = None) -> worker.KvList:
        with self.lock:
            names = sorted((k for k in list(self.items) if k.startswith(prefix) and self._live(k)),
                           key=lambda k: k.encode())
            if cursor is not None:
                names = [n for n in names if n.encode() > cursor.encode()]
            page = names[:limit]
            keys = [worker.KvKey(n, self.items[n].expiration, self.items[n].metadata) for n in page]
        complete = len(names) <= limit
        return worker.KvList(keys, complete, None if complete else page[-1])


class AsyncDictKv(DictKv):
    """The same namespace with ``async def`` methods that yield to their loop first."""

    async def get(self, key: str):  # type: ignore[override]
        await asyncio.sleep(0)
        return DictKv.get(self, key)

    async def put(self, key, value, metadata=None, expiration=None):  # type: ignore[override]
        await asyncio.sleep(0)
        DictKv.put(self, key, value, metadata, expiration)

    async def delete(self, key):  # type: ignore[override]
        DictKv.delete(self, key)

    async def list(self, prefix="", limit=1000, cursor=None):  # type: ignore[override]
        await asyncio.sleep(0)
        return DictKv.list(self, prefix, limit, cursor)


class DictR2:
    """An R2 bucket in a dict: conditional puts, streamed bodies and a simple list."""

    def __init__(self) -> None:
        self.objects: Dict[str, tuple] = {}

    def head(self, key: str):
        found = self.objects.get(key)
        return None if found is None else found[0]

    def get(self, key: str, options: Dict[str, Any]):
        found = self.objects.get(key)
        return None if found is None else worker.R2ObjectBody(found[0], found[1])

    def put(self, key: str, body: worker.Body, options: Dict[str, Any]):
        data = b"".join(body)  # iterating reads the body chunk by chunk
        current = self.objects.get(key)
        if not worker.r2_conditional_holds(options.get("onlyIf"), current and current[0]):
            return None
        obj = {
            "key": key,
            "size": len(data),
            "etag": hashlib.md5(data).hexdigest(),
            "uploaded": time.time() * 1000,
            "httpMetadata": options.get("httpMetadata", {}),
            "customMetadata": options.get("customMetadata", {}),
        }
        self.objects[key] = (obj, data)
        return obj

    def delete(self, keys: List[str]) -> None:
        for k in keys:
            self.objects.pop(k, None)

    def list(self, options: Dict[str, Any]):
        prefix = options.get("prefix") or ""
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        return {"objects": [self.objects[k][0] for k in keys], "truncated": False}


class SqlD1:
    """A D1 database on Python's sqlite3."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()

    def query(self, query: Dict[str, Any]):
        results = []
        with self.lock:
            transaction = query["mode"] == "query"
            if transaction:
                self.db.execute("BEGIN")
            for i, st in enumerate(query["statements"]):
                try:
                    cur = self.db.execute(st["sql"], st["params"])
                    rows = [list(r) for r in cur.fetchall()]
                except sqlite3.Error as e:
                    if transaction:
                        self.db.execute("ROLLBACK")
                    return {"error": str(e), "statement": i}
                columns = [d[0] for d in cur.description or []]
                changes = cur.rowcount if cur.rowcount > 0 else 0
                results.append({"columns": columns, "rows": rows,
                                "meta": {"changes": changes, "last_row_id": cur.lastrowid or 0,
                                         "rows_read": len(rows), "rows_written": changes,
                                         "changed_db": changes > 0}})
            if transaction:
                self.db.execute("COMMIT")
        return {"results": results, "bookmark": None}


class DictCache:
    def __init__(self) -> None:
        self.entries: Dict[tuple, worker.CachedResponse] = {}

    def get(self, cache_name, url):
        e = self.entries.get((cache_name, url))
        if e is None or e.expires_at <= time.time() * 1000:
            return None
        return e

    def put(self, cache_name, url, response):
        self.entries[(cache_name, url)] = response

    def delete(self, cache_name, url):
        return self.entries.pop((cache_name, url), None) is not None


class DictAssets:
    def __init__(self, files: Dict[str, bytes]) -> None:
        self.files = files

    def fetch(self, request: worker.AssetRequest) -> worker.AssetResponse:
        path = "/" + request.url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
        body = self.files.get(path)
        if body is None:
            return worker.AssetResponse(404)
        return worker.AssetResponse(200, [("content-type", "text/plain")], body)


class ListQueue:
    def __init__(self) -> None:
        self.messages: List[worker.QueueMessage] = []

    def send(self, messages: List[worker.QueueMessage]):
        self.messages.extend(messages)
        return worker.QueueMetrics(len(self.messages), sum(len(m.body) for m in self.messages))

    def metrics(self):
        return worker.QueueMetrics(len(self.messages), sum(len(m.body) for m in self.messages))
