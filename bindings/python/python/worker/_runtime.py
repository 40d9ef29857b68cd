"""The Python half of store dispatch: which asyncio loop awaits a store's coroutine.

The native module calls these with the GIL held; nothing here is public API.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Optional

_lock = threading.Lock()
_private: Optional[asyncio.AbstractEventLoop] = None


def private_loop() -> asyncio.AbstractEventLoop:
    """A loop on a daemon thread of its own, for coroutines with no host loop to run on
    (stores used by a plain ``execute`` outside any running loop, async source loaders)."""
    global _private
    with _lock:
        if _private is None or _private.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="worker-private-loop", daemon=True).start()
            ready.wait()
            _private = loop
        return _private


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def schedule(awaitable: Awaitable[Any], loop: Optional[asyncio.AbstractEventLoop]) -> "concurrent.futures.Future[Any]":
    """Runs ``awaitable`` on ``loop`` when that loop is running, else on the private loop."""
    if loop is None or loop.is_closed() or not loop.is_running():
        loop = private_loop()
    return asyncio.run_coroutine_threadsafe(_await(awaitable), loop)


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Awaits ``awaitable`` on the private loop from a thread that may block."""
    return asyncio.run_coroutine_threadsafe(_await(awaitable), private_loop()).result()


def settle(fut: "asyncio.Future[Any]", value: Any, error: Optional[BaseException]) -> None:
    """Completes an ``execute_async`` future on its loop, unless the caller cancelled it."""
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)
