"""libworker for Python: run Cloudflare-compatible JavaScript workers on V8, in process.

    engine = worker.Engine(source_loader=lambda site, deploy: "export default {...}")
    response = engine.execute("site", "v1", worker.Env(vars={"WHO": "you"}),
                              worker.Request("GET", "https://example.com/"))

See README.md for stores written in Python and the embedded ones.
"""
from __future__ import annotations

import json as _json
import os
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union

from . import _worker
from ._errors import (
    BadHandler,
    ExceededCpu,
    ExceededMemory,
    ExceededResponseSize,
    ExceededWallTime,
    InternalError,
    JSException,
    LimitExceeded,
    ScriptError,
    ScriptNotFound,
    WorkerError,
    from_raw as _error,
)
from ._protocols import (
    AssetsFetcher,
    CacheStore,
    D1Database,
    KvStore,
    QueueSender,
    R2Store,
    SourceLoader,
)
from ._queue import queue_result as _queue_result
from ._types import (
    AssetRequest,
    BrokerEvent,
    AssetResponse,
    CachedResponse,
    Headers,
    KvEntry,
    KvKey,
    KvList,
    LogEntry,
    Module,
    QueueDeadLettered,
    QueueDelivered,
    QueueDelivery,
    QueueDropped,
    QueueMessage,
    QueueMetrics,
    QueueOutcome,
    QueueResult,
    QueueStorageError,
    R2ObjectBody,
    Request,
    Response,
    WorkerSource,
)
from ._worker import (
    Body,
    DirAssets,
    Env,
    FsR2,
    MemoryCache,
    SqliteD1,
    SqliteKv,
    SqliteQueue,
    r2_conditional_holds,
    r2_resolve_range,
    read_config,
)

__all__ = [
    "AssetRequest", "AssetResponse", "AssetsFetcher", "BadHandler", "Body", "BrokerEvent",
    "CacheStore",
    "CachedResponse", "D1Database", "DirAssets", "Engine", "EngineConfig", "Env",
    "ExceededCpu", "ExceededMemory", "ExceededResponseSize", "ExceededWallTime", "FsR2",
    "Headers", "InternalError", "JSException", "KvEntry", "KvKey", "KvList", "KvStore",
    "LimitExceeded", "LogEntry", "MemoryCache", "Module", "QueueBroker", "QueueDeadLettered",
    "QueueDelivered", "QueueDelivery", "QueueDropped", "QueueMessage", "QueueMetrics",
    "QueueOutcome", "QueueResult", "QueueSender", "QueueStorageError", "R2ObjectBody", "R2Store", "Request", "Response", "ScriptError",
    "ScriptNotFound", "SourceLoader", "SqliteD1", "SqliteKv", "SqliteQueue", "WorkerError",
    "WorkerSource", "Project", "read_config", "r2_conditional_holds", "r2_resolve_range",
]


@dataclass
class EngineConfig:
    """Engine-wide settings; None keeps the default. Zero means no limit for the limits."""

    pool_size: Optional[int] = None
    """Executor threads (default: the number of cores)."""
    memory_limit_mb: Optional[int] = None
    cpu_time_ms: Optional[int] = None
    wall_time_ms: Optional[int] = None
    max_subrequests: Optional[int] = None
    max_response_bytes: Optional[int] = None
    max_resident_workers: Optional[int] = None
    warm_isolates: Optional[int] = None
    allow_code_generation: Optional[bool] = None


def _logs(raw: list) -> List[LogEntry]:
    return [LogEntry(level, message) for level, message in raw]


def _response(raw: tuple) -> Response:
    status, status_text, headers, body, logs, duration, error, pass_through = raw
    logs = _logs(logs) if logs else []
    if error is not None:
        raise _error(error, logs)
    return Response(status, status_text, headers, body, logs, duration, pass_through)


def _function_result(raw: tuple) -> Any:
    data, logs, _duration, error = raw
    if error is not None:
        raise _error(error, _logs(logs))
    return None if data is None else _json.loads(data)


