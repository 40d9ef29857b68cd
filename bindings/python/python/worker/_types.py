"""Plain data the package's API and the store protocols exchange."""
from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from datetime import datetime
from typing import (
    TYPE_CHECKING, Any, ClassVar, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence,
    Tuple, Union,
)

if TYPE_CHECKING:
    from ._errors import WorkerError

Headers = Union[Sequence[Tuple[str, str]], Mapping[str, Union[str, Sequence[str]]]]
"""Request headers: ``(name, value)`` pairs in order (repeats allowed), or a mapping whose
values are a string or a list of strings (one header per value)."""


@dataclass
class Request:
    """An HTTP request for a worker. ``body`` may be bytes or str (sent as UTF-8)."""

    method: str = "GET"
    url: str = "http://localhost/"
    headers: Headers = field(default_factory=list)
    body: Union[bytes, str, None] = None

    @classmethod
    def get(cls, url: str, headers: Optional[Headers] = None) -> "Request":
        return cls("GET", url, headers or [])


class LogEntry(NamedTuple):
    """One ``console.*`` call: ``level`` is debug, log, info, warn or error."""

    level: str
    message: str


@dataclass
class Response:
    """A worker's response. ``headers`` are ``(name, value)`` pairs in order, lower-case
    names, ``set-cookie`` once per cookie."""

    status: int
    status_text: str
    headers: List[Tuple[str, str]]
    body: bytes
    logs: List[LogEntry] = field(default_factory=list)
    duration: float = 0.0
    """Seconds the invocation took."""
    pass_through: bool = False
    """The worker called ``ctx.passThroughOnException()`` (only set on failures)."""

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        """All values of a header joined with ``", "`` (as ``Headers.get`` in JS), or None."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> List[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


@dataclass
class Module:
    """One module of a worker. ``type``: "esm" (default for .js/.mjs), "script"
    (service-worker syntax, main module only), "text", "json" or "data"."""

    name: str
    content: Union[str, bytes]
    type: Optional[str] = None


@dataclass
class WorkerSource:
    """A worker's modules and its entry point (default: the first module)."""

    modules: List[Module]
    main_module: Optional[str] = None


# ---------------------------------------------------------------------- KV


@dataclass
class KvEntry:
    """A KV value with what was put beside it: ``metadata`` is any JSON value, ``expiration``
    seconds since the UNIX epoch (entries past it are never shown to the worker)."""

    value: Union[bytes, str]
    metadata: Any = None
    expiration: Optional[int] = None


@dataclass
class KvKey:
    name: str
    expiration: Optional[int] = None
    metadata: Any = None


@dataclass
class KvList:
    """One page of ``list``: keys in UTF-8 byte order (``sorted()`` order for str) after the
    cursor; ``cursor`` continues the listing when ``list_complete`` is false."""

    keys: List[Union[KvKey, str]]
    list_complete: bool = True
    cursor: Optional[str] = None


# ---------------------------------------------------------------------- other stores


@dataclass
class CachedResponse:
    """A response as a cache keeps it; ``expires_at`` in milliseconds since the UNIX epoch."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes
    expires_at: int


@dataclass
class AssetRequest:
    method: str
    url: str
    headers: List[Tuple[str, str]]


@dataclass
class AssetResponse:
    status: int
    headers: Headers = field(default_factory=list)
    body: Union[bytes, str] = b""


@dataclass
class QueueMessage:
    """A message a worker sent. ``content_type``: json, text, bytes or v8; ``delay_seconds``
    None when the worker gave none."""

    body: bytes
    content_type: str
    delay_seconds: Optional[int] = None


@dataclass
class QueueMetrics:
    backlog_count: int = 0
    backlog_bytes: int = 0
    oldest_message_timestamp_ms: Optional[int] = None


@dataclass
class R2ObjectBody:
    """What an R2 store's ``get`` returns for an object it has: the object's metadata (the
    dict shape of ``head``) and its bytes, or an iterable of chunks covering ``range``
    (``(offset, length)``; None: the requested range, cut from ``body`` when it is the whole
    object as bytes)."""

    object: Dict[str, Any]
    body: Union[bytes, Iterable[bytes]]
    range: Optional[Tuple[int, int]] = None


# ---------------------------------------------------------------------- queue consumers


@dataclass(init=False)
class QueueDelivery:
    """A message to deliver to a worker's ``queue()`` handler. ``body`` is bytes or str, in
    the encoding ``content_type`` names: "json" (JSON text, the worker gets the parsed value),
    "text" (UTF-8, a string), "bytes" (an ArrayBuffer) or "v8" (structured clone, as a worker
    sent it). ``timestamp`` is when it was sent: a datetime or milliseconds since the UNIX
    epoch (None: now). ``attempts`` counts deliveries, this one included."""

    id: str
    body: Union[bytes, str]
    content_type: str
    timestamp: Union[datetime, int, float, None]
    attempts: int

    def __init__(self, id: str, body: Union[bytes, str], *, content_type: str = "json",
                 timestamp: Union[datetime, int, float, None] = None, attempts: int = 1) -> None:
        self.id = id
        self.body = body
        self.content_type = content_type
        self.timestamp = timestamp
        self.attempts = attempts


class QueueOutcome(NamedTuple):
    """What the handler decided for one message: acked (delete it), or retried, after
    ``retry_delay`` seconds when the worker gave ``delaySeconds`` (None: your own delay)."""

    ack: bool
    retry_delay: Optional[int] = None


@dataclass
class QueueResult:
    """A delivered batch: one outcome per message, in the batch's order. ``error`` is the
    ``WorkerError`` when the handler threw (or could not run); messages it had not acked are
    then retried."""

    outcomes: List[QueueOutcome]
    logs: List[LogEntry] = field(default_factory=list)
    duration_ms: float = 0.0
    error: Optional["WorkerError"] = None


class BrokerEvent:
    """Something a queue broker did; ``kind`` tells which subclass it is."""

    kind: ClassVar[str]


@dataclass
class QueueDelivered(BrokerEvent):
    """A batch of ``queue`` went to its consumer worker: the messages' ``ids`` and its
    ``result`` (outcomes, logs, error)."""

    kind: ClassVar[str] = "delivered"
    queue: str
    ids: List[str]
    result: QueueResult


@dataclass
class QueueDeadLettered(BrokerEvent):
    """Message ``id`` ran out of retries and moved to ``dead_letter_queue``."""

    kind: ClassVar[str] = "dead_lettered"
    queue: str
    dead_letter_queue: str
    id: str


@dataclass
class QueueDropped(BrokerEvent):
    """Message ``id`` ran out of retries after ``attempts`` deliveries and, with no dead-letter
    queue, was deleted."""

    kind: ClassVar[str] = "dropped"
    queue: str
    id: str
    attempts: int


@dataclass
class QueueStorageError(BrokerEvent):
    """The queue's file failed (``message`` says how); the broker tries again later."""

    kind: ClassVar[str] = "storage_error"
    queue: str
    message: str
