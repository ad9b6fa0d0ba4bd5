"""The supervisor of the private Redis: shared presence and fan-out across gateway processes."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from urllib.parse import quote

from redis.asyncio import Redis

from config.secrets import stored_secret
from processes.supervised import ProcessError, SupervisedProcess


class RedisProcess(SupervisedProcess):
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
