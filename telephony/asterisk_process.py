"""The supervisor of the private Asterisk, on the configuration `asterisk_config` renders."""

from __future__ import annotations

import asyncio
import time

from processes.supervised import ProcessError, SupervisedProcess
from telephony.asterisk_config import Layout


class AsteriskProcess(SupervisedProcess):
    """A private Asterisk on the generated configuration (`asterisk -f -C …`)."""

    name = "asterisk"

    def __init__(self, layout: Layout) -> None:
        super().__init__()
        self.layout = layout

    async def adopt(self, timeout: float) -> None:
        await self.cli("core reload", timeout=timeout)  # the settings may have changed
        await self.wait_ready(timeout)

    async def find_running(self) -> int | None:
        """The pid of an Asterisk answering on this layout's control socket, if one does."""
        pidfile = self.layout.run / "asterisk.pid"
        if not self.layout.control_socket.exists() or not pidfile.exists():
            return None
        try:
            uptime = await self.cli("core show uptime", timeout=3.0)
        except ProcessError:
            return None  # a stale socket left by a crash
        # An Asterisk still dying of a SIGKILL can accept the connection and close it without
        # a word (`asterisk -rx` then exits 0): only an answer proves it is running.
        if "uptime" not in uptime.lower():
            return None
        return int(pidfile.read_text(encoding="ascii").strip())

    def command(self) -> list[str]:
        return ["asterisk", "-f", "-n", "-C", str(self.layout.asterisk_conf)]

    async def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run a CLI command over the instance's control socket (`asterisk -rx`)."""
        proc = await asyncio.create_subprocess_exec(
            "asterisk",
            "-C",
            str(self.layout.asterisk_conf),
            "-rx",
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ProcessError(f"asterisk -rx {command!r} timed out") from None
        text = out.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise ProcessError(f"asterisk -rx {command!r} failed: {text.strip()}")
        return text

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the control socket exists and Asterisk says it is fully booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.returncode is not None:
                raise ProcessError(
                    f"asterisk exited with {self.process.returncode}; see {self.layout.log}"
                )
            if self.layout.control_socket.exists():
                try:
                    left = max(1.0, deadline - time.monotonic())
                    await self.cli("core waitfullybooted", timeout=left)
                    # Asterisk 16 trap: manager.conf's eventfilter whitelist, as loaded at
                    # start-up, lets almost nothing through; after a manager reload it
                    # filters as written. Reload once so the filter is the one we render.
                    await self.cli("manager reload", timeout=left)
                    return
                except ProcessError:
                    pass
            await asyncio.sleep(0.05)
        raise ProcessError(f"asterisk not fully booted within {timeout:.0f} s")

    async def healthy(self) -> bool:
        if not self.running:
            return False
        try:
            await self.cli("core show uptime", timeout=3.0)
        except ProcessError:
            return False
        return True

    async def polite_stop(self) -> None:
        await self.cli("core stop now", timeout=5.0)
