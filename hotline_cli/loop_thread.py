"""An async context run on an event loop of its own, in a thread of its own.

The call path (AMI consumer, screen pops, websocket gateway) must never wait for API work: a
CSV export of 10,000 orders, SQLite queries that run inline (`crm.db.inline_sqlite`), a flood of
requests. `in_own_loop` enters a context (the HTTP app with its own database engine and Redis
client) on a second loop, returns what it yields, and exits it there when the caller's block
ends, so start-up and shutdown stay one `async with` in the wiring root. What the context
shares with the caller's loop must be safe to read from another thread (plain counters).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

T = TypeVar("T")


@asynccontextmanager
async def in_own_loop(
    context: Callable[[], AbstractAsyncContextManager[T]], name: str
) -> AsyncIterator[T]:
    """`context()` entered on a new loop in thread `name` on entry, exited there on exit; a
    failure to enter or to exit it is raised here."""
    caller = asyncio.get_running_loop()
    entered: asyncio.Future[T] = caller.create_future()
    ended: asyncio.Future[None] = caller.create_future()
    leave = threading.Event()  # asked to stop: seen by `serve`, or `serve`'s loop is told
    loops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    errors: list[BaseException] = []

    def enter(value: T) -> None:
        if not entered.done():
            entered.set_result(value)

    async def serve() -> None:
        stop = asyncio.Event()
        loops.append((asyncio.get_running_loop(), stop))
        if leave.is_set():
            return
        async with context() as value:
            caller.call_soon_threadsafe(enter, value)
            await stop.wait()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # raised on the caller's loop
            errors.append(exc)
        caller.call_soon_threadsafe(ended.set_result, None)

    thread = threading.Thread(target=main, name=name, daemon=True)
    thread.start()
    try:
        either: set[asyncio.Future[Any]] = {entered, ended}
        done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if entered not in done:
            raise errors[0] if errors else RuntimeError(f"{name} stopped before it started")
        yield entered.result()
    finally:
        leave.set()
        for loop, stop in loops:
            with contextlib.suppress(RuntimeError):  # that loop has ended already
                loop.call_soon_threadsafe(stop.set)
        await asyncio.shield(ended)
        thread.join()
    if errors:
        raise errors[0]
