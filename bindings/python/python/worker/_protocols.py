"""What a store written in Python implements, one Protocol per binding. Every method may be a
plain method (run on a worker thread, so it may block) or ``async def`` (awaited on the asyncio
loop running when the store was put in an ``Env``, else on the loop of ``execute_async``, else
on a private loop thread). An exception rejects the worker's promise with its message. Methods
marked optional may be left out.

The runtime has already applied Cloudflare's validation (key and value sizes, metadata, TTLs,
R2 options, queue limits) and applies the HTTP rules of the Cache API itself, so stores only
keep data.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Protocol, Union

from ._types import (
    AssetRequest,
    AssetResponse,
    CachedResponse,
    KvEntry,
    KvList,
    QueueMessage,
    QueueMetrics,
    R2ObjectBody,
    WorkerSource,
)


class KvStore(Protocol):
    """A KV namespace (``env.NAME`` is a ``KVNamespace``)."""

    def get(self, key: str) -> Union[None, bytes, str, KvEntry]:
        """The value, a ``KvEntry`` with metadata and expiration, or None."""

    def put(self, key: str, value: bytes, metadata: Any = None, expiration: Optional[int] = None) -> None:
        """Stores ``value`` (replacing metadata and expiration too). ``metadata`` is a JSON
        value, ``expiration`` seconds since the UNIX epoch; both are passed by keyword."""

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str = "", limit: int = 1000, cursor: Optional[str] = None) -> Union[KvList, Dict[str, Any]]:
        """Up to ``limit`` live keys starting with ``prefix``, in sorted order, after ``cursor``
        (passed by keyword). A dict may stand for the ``KvList``."""


class R2Store(Protocol):
    """An R2 bucket (``env.NAME`` is an ``R2Bucket``). Objects are dicts in the shape
    ``{"key", "size", "etag", "uploaded" (ms), "version", "httpMetadata", "customMetadata",
    "checksums", "storageClass"}`` (key, size and etag required); options are dicts in the
    shapes the C ABI documents (``onlyIf``, ``range``, ``httpMetadata``, ...). Use
    ``worker.r2_conditional_holds`` for ``onlyIf`` on put."""

    def head(self, key: str) -> Optional[Dict[str, Any]]: ...

    def get(self, key: str, options: Dict[str, Any]) -> Union[None, Dict[str, Any], R2ObjectBody, tuple]:
        """None, ``(object, body)`` / ``R2ObjectBody``. ``onlyIf`` is evaluated for you and a
        whole-object bytes body is cut to ``options["range"]``; returning the object alone
        means the condition failed."""

    def put(self, key: str, body: "Body", options: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Reads ``body`` to its end (it raises there on a checksum mismatch) and stores it if
        ``options["onlyIf"]`` holds; returns the new object, or None when it does not hold."""

    def delete(self, keys: List[str]) -> None: ...

    def list(self, options: Dict[str, Any]) -> Dict[str, Any]:
        """``{"objects": [...], "delimitedPrefixes": [...], "truncated": bool, "cursor"?}``."""

    # Optional: multipart uploads.
    def create_multipart_upload(self, key: str, options: Dict[str, Any]) -> str: ...

    def upload_part(self, key: str, upload_id: str, part_number: int, body: "Body", size: int) -> Dict[str, Any]:
        """Returns ``{"partNumber": n, "etag": "..."}``."""

    def complete_multipart_upload(self, key: str, upload_id: str, parts: List[Dict[str, Any]]) -> Dict[str, Any]: ...

    def abort_multipart_upload(self, key: str, upload_id: str) -> None: ...


class D1Database(Protocol):
    """A D1 database (``env.NAME`` is a ``D1Database``)."""

    def query(self, query: Dict[str, Any]) -> Dict[str, Any]:
        """``query``: ``{"mode": "query" | "exec", "session": str, "statements": [{"sql": str,
        "params": [None | int | float | str | bytes, ...]}]}``; in "query" mode all statements
        run in one transaction. Returns ``{"results": [{"columns": [...], "rows": [[...]],
        "meta": {"changes", "last_row_id", "rows_read", "rows_written", "changed_db",
        "size_after", "duration", ...}}], "bookmark": str | None}`` or, when a statement fails,
        ``{"error": message, "statement": index}``."""

    # Optional: the database file for the deprecated ``dump()``.
    def dump(self) -> bytes: ...


class CacheStore(Protocol):
    """The store behind ``caches.default`` (``cache_name`` None) and ``caches.open(name)``."""

    def get(self, cache_name: Optional[str], url: str) -> Optional[CachedResponse]: ...

    def put(self, cache_name: Optional[str], url: str, response: CachedResponse) -> None: ...

    def delete(self, cache_name: Optional[str], url: str) -> bool: ...


class AssetsFetcher(Protocol):
    """A worker's static assets (``env.ASSETS.fetch``)."""

    def fetch(self, request: AssetRequest) -> AssetResponse: ...


class QueueSender(Protocol):
    """A queue producer (``env.NAME.send`` / ``sendBatch``): store all messages or none."""

    def send(self, messages: List[QueueMessage]) -> Optional[QueueMetrics]: ...

    # Optional: the backlog.
    def metrics(self) -> QueueMetrics: ...


class SourceLoader(Protocol):
    """Supplies a worker's code: a script (str) or a ``WorkerSource``. A plain callable
    ``(site_id, deploy_key)`` works too."""

    def load(self, site_id: str, deploy_key: str) -> Union[str, WorkerSource]: ...


class Body(Protocol):
    """An R2 body being written by the worker (``worker.Body``)."""

    def read(self) -> Optional[bytes]: ...

    def read_all(self) -> bytes: ...

    def __iter__(self) -> Iterable[bytes]: ...
