"""The base of the supervisors for the private servers the backend and the tests run.

Each supervisor is an async context manager: entering starts the server and waits until it
is ready, leaving stops it (politely, then by force).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from types import TracebackType

log = logging.getLogger(__name__)


class ProcessError(RuntimeError):
    """A supervised server did not start or stopped unexpectedly."""


class SupervisedProcess:
    """A server started in the foreground so that we own its PID and its end, or adopted.

    A backend that crashed and comes back must not take the calls down with it: the server
    it left running (in its own session) is adopted instead of started twice.
    """

    name = "process"

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.adopted_pid: int | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    async def wait_ready(self, timeout: float) -> None:
        raise NotImplementedError

    async def find_running(self) -> int | None:
        """The pid of our server if it is already running (left by an earlier backend)."""
        return None

    async def adopt(self, timeout: float) -> None:
        """Bring an adopted server in line; by default, just wait until it is ready."""
        await self.wait_ready(timeout)

    async def polite_stop(self) -> None:
        """Ask the server to stop; the default is SIGTERM."""
        if self.running and self.pid is not None:
            os.kill(self.pid, signal.SIGTERM)

    @property
    def pid(self) -> int | None:
        if self.adopted_pid is not None:
            return self.adopted_pid
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        if self.adopted_pid is not None:
            try:
                os.kill(self.adopted_pid, 0)
            except ProcessLookupError:
                return False
            return True
        return self.process is not None and self.process.returncode is None

    async def start(self, timeout: float = 30.0) -> None:
        pid = await self.find_running()
        if pid is not None:
            log.warning("adopting the %s still running (pid %d)", self.name, pid)
            self.adopted_pid = pid
            await self.adopt(timeout)
            return
        cmd = self.command()
        if shutil.which(cmd[0]) is None:
            raise ProcessError(f"{cmd[0]} is not installed: run scripts/install.sh")
        log.info("starting %s: %s", self.name, " ".join(cmd))
        self.process = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            await self.wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def stop(self, timeout: float = 10.0) -> None:
        if self.adopted_pid is not None:
            await self._stop_adopted(timeout)
            return
        process = self.process
        if process is None or process.returncode is not None:
            return
        try:
            await self.polite_stop()
            await asyncio.wait_for(process.wait(), timeout)
        except (TimeoutError, OSError, ProcessError):
            log.warning("%s did not stop in %.0f s: killing it", self.name, timeout)
            self.kill()
            await process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed, nothing is said goodbye."""
        if self.running and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)

    async def _stop_adopted(self, timeout: float) -> None:
        with contextlib.suppress(ProcessError, OSError):
            await self.polite_stop()
        for _ in range(int(timeout / 0.05)):  # not our child: poll for its end
            if not self.running:
                break
            await asyncio.sleep(0.05)
        if self.running:
            log.warning("adopted %s did not stop in %.0f s: killing it", self.name, timeout)
            self.kill()
        self.adopted_pid = None

    async def __aenter__(self) -> SupervisedProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
