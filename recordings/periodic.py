"""A background job run once entered, then every `interval_s` until left (the recordings'
compression, retention and reconciliation), as `crm/jobs/overdue_sweep.py` is for notices.

A failed run is logged, counted in `failures` and tried at the next interval: the loop never
ends by itself, and leaving the context cancels a run in progress.
"""

from __future__ import annotations

import asyncio
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
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
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
            try:
                await self.run_once()
            except Exception:
                self.failures += 1
                log.exception("%s failed; next try in %.0f s", self.name, self.interval_s)
            self.runs += 1
            await asyncio.sleep(self.interval_s)
