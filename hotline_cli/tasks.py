"""The backend's long-lived tasks, supervised: a failure is logged at once, counted, and the
task restarted after a short back-off, instead of dying silently until shutdown.

`/health` reports every task's counters, including those of loops that survive failing steps
on their own (the AMI consumer, the desk writer), registered with `watch`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STEADY_S = 60.0  # a run this long was healthy: the next failure backs off from the start
# redis-py can swallow the cancellation of a blocking stream read (2 s at most, bus.py): the
# reading loop then notices at its next turn, within this.
STOP_TIMEOUT_S = 3.0


@dataclass
class TaskHealth:
    failures: int = 0
    restarts: int = 0


Probe = Callable[[], TaskHealth]
AlarmProbe = Callable[[], dict[str, str]]  # alarm name -> what is wrong (no personal data)


class Tasks:
    """The registry of supervised and watched tasks, by name."""

    def __init__(self, backoff_s: tuple[float, ...] = BACKOFF_S) -> None:
        self.backoff_s = backoff_s
        self._probes: dict[str, Probe] = {}
        self._alarms: dict[str, AlarmProbe] = {}

    def watch(self, name: str, probe: Probe, alarms: AlarmProbe | None = None) -> None:
        """Report a task's counters, and the alarms it raises (a disk running full), if any."""
        self._probes[name] = probe
        if alarms is not None:
            self._alarms[name] = alarms

    def alarms(self) -> dict[str, str]:
        """Every alarm raised now, by name (thread-safe as `report` is)."""
        raised: dict[str, str] = {}
        for probe in list(self._alarms.values()):
            raised.update(probe())
        return raised

    def report(self) -> dict[str, dict[str, int]]:
        """Safe from another thread (/health runs on the HTTP loop): it copies the registry
        first, and the probes read plain counters."""
        return {name: asdict(probe()) for name, probe in list(self._probes.items())}

    @asynccontextmanager
    async def supervised(
        self, name: str, work: Callable[[], Awaitable[None]], health: TaskHealth | None = None
    ) -> AsyncIterator[TaskHealth]:
        """Run `work()` for as long as the block lasts, restarting it whenever it ends; its
        failures and restarts are counted in `health` (which `work` may count in too)."""
        if health is None:
            health = TaskHealth()
        self.watch(name, lambda: health)
        task = asyncio.create_task(self._keep(name, work, health), name=name)
        try:
            yield health
        finally:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
            if not done:
                log.warning("%s did not stop within %.0f s; leaving it", name, STOP_TIMEOUT_S)

    async def _keep(
        self, name: str, work: Callable[[], Awaitable[None]], health: TaskHealth
    ) -> None:
        loop = asyncio.get_running_loop()
        streak = 0  # quick failures in a row
        while True:
            started = loop.time()
            try:
                await work()
                log.error("%s ended by itself; restarting it", name)
            except Exception:
                if _cancelling():  # redis-py turned our cancellation into an error
                    raise asyncio.CancelledError from None
                log.exception("%s failed; restarting it", name)
            health.failures += 1
            if loop.time() - started >= STEADY_S:
                streak = 0
            await asyncio.sleep(self.backoff_s[min(streak, len(self.backoff_s) - 1)])
            streak += 1
            health.restarts += 1


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
