"""libworker for Python: run Cloudflare-compatible JavaScript workers on V8, in process.

    engine = worker.Engine(source_loader=lambda site, deploy: "export default {...}")
    response = engine.execute("site", "v1", worker.Env(vars={"WHO": "you"}),
                              worker.Request("GET", "https://example.com/"))

See README.md for stores written in Python and the embedded ones.
"""
from __future__ import annotations

import json as _json
import os
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Union

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
from ._types import (
    AssetRequest,
    AssetResponse,
    CachedResponse,
    Headers,
    KvEntry,
    KvKey,
    KvList,
    LogEntry,
    Module,
    QueueMessage,
    QueueMetrics,
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
    "AssetRequest", "AssetResponse", "AssetsFetcher", "BadHandler", "Body", "CacheStore",
    "CachedResponse", "D1Database", "DirAssets", "Engine", "EngineConfig", "Env",
    "ExceededCpu", "ExceededMemory", "ExceededResponseSize", "ExceededWallTime", "FsR2",
    "Headers", "InternalError", "JSException", "KvEntry", "KvKey", "KvList", "KvStore",
    "LimitExceeded", "LogEntry", "MemoryCache", "Module", "QueueMessage", "QueueMetrics",
    "QueueSender", "R2ObjectBody", "R2Store", "Request", "Response", "ScriptError",
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
        """Lets in-flight requests finish and stops the engine; later calls raise
        ``RuntimeError``. Calling it again does nothing."""
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


class Project:
    """A wrangler project running in ``engine``, as ``wk serve`` runs it: ``path`` is a
    ``wrangler.jsonc`` / ``.json`` / ``.toml``, a directory holding one, or a worker script.
    Bindings the config declares get embedded stores under ``state_dir`` (default
    ``.wk-state`` beside the config) unless ``env`` names a store for them; ``env``'s vars add
    to or replace the config's. Queue consumers run until ``close()``."""

    def __init__(self, engine: Engine, path: Union[str, "os.PathLike[str]"], *,
                 state_dir: Union[str, "os.PathLike[str]", None] = None,
                 env: Optional[Env] = None) -> None:
        native, error = _worker.Project.open(engine._native, path, state_dir, env)
        if error is not None:
            raise _error(error)
        self._native = native

    @property
    def name(self) -> str:
        """The project's name: its site id in the engine."""
        return self._native.name

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
