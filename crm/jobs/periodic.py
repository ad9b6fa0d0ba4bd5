"""A background job run once entered, then every `interval_s` (or sooner when woken) until
left: the overdue notices, the recordings' checks, compression, retention, reconciliation.

A failed run is logged, counted in `failures` and tried again at the next interval: the loop
never ends by itself, and leaving the context cancels a run in progress. `start()` runs once
on entry, before the first run (e.g. finding the system user a job signs its changes with).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)


class PeriodicJob:
    name = "periodic job"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.failures = 0
        self.runs = 0
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """What the job needs before its first run; by default nothing."""

    async def run_once(self) -> None:
        raise NotImplementedError

    def wake(self, *_: object) -> None:
        """Run now rather than at the next interval: safe from any listener, any number of
        times (repeats while a run is going make one more run)."""
        self._woken.set()

    async def __aenter__(self) -> Self:
        await self.start()
        self._task = asyncio.create_task(self._forever(), name=self.name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})

    async def _forever(self) -> None:
        while True:
            self._woken.clear()
            try:
                await self.run_once()
            except Exception:
                self.failures += 1
                log.exception("%s failed; next try in %.1f s", self.name, self.interval_s)
            self.runs += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.interval_s)
