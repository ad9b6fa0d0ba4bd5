"""The HTTP app (CRM API, desk tickets and pages, /health) in a process of its own.

The call path (AMI consumer, screen pops, websocket gateway) must never wait for API work: a
CSV export of 10,000 orders, a flood of requests or of bad tokens. On a loop or a thread of
the call process such work still competes for its interpreter (four exporters took a
screen pop's p99 from tens to hundreds of milliseconds); a process of its own competes only
for a core. The child (`http_child`) has its own database engine and Redis client; the call
process's figures reach its /health through Redis (`status_api`).

The child reads its job from stdin and serves until stdin closes: we close it to stop the
child, and a parent that dies (even by SIGKILL) closes it too, so no orphan holds the HTTP
port against the next backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from hotline_cli.tasks import BACKOFF_S, STEADY_S, TaskHealth

log = logging.getLogger(__name__)

READY = b"ready\n"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
JOB_LENGTH = struct.Struct(">Q")
_ROOT = Path(__file__).resolve().parent.parent  # the tree the parent runs, for the child


@dataclass(frozen=True)
class HttpJob:
    """What the child needs: the settings file's (its infrastructure, secrets resolved; the
    child runs the stored telephony configuration on them), and where Redis and the
    desktops' gateway are (both known only once they run)."""

    settings: Settings
    redis_url: str
    ws_url: str
    log_level: int


class HttpProcess:
    """The HTTP app serving in a child process while the context lasts. A child that fails
    to start raises on entry; one that dies later is logged, counted in `health` (on
    /health as "http process") and started again after a back-off.

    Entered without a job, only the child's interpreter starts (its imports take seconds):
    the backend enters it first, so that they run while the rest comes up, and hands it the
    job with `serve` once Redis and the gateway are known."""

    def __init__(
        self, job: HttpJob | None = None, backoff_s: tuple[float, ...] = BACKOFF_S
    ) -> None:
        self.job = job
        self.backoff_s = backoff_s
        self.health = TaskHealth()
        self._child: asyncio.subprocess.Process | None = None
        self._keeper: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    async def __aenter__(self) -> HttpProcess:
        self._child = await _spawn()
        if self.job is not None:
            await self.serve(self.job)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def serve(self, job: HttpJob) -> None:
        """Hand the spawned child its job; return once it serves (raise if it does not)."""
        assert self._child is not None and self._keeper is None
        self.job = job
        await _hand_job(self._child, job)
        self._keeper = asyncio.create_task(self._keep(), name="http process")

    async def ask_to_stop(self) -> None:
        """Stop starting the child again and tell it to stop (close its stdin), without
        waiting for it to end: the backend stops the rest meanwhile, and `stop` waits."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._child is not None and self._child.stdin is not None:
            self._child.stdin.close()

    async def stop(self) -> None:
        """Stop the child (and stop starting it again): wait for it, kill it if it lingers."""
        await self.ask_to_stop()
        if self._child is not None:
            await _stop(self._child)

    async def _start(self) -> asyncio.subprocess.Process:
        assert self.job is not None
        child = await _spawn()
        await _hand_job(child, self.job)
        return child

    async def _keep(self) -> None:
        loop = asyncio.get_running_loop()
        streak, started = 0, loop.time()  # quick failures in a row; when the child started
        while True:
            assert self._child is not None
            status = await self._child.wait()
            log.error("the HTTP process ended (exit status %s); starting it again", status)
            self.health.failures += 1
            if loop.time() - started >= STEADY_S:
                streak = 0
            await asyncio.sleep(self.backoff_s[min(streak, len(self.backoff_s) - 1)])
            streak += 1
            try:
                self._child = await self._start()
            except (OSError, RuntimeError, TimeoutError):
                log.exception("the HTTP process did not start again")
                continue
            started = loop.time()
            self.health.restarts += 1


async def _spawn() -> asyncio.subprocess.Process:
    """The child's interpreter, importing the app while it waits for its job on stdin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # fmt: skip
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline_cli.http_child",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip


async def _hand_job(child: asyncio.subprocess.Process, job: HttpJob) -> None:
    """Send the job; return once the child says it serves (stop it and raise if it does not)."""
    assert child.stdin is not None and child.stdout is not None
    try:
        # The settings hold secrets: pickled over this private pipe, to our own program.
        payload = pickle.dumps(job)
        child.stdin.write(JOB_LENGTH.pack(len(payload)) + payload)
        await child.stdin.drain()
        async with asyncio.timeout(START_TIMEOUT_S):
            line = await child.stdout.readline()
        if line != READY:
            raise RuntimeError("the HTTP process ended before it served")
    except BaseException:
        await _stop(child)
        raise


async def _stop(child: asyncio.subprocess.Process) -> None:
    """Close the child's stdin (its signal to stop), then wait; kill it if it lingers."""
    if child.stdin is not None:
        child.stdin.close()
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await child.wait()
    except TimeoutError:
        log.warning("the HTTP process did not stop within %.0f s; killing it", STOP_TIMEOUT_S)
        child.kill()
        await child.wait()
