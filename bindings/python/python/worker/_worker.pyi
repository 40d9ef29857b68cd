"""Type stubs of the native module. Use the names re-exported by ``worker``."""
import asyncio
import os
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

_Path = Union[str, "os.PathLike[str]"]
# (kind, js_name, message, js_stack, location)
_ErrorTuple = Tuple[str, str, str, str, Optional[str]]
# (status, status_text, headers, body, logs, duration_s, error, pass_through)
_ResultTuple = Tuple[int, str, list, bytes, list, float, Optional[_ErrorTuple], bool]
# (outcomes as (ack, retry_delay), logs, duration_ms, error)
_QueueResultTuple = Tuple[List[Tuple[bool, Optional[int]]], list, float, Optional[_ErrorTuple]]

class Env:
    """Vars, secrets, JSON vars and the stores behind a worker's bindings. ``kv``, ``r2``,
    ``d1``, ``assets`` and ``queues`` map binding names to stores (an embedded store or any
    object with the protocol's methods, plain or ``async def``); ``cache`` serves ``caches``."""

    def __init__(
        self,
        *,
        vars: Optional[Mapping[str, str]] = None,
        secrets: Optional[Mapping[str, str]] = None,
        json: Optional[Mapping[str, Any]] = None,
        kv: Optional[Mapping[str, Any]] = None,
        r2: Optional[Mapping[str, Any]] = None,
        d1: Optional[Mapping[str, Any]] = None,
        assets: Optional[Mapping[str, Any]] = None,
        queues: Optional[Mapping[str, Any]] = None,
        cache: Optional[Any] = None,
    ) -> None: ...

class Body:
    """An R2 body the worker writes: read it in chunks, iterate it, or ``read_all()``."""

    def read(self) -> Optional[bytes]: ...
    def read_all(self) -> bytes: ...
    def __iter__(self) -> Iterator[bytes]: ...
    def __next__(self) -> bytes: ...

class SqliteKv:
    def __init__(self, path: _Path) -> None: ...

class FsR2:
    def __init__(self, dir: _Path) -> None: ...

class SqliteD1:
    def __init__(self, path: _Path) -> None: ...

class MemoryCache:
    def __init__(self, max_bytes: int = ...) -> None: ...

class DirAssets:
    def __init__(self, dir: _Path, html_handling: str = "auto-trailing-slash",
                 not_found_handling: str = "none") -> None: ...

class SqliteQueue:
    def __init__(self, path: _Path) -> None: ...

class QueueBroker:
    def __init__(self, engine: Engine, on_event: Optional[Callable[[Any], Any]] = None) -> None: ...
    def consume(self, queue: str, store: SqliteQueue, site_id: str, deploy_key: str,
                env: Optional[Env], max_batch_size: int, max_batch_timeout: float,
                max_retries: int, retry_delay: int,
                dead_letter_queue: Optional[Tuple[str, SqliteQueue]]) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class Engine:
    def __init__(self, source_loader: Any = None, *, pool_size: Optional[int] = None,
                 memory_limit_mb: Optional[int] = None, cpu_time_ms: Optional[int] = None,
                 wall_time_ms: Optional[int] = None, max_subrequests: Optional[int] = None,
                 max_response_bytes: Optional[int] = None,
                 max_resident_workers: Optional[int] = None, warm_isolates: Optional[int] = None,
                 allow_code_generation: Optional[bool] = None) -> None: ...
    def execute(self, site_id: str, deploy_key: str, env: Optional[Env], request: Any) -> _ResultTuple: ...
    def execute_async(self, site_id: str, deploy_key: str, env: Optional[Env],
                      request: Any) -> "asyncio.Future[_ResultTuple]": ...
    def execute_function(self, site_id: str, deploy_key: str, env: Optional[Env], name: str,
                         args_json: str) -> Tuple[Optional[str], list, float, Optional[_ErrorTuple]]: ...
    def execute_function_async(self, site_id: str, deploy_key: str, env: Optional[Env], name: str,
                               args_json: str) -> "asyncio.Future[Tuple[Optional[str], list, float, Optional[_ErrorTuple]]]": ...
    def execute_queue(self, site_id: str, deploy_key: str, env: Optional[Env], queue: str,
                      messages: Iterable[Any]) -> _QueueResultTuple: ...
    def execute_queue_async(self, site_id: str, deploy_key: str, env: Optional[Env], queue: str,
                            messages: Iterable[Any]) -> "asyncio.Future[_QueueResultTuple]": ...
    def compile_and_cache(self, site_id: str, deploy_key: str,
                          source: Any) -> Tuple[Optional[bytes], Optional[_ErrorTuple]]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @staticmethod
    def v8_version() -> str: ...

class Project:
    @staticmethod
    def open(engine: Engine, path: _Path, state_dir: Optional[_Path] = None,
             env: Optional[Env] = None, on_queue_event: Optional[Callable[[Any], Any]] = None
             ) -> Tuple[Optional["Project"], Optional[_ErrorTuple]]: ...
    @property
    def name(self) -> str: ...
    @property
    def warnings(self) -> List[str]: ...
    def fetch(self, request: Any) -> _ResultTuple: ...
    def fetch_async(self, request: Any) -> "asyncio.Future[_ResultTuple]": ...
    def close(self) -> None: ...

def read_config(path: _Path) -> Dict[str, Any]:
    """A wrangler config (``.jsonc``, ``.json`` or ``.toml``) parsed into Python values."""

def r2_conditional_holds(only_if: Optional[Mapping[str, Any]],
                         current: Optional[Mapping[str, Any]]) -> bool:
    """Whether an R2 ``onlyIf`` holds for ``current`` (an object dict, or None)."""

def r2_resolve_range(range: Optional[Mapping[str, Any]], size: int) -> Tuple[int, int]:
    """``(offset, length)`` of an R2 ``range`` option in an object of ``size`` bytes."""
