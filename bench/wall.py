"""Live wall benchmark: what one round of the wall costs on a busy day.

1. Bulk-load a day of N call records (default 30,000: a big city's 12345 on a bad day) with
   an `answered` event each answered call, and the week before (7 N) the index must skip.
2. Time `WallCounter.figures`: the first round (the whole window read) and the rounds after
   (only the records written since: here, 20 new calls per round), then `build_wall` for
   60 agents and 40 live calls. Every round of the call process pays these on its event loop.

    .venv/bin/python bench/wall.py                  # SQLite file in a temp dir
    .venv/bin/python bench/wall.py --calls 100000

The last line printed is JSON: full_read_ms, incremental_read_p50_ms / p99 (a round: read and
count), counting_p50_ms (the counting alone, which holds the event loop), build_wall_ms. The
calls are spread over the day so far: run early in the (Beijing) day, the last hour holds many.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import insert

from agent_gateway.desk.presence import AgentPresence
from agent_gateway.desk.wall import LiveFloor, Thresholds, WrapUpTally, build_wall
from agent_gateway.edge.protocol import PresenceState
from crm.db.call_models import CallEvent, CallRecord
from crm.db.engine import create_engine, session_factory
from crm.db.migrate import upgrade
from crm.domain.calls import CallEventKind, CallOutcome
from crm.domain.clock import utc_now
from crm.domain.wall_figures import ServiceRule, day_start
from crm.usecases.wall_figures import WallCounter
from telephony.call import Call, CallState

AGENTS = [f"{1000 + i}" for i in range(60)]


Rows = list[dict[str, Any]]


def _rows(n: int, since: Any, until: Any, tag: str) -> tuple[Rows, Rows]:
    span = (until - since).total_seconds()
    records, events = [], []
    for i in range(n):
        queued = since + timedelta(seconds=random.uniform(0, span - 600))
        wait = random.expovariate(1 / 12)
        agent = random.choice(AGENTS)
        gone = random.random() < 0.06
        answered = None if gone else queued + timedelta(seconds=wait)
        ended = queued + timedelta(seconds=wait + (0 if gone else random.uniform(30, 400)))
        linkedid = f"{tag}{i}.1"
        records.append({
            "linkedid": linkedid, "started_at": queued - timedelta(seconds=8), "queue": "hotline",
            "queued_at": queued, "answered_at": answered, "ended_at": ended,
            "outcome": CallOutcome.ABANDONED if gone else CallOutcome.ANSWERED,
            "agent_extension": "" if gone else agent, "updated_at": ended,
        })  # fmt: skip
        if answered is not None:
            events.append({"linkedid": linkedid, "at": answered, "kind": CallEventKind.ANSWERED,
                           "agent": agent, "detail": {}})  # fmt: skip
    return records, events


def _load(path: Path, calls: int) -> None:
    engine = create_sync_engine(f"sqlite:///{path}")
    now = utc_now()
    start = day_start(now)
    with engine.begin() as conn:
        upgrade(conn)
        for day, (n, since, until) in enumerate(
            [(calls * 7, start - timedelta(days=7), start), (calls, start, now)]
        ):
            records, events = _rows(n, since, until, f"d{day}-")
            for i in range(0, len(records), 20_000):
                conn.execute(insert(CallRecord), records[i : i + 20_000])
            for i in range(0, len(events), 20_000):
                conn.execute(insert(CallEvent), events[i : i + 20_000])
    engine.dispose()


def _floor(now: float) -> LiveFloor:
    presences = {
        ext: AgentPresence(ext, f"坐席{ext}", random.choice(list(PresenceState)), None,
                           now - random.uniform(0, 600), None)
        for ext in AGENTS
    }
    calls = [
        Call(f"live{i}.1", f"live{i}.1", "PJSIP/carrier-1", "138", "张三", now - 60,
             CallState.QUEUED if i % 2 else CallState.TALKING, queue="hotline",
             queued_at=now - 50, answered_at=None if i % 2 else now - 20)
        for i in range(40)
    ]
    serving = {e: {"hotline"} for e in AGENTS}
    return LiveFloor(["hotline"], presences, serving, serving, calls, {}, {})


async def _bench(path: Path, rounds: int) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{path}")
    sessions = session_factory(engine)
    counter = WallCounter(ServiceRule())
    try:
        async with sessions() as session:
            began = time.perf_counter()
            figures = await counter.figures(session, utc_now())
            full_ms = (time.perf_counter() - began) * 1000
        incremental: list[float] = []
        counting: list[float] = []
        for r in range(rounds):
            now = utc_now()
            records, events = _rows(20, now - timedelta(seconds=700), now, f"r{r}-")
            async with sessions() as session, session.begin():
                await session.execute(insert(CallRecord), records)
                await session.execute(insert(CallEvent), events)
            async with sessions() as session:
                began = time.perf_counter()
                figures = await counter.figures(session, utc_now())
                incremental.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            counter.counter.figures(utc_now())  # the counting alone, held on the event loop
            counting.append((time.perf_counter() - began) * 1000)
        now_s = time.time()
        floor = _floor(now_s)
        began = time.perf_counter()
        for _ in range(20):
            wall = build_wall(floor, figures, WrapUpTally(), ServiceRule(), Thresholds(), {}, now_s)
            wall.model_dump(mode="json")
        build_ms = (time.perf_counter() - began) * 1000 / 20
    finally:
        await engine.dispose()
    quantiles = statistics.quantiles(incremental, n=100)
    return {
        "day_calls": figures.today["hotline"].offered + figures.today["hotline"].abandoned_short,
        "full_read_ms": round(full_ms, 1),
        "incremental_read_p50_ms": round(quantiles[49], 1),
        "incremental_read_p99_ms": round(quantiles[98], 1),
        "counting_p50_ms": round(statistics.median(counting), 1),
        "build_wall_ms": round(build_ms, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=30_000, help="calls today")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    random.seed(12345)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wall.db"
        _load(path, args.calls)
        print(json.dumps(asyncio.run(_bench(path, args.rounds))))


if __name__ == "__main__":
    main()
