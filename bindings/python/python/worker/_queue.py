"""Turns the native module's queue results and broker events (plain tuples) into the
package's dataclasses. The native module calls ``broker_event`` with the GIL held."""
from __future__ import annotations

from ._errors import from_raw
from ._types import (
    BrokerEvent,
    LogEntry,
    QueueDeadLettered,
    QueueDelivered,
    QueueDropped,
    QueueOutcome,
    QueueResult,
    QueueStorageError,
)


def queue_result(raw: tuple) -> QueueResult:
    outcomes, logs, duration_ms, error = raw
    logs = [LogEntry(level, message) for level, message in logs]
    return QueueResult(
        [QueueOutcome(ack, delay) for ack, delay in outcomes],
        logs,
        duration_ms,
        None if error is None else from_raw(error, logs),
    )


def broker_event(raw: tuple) -> BrokerEvent:
    kind, *fields = raw
    if kind == "delivered":
        queue, ids, result = fields
        return QueueDelivered(queue, ids, queue_result(result))
    if kind == "dead_lettered":
        return QueueDeadLettered(*fields)
    if kind == "dropped":
        return QueueDropped(*fields)
    if kind == "storage_error":
        return QueueStorageError(*fields)
    raise ValueError(f"unknown broker event {kind!r}")