class Engine:
    """A worker runtime: executor threads with V8 isolates, one per worker (site id + deploy
    key), loaded on first use through ``source_loader`` (a callable ``(site_id, deploy_key)``
    or an object with ``load``, plain or ``async def``, returning the code as a str or a
    ``WorkerSource``). Thread-safe; use it as a context manager or call ``close()``."""

    def __init__(
        self,
        config: Union[EngineConfig, dict, None] = None,
        source_loader: Union[SourceLoader, Callable[[str, str], Any], None] = None,
    ) -> None:
        if isinstance(config, EngineConfig):
            options = {k: v for k, v in vars(config).items() if v is not None}
        else:
            options = dict(config or {})
        self._native = _worker.Engine(source_loader, **options)
        self._brokers: "weakref.WeakSet[QueueBroker]" = weakref.WeakSet()

    def execute(self, site_id: str, deploy_key: str, env: Optional[Env] = None,
                request: Union[Request, str, None] = None) -> Response:
        """Runs the worker's fetch handler and returns its response. The GIL is released while
        the worker runs. Raises a ``WorkerError`` subclass when the invocation fails."""
        return _response(self._native.execute(site_id, deploy_key, env, _request(request)))

    async def execute_async(self, site_id: str, deploy_key: str, env: Optional[Env] = None,
                            request: Union[Request, str, None] = None) -> Response:
        """``execute`` for asyncio: awaits the response without blocking the loop. ``async
        def`` store methods without a running loop of their own are awaited on this loop."""
        return _response(await self._native.execute_async(site_id, deploy_key, env, _request(request)))

    def execute_function(self, site_id: str, deploy_key: str, env: Optional[Env], name: str,
                         *args: Any) -> Any:
        """Calls the worker's export ``name`` (a function, or a method of the default export)
        with ``(env, *args)``; arguments and result cross as JSON."""
        return _function_result(
            self._native.execute_function(site_id, deploy_key, env, name, _json.dumps(list(args))))

    async def execute_function_async(self, site_id: str, deploy_key: str, env: Optional[Env],
                                     name: str, *args: Any) -> Any:
        raw = await self._native.execute_function_async(
            site_id, deploy_key, env, name, _json.dumps(list(args)))
        return _function_result(raw)

    def execute_queue(self, site_id: str, deploy_key: str, env: Optional[Env], queue: str,
                      messages: Iterable[Union[QueueDelivery, Mapping[str, Any]]]) -> QueueResult:
        """Delivers ``messages`` (at most 100) as one batch of the queue named ``queue`` to the
        worker's ``queue()`` handler, in the same isolate as its fetch requests, and waits for
        the handler and its ``waitUntil`` work. The GIL is released meanwhile. A handler that
        throws does not raise: the result's ``error`` says why, and its outcomes still tell
        which messages to retry. Raises ValueError / TypeError for a malformed message."""
        return _queue_result(self._native.execute_queue(site_id, deploy_key, env, queue, messages))

    async def execute_queue_async(self, site_id: str, deploy_key: str, env: Optional[Env],
                                  queue: str,
                                  messages: Iterable[Union[QueueDelivery, Mapping[str, Any]]]
                                  ) -> QueueResult:
        """``execute_queue`` for asyncio: awaits the result without blocking the loop."""
        raw = await self._native.execute_queue_async(site_id, deploy_key, env, queue, messages)
        return _queue_result(raw)

    def compile_and_cache(self, site_id: str, deploy_key: str,
                          source: Union[str, WorkerSource]) -> bytes:
        """Compiles ``source`` for (site, deploy), which later requests then use instead of
        the loader, and returns V8's code cache. Raises ``ScriptError`` with ``file:line:col``
        for a syntax error."""
        cache, error = self._native.compile_and_cache(site_id, deploy_key, source)
        if error is not None:
            raise _error(error)
        return cache

    def close(self) -> None:
        """Closes the queue brokers started on this engine, lets in-flight requests finish and
        stops the engine; later calls raise ``RuntimeError``. Calling it again does nothing."""
        for broker in list(self._brokers):
            broker.close()
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @staticmethod
    def v8_version() -> str:
        return _worker.Engine.v8_version()


