"""API work never stalls call handling: while four clients download the CSV export of 10,000
orders again and again, a real call's screen pop reaches the agent's websocket desktop and
/health answers, each well within a second, and every export is complete."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect

from crm.db.models import WorkOrder
from crm.domain.enums import Role
from crm.repo.directory import user_by_token
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from tests.e2e.harness import Centre, crm_user
from tests.fixtures.bulk_orders import insert_orders

ORDERS = 10_000
EXPORTERS = 4
BOUND_S = 1.0  # "not seconds": idle, both take a few milliseconds
CALLER = CallerIdentity("导出时来电", "13955556666")


async def _export_rows(http: aiohttp.ClientSession, url: str, token: str,
                       started: asyncio.Event) -> int:  # fmt: skip
    """One whole CSV export, read as it streams; its data rows."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{url}/api/orders/export.csv", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        lines = 0
        async for chunk in resp.content.iter_any():
            started.set()
            lines += chunk.count(b"\n")
    return lines - 1  # less the header


async def _export_loop(http: aiohttp.ClientSession, url: str, token: str, stop: asyncio.Event,
                       started: asyncio.Event) -> list[int]:  # fmt: skip
    """Exports one after the other until `stop` (the one under way then finishes)."""
    rows = []
    while not stop.is_set():
        rows.append(await _export_rows(http, url, token, started))
    return rows


async def _health_latencies(http: aiohttp.ClientSession, url: str,
                            stop: asyncio.Event) -> list[float]:  # fmt: skip
    latencies = []
    while not stop.is_set():
        began = time.monotonic()
        async with http.get(f"{url}/health") as resp:
            assert resp.status == 200, await resp.text()
        latencies.append(time.monotonic() - began)
        await asyncio.sleep(0.1)
    return latencies


async def _screen_pop(ws: ClientConnection) -> tuple[float, dict[str, Any]]:
    """The first screen pop on the desktop, with the time it arrived."""
    async for raw in ws:
        frame = json.loads(raw)
        if frame["type"] == "screen_pop" and frame["caller"]["number"] == CALLER.number:
            return time.time(), frame
    raise AssertionError("the desktop closed before the pop")


async def test_pops_and_health_while_exports_stream(centre: Centre) -> None:
    hotline = centre.hotline
    url = f"http://127.0.0.1:{hotline.settings.http.port}"
    exporter = await crm_user(centre, "导出员", Role.SUPERVISOR)
    agent = await crm_user(centre, "坐席李娜", Role.AGENT, "1002")
    async with hotline.sessions() as session:
        user = await user_by_token(session, exporter)
        assert user is not None
    await insert_orders(hotline.sessions, ORDERS, user.id, datetime.now(UTC), prefix="EXP")
    async with hotline.sessions() as session:
        stored = (await session.execute(select(func.count()).select_from(WorkOrder))).scalar_one()
    assert stored >= ORDERS

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        headers = {"Authorization": f"Bearer {agent}"}
        async with http.post(f"{url}/api/desk/ticket", json={}, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            ticket = (await resp.json())["ticket"]
        port = hotline.gateway.port
        async with connect(f"ws://127.0.0.1:{port}/?ticket={ticket}") as ws:
            popped = asyncio.create_task(_screen_pop(ws))
            stop = asyncio.Event()
            started = [asyncio.Event() for _ in range(EXPORTERS)]
            exports = [
                asyncio.create_task(_export_loop(http, url, exporter, stop, begun))
                for begun in started
            ]
            health = asyncio.create_task(_health_latencies(http, url, stop))
            try:
                async with asyncio.timeout(30):
                    await asyncio.gather(*(begun.wait() for begun in started))
                call = asyncio.create_task(centre.call(
                    [CALLER], CallerPlan(dtmf="2", dtmf_after_ms=1000, hangup_after_ms=6000)
                ))  # fmt: skip
                try:
                    arrived, pop = await asyncio.wait_for(popped, 30)
                except TimeoutError:
                    seen = [(c.caller_number, c.ivr_choice, c.queue, c.agent_interface,
                             c.end_reason) for c in [*hotline.tracker.calls.values(),
                                                     *centre.log.ended()]]  # fmt: skip
                    pytest.fail(f"no screen pop within 30 s while the exports ran; calls {seen}")
                under_way = sum(not task.done() for task in exports)
            finally:
                stop.set()
            rows = [count for task in exports for count in await task]
            latencies = await health
            assert (await call).ok

    pop_s = arrived - pop["ami_ts"]
    print(f"pop {pop_s * 1000:.0f} ms after the ring, /health max {max(latencies) * 1000:.0f} "
          f"ms over {len(latencies)} probes, {len(rows)} exports")  # fmt: skip
    assert under_way == EXPORTERS  # the pop came while all four exported
    assert pop_s < BOUND_S, f"screen pop {pop_s:.2f} s after the phone started ringing"
    assert max(latencies) < BOUND_S, f"/health took up to {max(latencies):.2f} s"
    assert len(rows) >= EXPORTERS and set(rows) == {stored}, rows
