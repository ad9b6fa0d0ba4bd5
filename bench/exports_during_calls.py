"""Screen pops while the CRM exports: does API work stall call handling?

The screen-pop bench's hotline (real Asterisk, Redis, backend with its HTTP app, one SIPp phone
and one websocket desktop per agent), with 10,000 orders in the CRM. Calls are placed twice at
the same rate: once with the API idle, once while `--exporters` clients each download the CSV
export of every order in a loop (and, with `--bad-tokens`, a flood of bad bearer tokens on the
API and the desk ticket endpoint from another address), run from a process of their own as
remote clients would be. Meanwhile `/health` is asked every 0.2 s and an order registered
every 0.5 s, each timed.

    .venv/bin/python bench/exports_during_calls.py [--rate 20] [--calls 200] [--desktops 50]
                                                   [--exporters 4] [--orders 10000] [--bad-tokens]

Ends with one JSON line: for each phase (`idle_api`, `exports`) the pops' p50/p99/max and lost,
`/health` and registration latency max, and the exports completed with their row counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from screen_pop import Rig, measure_pops, pop_rig

from config.settings import load_settings
from crm.db.engine import create_engine, session_factory
from crm.domain.enums import Role
from crm.repo.directory import create_user
from tests.fixtures.bulk_orders import insert_orders

ORDER = {"text": "路灯不亮", "order_type": "help", "caller_name": "张三",
         "caller_number": "13800000000", "location": "幸福路 12 号"}  # fmt: skip
FLOOD_ADDRESS = "127.0.0.3"  # the throttle counts per address: not the one the probes use


async def seed(rig: Rig, orders: int) -> dict[str, str]:
    """`orders` orders in the CRM, and the bearer tokens of a supervisor and an agent user."""
    engine = create_engine(load_settings(overrides=rig.conf).database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            supervisor, sup_token = await create_user(session, "导出员", Role.SUPERVISOR, None)
            _, agent_token = await create_user(session, "受理员", Role.AGENT, None)
        await insert_orders(sessions, orders, supervisor.id, datetime.now(UTC))
    finally:
        await engine.dispose()
    return {"supervisor": sup_token, "agent": agent_token}


def base_url(rig: Rig) -> str:
    return f"http://127.0.0.1:{rig.conf['http']['port']}"


async def export_loop(url: str, token: str, stop: asyncio.Event, rows: list[int]) -> None:
    """Download the whole CSV export again and again until `stop`; rows of each finished one."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        while not stop.is_set():
            async with client.get(f"{url}/api/orders/export.csv", headers=headers) as resp:
                body = await resp.read()
                assert resp.status == 200, body[:200]
            rows.append(body.count(b"\n") - 1)  # less the header line


async def timed_every(
    period_s: float, stop: asyncio.Event, request: Callable[[], Awaitable[None]]
) -> list[float]:
    """`request` every `period_s` (not overlapping) until `stop`: each one's latency in ms."""
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        await request()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(period_s)
    return latencies


