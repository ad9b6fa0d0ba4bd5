"""SIPp peers standing in for an emergency line's trunk: one that refuses every call with
503 (its far end out of service). A trunk that answers, and speaks, is an `AgentPhone`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from types import TracebackType

from hotline_cli.demo.ports import free_udp_port

SCENARIO = Path(__file__).parents[1] / "e2e" / "scenarios" / "refusing_trunk.xml"


class RefusingTrunk:
    """A SIPp UAS on host:port answering every INVITE with 503 Service Unavailable."""

    def __init__(self, workdir: Path, host: str, port: int) -> None:
        self.workdir, self.host, self.port = workdir, host, port
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> RefusingTrunk:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            "sipp", "-sf", str(SCENARIO), "-i", self.host, "-p", str(self.port),
            "-mp", str(free_udp_port()), "-cp", str(free_udp_port()), "-nostdin",
            "-trace_err", "-error_file", str(self.workdir / f"refusing-{self.port}.err"),
            cwd=self.workdir, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGUSR1)  # SIPp's "quit now"
            try:
                await asyncio.wait_for(self.process.wait(), 3)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
