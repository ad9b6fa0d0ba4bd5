"""The backend killed with SIGKILL during a call: the call goes on, the new backend adopts
Asterisk and Redis, re-syncs, and finds the call (and the agent on it)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from agent_gateway.edge.store import read_presence
from config.secrets import read_secret, secrets_dir
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from tests.e2e.harness import backend_config, backend_process, stop_backends


def _config(tmp: Path, phone_port: int) -> Path:
    return backend_config(tmp, [("1001", "王芳", phone_port)])


async def _health(port: int) -> dict[str, Any]:
    def get() -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as r:
            body: dict[str, Any] = json.loads(r.read())
            return body

    return await asyncio.to_thread(get)


async def _live_calls(http_port: int, want: int) -> None:
    for _ in range(200):  # polled with a deadline: the figure is only on /health
        if (await _health(http_port)).get("live_calls") == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"live calls never became {want}")


async def _presence(redis_port: int, state_dir: Path, ext: str, state: str) -> None:
    """Wait until desktops' snapshots would show the agent in `state` (the private Redis
    wants the password the backend generated into its state directory)."""
    password = read_secret(secrets_dir(state_dir) / "redis")
    redis = Redis(host="127.0.0.1", port=redis_port, password=password)
    try:
        for _ in range(200):
            if (await read_presence(redis)).get(ext, {}).get("state") == state:
                return
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()
    raise AssertionError(f"agent {ext} never shown {state}")


async def test_a_call_survives_a_backend_crash(tmp_path: Path) -> None:
    phone_port = free_udp_port()
    config = _config(tmp_path, phone_port)
    text = config.read_text(encoding="utf-8")
    http = int(text.split("[http]\nport = ")[1].split()[0])
    sip = int(text.split("[sip]\nport = ")[1].split()[0])
    redis = int(text.split("[redis]\nport = ")[1].split()[0])
    first = await backend_process(config)
    second: asyncio.subprocess.Process | None = None
    try:
        async with AgentPhone(tmp_path / "sipp", "127.0.0.1", phone_port, ring_ms=300):
            call = asyncio.create_task(place_calls(
                tmp_path / "sipp", target=f"127.0.0.1:{sip}", service="12345",
                callers=[CallerIdentity("吴九", "13900009999")],
                plan=CallerPlan(dtmf="0", dtmf_after_ms=500, hangup_after_ms=12000),
            ))  # fmt: skip
            await _live_calls(http, 1)
            first.kill()  # the backend dies; Asterisk and Redis run on in their own sessions
            await first.wait()
            second = await backend_process(config)
            await _live_calls(http, 1)  # adopted Asterisk, re-synced: the call is known again
            state = tmp_path / "state"
            await _presence(redis, state, "1001", "talking")  # the agent on it, not available
            result = await call
            assert result.ok, result.errors  # the caller talked on and hung up normally
            await _live_calls(http, 0)
            await _presence(redis, state, "1001", "wrap_up")
    finally:
        await stop_backends(tmp_path / "state", second, first)  # nothing left, whatever failed