async def probes(url: str, token: str, stop: asyncio.Event) -> tuple[list[float], list[float]]:
    """`/health` every 0.2 s and an order registered every 0.5 s: their latencies."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def health() -> None:
            async with client.get(f"{url}/health") as resp:
                assert resp.status == 200, await resp.text()

        async def register() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            async with client.post(f"{url}/api/orders", json=ORDER, headers=headers) as resp:
                assert resp.status == 201, await resp.text()

        return await asyncio.gather(
            timed_every(0.2, stop, health), timed_every(0.5, stop, register)
        )


async def flood(url: str, stop: asyncio.Event, statuses: Counter[int]) -> None:
    """Bad bearer tokens on the API and the ticket endpoint, 8 at a time, until `stop`."""
    connector = aiohttp.TCPConnector(local_addr=(FLOOD_ADDRESS, 0))
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(i: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                headers = {"Authorization": f"Bearer bad-token-{i}-{n}"}
                if n % 2:
                    request = client.get(f"{url}/api/orders", headers=headers)
                else:
                    request = client.post(f"{url}/api/desk/ticket", headers=headers, json={})
                async with request as resp:
                    await resp.read()
                    statuses[resp.status] += 1

        await asyncio.gather(*(one(i) for i in range(8)))


def _max(values: list[float]) -> float | None:
    return round(max(values), 1) if values else None


async def api_load(url: str, token: str, exporters: int, bad_tokens: bool) -> dict[str, Any]:
    """The API's load, run in a process of its own (`--load`): export loops (and the flood)
    until stdin closes, so that reading 40,000 CSV rows does not load the process whose pops
    are timed. Prints `started` once under way; returns the rows and statuses seen."""
    stop = asyncio.Event()
    rows: list[int] = []
    statuses: Counter[int] = Counter()
    background = [
        asyncio.create_task(export_loop(url, token, stop, rows)) for _ in range(exporters)
    ]
    if bad_tokens:
        background.append(asyncio.create_task(flood(url, stop, statuses)))
    await asyncio.sleep(1.0)  # the exports under way
    print("started", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the bench closes our stdin
    stop.set()
    await asyncio.gather(*background)  # each export under way finishes whole
    return {"rows": rows, "statuses": dict(statuses)}


@asynccontextmanager
async def api_loaded(
    url: str, token: str, exporters: int, bad_tokens: bool, seen: dict[str, Any]
) -> AsyncIterator[None]:
    """`api_load` in a child process for the block; what it saw lands in `seen`."""
    if not exporters and not bad_tokens:
        yield
        return
    flags = ["--bad-tokens"] if bad_tokens else []
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--load", url, "--token", token,
        "--exporters", str(exporters), *flags,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    try:
        assert await child.stdout.readline() == b"started\n", "the API load did not start"
        yield
    finally:
        child.stdin.close()
        seen.update(json.loads(await child.stdout.read()))
        await child.wait()


async def phase(
    rig: Rig, tokens: dict[str, str], rate: int, calls: int, first: int, exporters: int,
    bad_tokens: bool,
) -> dict[str, Any]:  # fmt: skip
    """One round of calls with `exporters` export loops (and the flood) running throughout."""
    url = base_url(rig)
    stop = asyncio.Event()
    seen: dict[str, Any] = {"rows": [], "statuses": {}}
    probing = asyncio.create_task(probes(url, tokens["agent"], stop))
    try:
        async with api_loaded(url, tokens["supervisor"], exporters, bad_tokens, seen):
            figures = await measure_pops(rig, rate, calls, first)
    finally:
        stop.set()
        health, register = await probing
    rows = seen["rows"]
    return {
        **{k: figures[k] for k in ("p50_ms", "p99_ms", "max_ms", "lost", "rings", "pops")},
        "health_max_ms": _max(health),
        "health_probes": len(health),
        "register_max_ms": _max(register),
        "registrations": len(register),
        "exports_completed": len(rows),
        "export_rows": sorted(set(rows)),
        **({"bad_token_statuses": seen["statuses"]} if bad_tokens else {}),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with pop_rig(args.desktops, http=True, idle=0) as rig:
        tokens = await seed(rig, args.orders)
        idle = await phase(rig, tokens, args.rate, args.calls, 0, 0, False)
        busy = await phase(
            rig, tokens, args.rate, args.calls, args.calls, args.exporters, args.bad_tokens
        )
    return {
        "rate": args.rate,
        "calls_per_phase": args.calls,
        "desktops": args.desktops,
        "exporters": args.exporters,
        "orders": args.orders,
        "idle_api": idle,
        "exports": busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200, help="calls per phase")
    parser.add_argument("--desktops", type=int, default=50)
    parser.add_argument("--exporters", type=int, default=4)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--bad-tokens", action="store_true", help="flood bad bearer tokens too")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)  # the child's side
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        os.nice(19)  # remote clients would not share the backend's cores at all
        seen = asyncio.run(api_load(args.load, args.token, args.exporters, args.bad_tokens))
        print(json.dumps(seen))
        return
    figures = asyncio.run(run(args))
    for name in ("idle_api", "exports"):
        f = figures[name]
        print(
            f"{name:9}: pops p50 {f['p50_ms']} ms  p99 {f['p99_ms']} ms  max {f['max_ms']} ms  "
            f"lost {f['lost']}/{f['rings']}; /health max {f['health_max_ms']} ms; "
            f"registration max {f['register_max_ms']} ms; exports {f['exports_completed']} "
            f"of {f['export_rows']} rows"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
