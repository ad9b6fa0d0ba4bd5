"""Supervisors for the private Asterisk and Redis servers the backend and the tests run.

Each is an async context manager: entering starts the server and waits until it is ready,
leaving stops it (politely, then by force).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from redis.asyncio import Redis

from config.secrets import stored_secret
from telephony.asterisk_config import Layout

log = logging.getLogger(__name__)


class ProcessError(RuntimeError):
    """A supervised server did not start or stopped unexpectedly."""


class _Supervised:
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

    async def __aenter__(self) -> _Supervised:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class AsteriskProcess(_Supervised):
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


class RedisProcess(_Supervised):
    """A private redis-server with append-only persistence, so a kill loses at most 1 s.

    It requires a password (`requirepass`), written with the other options into a config file
    only its owner can read, never on the command line where `ps` shows it; every client URL
    carries it. Without one given, the password is generated beside the data (`password`, 0600)
    and reused, so a later supervisor on the same directory can adopt the server.
    """

    name = "redis"

    def __init__(
        self, port: int, data_dir: Path, host: str = "127.0.0.1", password: str | None = None
    ) -> None:
        super().__init__()
        self.port = port
        self.host = host
        self.data_dir = data_dir.resolve()
        self.password = password or stored_secret(self.data_dir / "password")

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password, safe='')}@{self.host}:{self.port}/0"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "redis.conf"

    def command(self) -> list[str]:
        options = {
            "port": str(self.port),
            "bind": self.host,
            "dir": str(self.data_dir),
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": '""',
            "protected-mode": "yes",
            "logfile": str(self.data_dir / "redis.log"),
            "requirepass": self.password,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.writelines(f"{key} {value}\n" for key, value in options.items())
        os.chmod(self.config_file, 0o600)  # an older file kept its mode
        return ["redis-server", str(self.config_file)]

    async def _probe(self) -> bool | None:
        """True: it answers to our password; False: a Redis there refuses it; None: none there."""
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            return None
        secret = self.password.encode()
        try:
            writer.write(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (
                len(secret), secret))  # fmt: skip
            await writer.drain()
            auth = await asyncio.wait_for(reader.readline(), 1.0)
            pong = await asyncio.wait_for(reader.readline(), 1.0)
        except (OSError, TimeoutError):
            return None
        finally:
            writer.close()
        if not auth and not pong:
            return None
        return auth.startswith(b"+OK") and pong.startswith(b"+PONG")

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.returncode is not None:
                raise ProcessError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
            if await self._probe():
                return
            await asyncio.sleep(0.02)
        raise ProcessError(f"redis-server not answering within {timeout:.0f} s")

    async def healthy(self) -> bool:
        return self.running and bool(await self._probe())

    async def find_running(self) -> int | None:
        """Our redis-server if it still answers on our port, to our password, from our data
        directory."""
        answer = await self._probe()
        if answer is None:
            return None
        if not answer:
            raise ProcessError(
                f"port {self.port} is taken by another redis-server (it refuses our password)"
            )
        client = Redis.from_url(self.url, decode_responses=True)
        try:
            directory = str((await client.config_get("dir"))["dir"])
            pid = int((await client.info("server"))["process_id"])
        finally:
            await client.aclose()
        if directory != str(self.data_dir):  # Redis reports its working directory resolved
            raise ProcessError(f"port {self.port} is taken by another redis-server ({directory})")
        return pid
