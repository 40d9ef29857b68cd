"""The exceptions a failed invocation raises: one class per kind of failure."""
from __future__ import annotations

from typing import Dict, List, Optional, Type

from ._types import LogEntry


class WorkerError(Exception):
    """A worker invocation failed. ``kind`` is the engine's name for the failure
    (``exception``, ``script``, ``scriptNotFound``, ...), ``logs`` what the worker logged."""

    kind: str = "internalError"

    def __init__(
        self,
        message: str,
        *,
        js_name: str = "",
        js_stack: str = "",
        location: Optional[str] = None,
        logs: Optional[List[LogEntry]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.js_name = js_name
        self.js_stack = js_stack
        self.location = location
        self.logs: List[LogEntry] = logs or []

    def __str__(self) -> str:
        text = f"{self.js_name}: {self.message}" if self.js_name else self.message
        return f"{text} ({self.location})" if self.location else text


class JSException(WorkerError):
    """An uncaught JavaScript exception (Cloudflare's error 1101); ``js_name`` is the error's
    name (``TypeError``), ``js_stack`` its stack."""

    kind = "exception"


class ScriptError(WorkerError):
    """The worker failed to compile or to start; ``location`` is ``file:line:col``."""

    kind = "script"


class ScriptNotFound(WorkerError):
    """The source loader could not supply the worker."""

    kind = "scriptNotFound"


class BadHandler(WorkerError):
    """The handler is missing or returned something that is not a Response."""

    kind = "badHandler"


class LimitExceeded(WorkerError):
    """A limit of the engine's configuration was exceeded; the message names it."""


class ExceededCpu(LimitExceeded):
    kind = "exceededCpu"


class ExceededMemory(LimitExceeded):
    kind = "exceededMemory"


class ExceededWallTime(LimitExceeded):
    kind = "exceededWallTime"


class ExceededResponseSize(LimitExceeded):
    kind = "exceededResponseSize"


class InternalError(WorkerError):
    """The engine is shut down, or something failed inside it."""

    kind = "internalError"


_BY_KIND: Dict[str, Type[WorkerError]] = {
    c.kind: c
    for c in (
        JSException,
        ScriptError,
        ScriptNotFound,
        BadHandler,
        ExceededCpu,
        ExceededMemory,
        ExceededWallTime,
        ExceededResponseSize,
        InternalError,
    )
}


def from_raw(raw: tuple, logs: Optional[List[LogEntry]] = None) -> WorkerError:
    kind, name, message, stack, location = raw
    cls = _BY_KIND.get(kind, InternalError)
    return cls(message, js_name=name, js_stack=stack, location=location, logs=logs)
