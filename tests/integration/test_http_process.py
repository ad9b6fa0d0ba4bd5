"""The HTTP app in a process of its own: it serves the call process's health from Redis, is
started again when it dies, stops with its parent, and never outlives a parent killed by
SIGKILL (or the next backend could not take the HTTP port)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from crm.db.engine import create_engine
from crm.db.migrate import migrate
from hotline_cli.demo.ports import free_tcp_port
from hotline_cli.http_process import HttpJob, HttpProcess
from processes.redis_server import RedisProcess

REPORT = {
    "reporting": True, "ami_connected": True, "events": 7, "malformed_events": 0,
    "resyncs": 1, "live_calls": 3, "last_disconnect": "",
    "tasks": {"ami consumer": {"failures": 0, "restarts": 0}},
    "alarms": {"recordings_disk_low": "12.0 MB free for recordings, below the 500 MB set"},
}  # fmt: skip
SILENT = {**{key: 0 for key in ("events", "malformed_events", "resyncs", "live_calls")},
          "ami_connected": False, "last_disconnect": "", "tasks": {}, "alarms": {}}  # fmt: skip


def _settings(state_dir: Path) -> Settings:
    return resolve_secrets(load_settings(overrides={
        "paths": {"state_dir": str(state_dir)},
        "http": {"port": free_tcp_port()},
    }))  # fmt: skip


def _health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def _answered(port: int) -> tuple[int, dict[str, Any]]:
    """/health's answer, polled until the port serves (deadline 30 s)."""
    async with asyncio.timeout(30):
        while True:
            try:
                return await asyncio.to_thread(_health, port)
            except OSError:
                await asyncio.sleep(0.05)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def _until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} within {within_s:.0f} s")


@asynccontextmanager
async def _backing(tmp: Path) -> AsyncIterator[tuple[Settings, Redis, str]]:
    """Settings on free ports, a migrated SQLite database and a private Redis."""
    settings = _settings(tmp)
    engine = create_engine(settings.database_url)
    await migrate(engine)
    await engine.dispose()
    server = RedisProcess(free_tcp_port(), tmp / "redis",
                          password=settings.redis.password.get_secret_value())  # fmt: skip
    async with server:
        redis = Redis.from_url(server.url)
        try:
            yield settings, redis, server.url
        finally:
            await redis.aclose()


async def test_health_comes_from_the_call_process_report_and_a_killed_child_comes_back(
    tmp_path: Path,
) -> None:
    async with _backing(tmp_path) as (settings, redis, redis_url):
        port = settings.http.port
        job = HttpJob(settings, redis_url, "ws://127.0.0.1:1/", logging.WARNING)
        async with HttpProcess(job, backoff_s=(0.1,)) as web_process:
            first = web_process.pid
            assert first is not None and first != os.getpid()
            status, body = await _answered(port)
            assert (status, body["reporting"]) == (503, False)  # no report yet: not healthy
            await redis.set("hotline:health", json.dumps(REPORT), px=1500)
            assert await _answered(port) == (200, REPORT)
            for _ in range(100):  # a report that is not renewed expires
                if (await _answered(port))[0] == 503:
                    break
                await asyncio.sleep(0.1)
            assert await _answered(port) == (503, {**SILENT, "reporting": False})

            os.kill(first, signal.SIGKILL)
            await _until(lambda: web_process.health.restarts == 1, 30, "no second child")
            assert web_process.pid != first
            await redis.set("hotline:health", json.dumps(REPORT), px=5000)
            assert await _answered(port) == (200, REPORT)
            assert (web_process.health.failures, web_process.health.restarts) == (1, 1)
            second = web_process.pid
            assert second is not None
        await _until(lambda: not _alive(second), 15, "the child still runs")
        assert _port_free(port)


async def _parent_main(state_dir: str, redis_url: str) -> None:
    """A stand-in backend: the HTTP process as its child, then sleep until killed."""
    settings = resolve_secrets(load_settings(overrides={
        "paths": {"state_dir": state_dir}, "http": {"port": int(os.environ["HTTP_PORT"])},
    }))  # fmt: skip
    job = HttpJob(settings, redis_url, "ws://127.0.0.1:1/", logging.WARNING)
    async with HttpProcess(job) as web_process:
        print(web_process.pid, flush=True)
        await asyncio.Event().wait()


async def test_the_child_never_outlives_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    async with _backing(tmp_path) as (settings, _redis, redis_url):
        parent = await asyncio.create_subprocess_exec(
            sys.executable, "-c",
            "import asyncio, sys\n"
            "from tests.integration.test_http_process import _parent_main\n"
            "asyncio.run(_parent_main(sys.argv[1], sys.argv[2]))\n",
            str(tmp_path), redis_url,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "HTTP_PORT": str(settings.http.port)},
        )  # fmt: skip
        assert parent.stdout is not None
        try:
            async with asyncio.timeout(60):
                child = int(await parent.stdout.readline())
            assert (await _answered(settings.http.port))[0] == 503  # serving, nothing reported
        finally:
            parent.kill()
            await parent.wait()
        await _until(lambda: not _alive(child), 15, "the orphaned child still runs")
        assert _port_free(settings.http.port)
