"""CRM benchmark: orders created per second through the REST API, and caller-history latency.

1. Bulk-load N historical orders (default 1,000,000) with core executemany.
2. Create orders through the real HTTP API (aiohttp server on loopback, concurrent keep-alive
   clients in a separate process, so that their CPU time is not counted as the server's).
3. Time `crm.repo.orders.caller_history` (a fresh session per lookup, as the screen pop does).

    .venv/bin/python bench/orders.py                 # SQLite file in a temp dir
    .venv/bin/python bench/orders.py --url postgresql://user@127.0.0.1:5432/db --rows 200000

The last line printed is JSON: orders_per_s, history_p50_ms, history_p99_ms.
"""

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from crm.api import create_app
from crm.db.engine import create_engine, session_factory
from crm.db.migrate import upgrade
from crm.db.models import WorkOrder
from crm.domain.clock import local_date
from crm.domain.enums import Channel, OrderType, Role, Severity, Status, UnitKind, Urgency
from crm.repo.directory import create_unit, create_user
from crm.repo.orders import caller_history

BATCH = 20_000
TYPES = [OrderType.CONSULTATION, OrderType.HELP, OrderType.COMPLAINT, OrderType.SUGGESTION]
STATUSES = [Status.CLOSED, Status.CLOSED, Status.CLOSED, Status.DISPATCHED, Status.ANSWERED]


def _number(i: int) -> str:
    return f"139{i:08d}"


def _history_rows(count: int, callers: int, user_id: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of synthetic past orders over two years, callers drawn with a skew."""
    rng = random.Random(7)
    start = datetime(2024, 1, 1)
    batch: list[dict[str, Any]] = []
    for i in range(count):
        at = start + timedelta(seconds=i * 63)
        batch.append(
            {
                "number": f"HIST-{at:%Y%m%d}-{i:07d}",
                "channel": Channel.PHONE,
                "caller_name": "",
                "caller_number": _number(int(callers * rng.random() ** 2)),
                "confidential": False,
                "location": "",
                "text": f"历史诉求 {i}",
                "order_type": TYPES[i % len(TYPES)],
                "urgency": Urgency.NORMAL,
                "severity": Severity.GENERAL,
                "status": STATUSES[i % len(STATUSES)],
                "registered_by": user_id,
                "registered_at": at,
                "updated_at": at,
                "limit_start": local_date(at),
                "due_provisional": False,
                "extensions_granted": 0,
                "extension_days": 0,
                "result": "",
                "rework_count": 0,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk_load(conn: Connection, rows: int, callers: int, user_id: int) -> None:
    for batch in _history_rows(rows, callers, user_id):
        conn.execute(insert(WorkOrder), batch)


def _sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


async def _seed(url: str) -> tuple[int, str]:
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        await create_unit(session, "CENTRE", "热线中心", UnitKind.CENTRE)
        user, token = await create_user(session, "bench", Role.AGENT, None)
    await engine.dispose()
    return user.id, token


def _load(base: str, token: str, count: int, concurrency: int) -> float:
    """Orders/s of `count` creations by `concurrency` keep-alive clients, run in this process.

    The bench runs it in a process of its own: on the server's event loop the client's own
    CPU time (about 0.2 ms a request, more than the server's HTTP handling) was counted as
    the server's.
    """
    return asyncio.run(_post_orders(base, token, count, concurrency))


async def _post_orders(base: str, token: str, count: int, concurrency: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    remaining = iter(range(count))

    async def worker(client: aiohttp.ClientSession) -> None:
        for i in remaining:
            body = {
                "order_type": TYPES[i % len(TYPES)].value,
                "text": f"小区门口占道经营。晚上噪音扰民 {i}",
                "caller_number": _number(i % 5000),
                "location": f"人民路{i % 300}号",
                "calls": [{"linkedid": f"1727575200.{i}"}],
            }
            async with client.post(base, json=body, headers=headers) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"create failed: {resp.status} {await resp.text()}")

    async with aiohttp.ClientSession() as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def _api_throughput(url: str, token: str, count: int, concurrency: int) -> float:
    engine = create_engine(url)
    runner = web.AppRunner(create_app(session_factory(engine), centre_code="BENCH"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}/api/orders"
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as client:
            return await asyncio.get_running_loop().run_in_executor(
                client, _load, base, token, count, concurrency
            )
    finally:
        await runner.cleanup()
        await engine.dispose()


async def _history_latency(url: str, callers: int, lookups: int) -> list[float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    rng = random.Random(11)
    timings: list[float] = []
    try:
        for i in range(lookups + 100):
            number = _number(int(callers * rng.random() ** 2))
            started = time.perf_counter()
            async with sessions() as session:
                await caller_history(session, number, 10)
            if i >= 100:  # warm-up excluded
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return timings


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="database URL (default: SQLite file in a temp dir)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="historical orders")
    parser.add_argument("--callers", type=int, default=200_000, help="distinct caller numbers")
    parser.add_argument("--api-orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        sync_engine = create_sync_engine(_sync_url(url))
        with sync_engine.begin() as conn:
            upgrade(conn)
        user_id, token = await _seed(url)

        started = time.perf_counter()
        with sync_engine.begin() as conn:
            _bulk_load(conn, args.rows, args.callers, user_id)
        sync_engine.dispose()
        load_s = time.perf_counter() - started
        print(f"bulk-loaded {args.rows:,} orders in {load_s:.1f} s ({args.rows / load_s:,.0f}/s)")

        orders_per_s = await _api_throughput(url, token, args.api_orders, args.concurrency)
        print(f"API: {args.api_orders} orders, {args.concurrency} clients: {orders_per_s:.0f}/s")

        timings = await _history_latency(url, args.callers, args.lookups)
        p50, p99 = _percentile(timings, 50), _percentile(timings, 99)
        print(f"caller history over {args.rows + args.api_orders:,} orders, {len(timings)} "
              f"lookups: p50 {p50:.2f} ms, p99 {p99:.2f} ms")  # fmt: skip

    print(
        json.dumps(
            {
                "orders_per_s": round(orders_per_s, 1),
                "history_p50_ms": round(p50, 3),
                "history_p99_ms": round(p99, 3),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