class QueueBroker:
    """Delivers embedded queues (``worker.SqliteQueue`` files) to workers' ``queue()``
    handlers as Cloudflare does: in batches, retrying, dead-lettering, on a thread of its own.
    ``on_event(event)`` is told what it did (``QueueDelivered``, ``QueueDeadLettered``,
    ``QueueDropped``, ``QueueStorageError``); it runs on the broker's thread with the GIL
    held, so keep it short, and an exception it raises is reported through
    ``sys.unraisablehook`` without stopping the broker. Without ``on_event``, drops and
    storage errors are written to stderr. Closing the engine closes its brokers."""

    def __init__(self, engine: Engine,
                 on_event: Optional[Callable[[BrokerEvent], Any]] = None) -> None:
        self._native = _worker.QueueBroker(engine._native, on_event)
        engine._brokers.add(self)
        # Stops the broker's thread before the interpreter goes away, if nobody closed it.
        weakref.finalize(self, self._native.close)

    def consume(self, queue: str, store: SqliteQueue, site_id: str, deploy_key: str,
                env: Optional[Env] = None, *, max_batch_size: int = 10,
                max_batch_timeout: float = 5.0, max_retries: int = 3, retry_delay: int = 0,
                dead_letter_queue: Optional[Tuple[str, SqliteQueue]] = None) -> None:
        """Starts delivering the messages of ``store`` (the worker's ``batch.queue`` is
        ``queue``) to worker (``site_id``, ``deploy_key``), which runs with ``env``. Batches
        hold up to ``max_batch_size`` messages (1-100) and wait at most ``max_batch_timeout``
        seconds (0-60) to fill. A retried message comes back after the ``delaySeconds`` the
        worker gave, else ``retry_delay`` seconds; after ``max_retries`` retries it moves to
        ``dead_letter_queue`` (a ``(name, SqliteQueue)`` pair), or is dropped without one.
        Consuming a queue name again replaces its consumer."""
        self._native.consume(queue, store, site_id, deploy_key, env, max_batch_size,
                             float(max_batch_timeout), max_retries, retry_delay,
                             dead_letter_queue)

    def close(self) -> None:
        """Stops every consumer after its batch in flight; undelivered messages stay in their
        files. Calling it again does nothing."""
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    def __enter__(self) -> "QueueBroker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Project:
    """A wrangler project running in ``engine``, as ``wk serve`` runs it: ``path`` is a
    ``wrangler.jsonc`` / ``.json`` / ``.toml``, a directory holding one, or a worker script.
    Bindings the config declares get embedded stores under ``state_dir`` (default
    ``.wk-state`` beside the config) unless ``env`` names a store for them; ``env``'s vars add
    to or replace the config's. Queue consumers run until ``close()``; ``on_queue_event``
    receives their events as ``QueueBroker``'s ``on_event`` does."""

    def __init__(self, engine: Engine, path: Union[str, "os.PathLike[str]"], *,
                 state_dir: Union[str, "os.PathLike[str]", None] = None,
                 env: Optional[Env] = None,
                 on_queue_event: Optional[Callable[[BrokerEvent], Any]] = None) -> None:
        native, error = _worker.Project.open(engine._native, path, state_dir, env,
                                             on_queue_event)
        if error is not None:
            raise _error(error)
        self._native = native

    @property
    def name(self) -> str:
        """The project's name: its site id in the engine."""
        return self._native.name

    @property
    def warnings(self) -> List[str]:
        """What the config asks for that libworker ignores (unsupported bindings and settings,
        unknown keys), one message each."""
        return self._native.warnings

    def fetch(self, request: Union[Request, str]) -> Response:
        """One request: static assets where the routing rules give them the request, else
        the worker. Raises a ``WorkerError`` subclass when the worker fails."""
        return _response(self._native.fetch(_request(request)))

    async def fetch_async(self, request: Union[Request, str]) -> Response:
        return _response(await self._native.fetch_async(_request(request)))

    def close(self) -> None:
        """Stops the queue consumers after the batches in flight; later fetches raise."""
        self._native.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _request(request: Union[Request, str, None]) -> Any:
    if request is None:
        return Request()
    if isinstance(request, str):
        return Request("GET", request)
    return request
