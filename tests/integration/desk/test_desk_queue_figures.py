"""Queue figures in Redis on a real server: every configured queue has them from the start,
so a supervisor's snapshot lists each queue before its first call or the re-sync."""

from __future__ import annotations

from redis.asyncio import Redis

from agent_gateway.desk.service import DeskService
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.store import QUEUE_STATS_KEY, read_queue_stats
from crm.domain.caller import NO_NUMBER, CallerSummary
from telephony.tracker import CallTracker


class NoAmi:
    async def action(self, name: str, timeout: float = 5.0, **headers: str) -> dict[str, str]:
        return {"Response": "Success"}


async def no_history(number: str) -> CallerSummary:
    return NO_NUMBER


async def test_every_configured_queue_has_figures_from_the_start(redis: Redis) -> None:
    await redis.hset(QUEUE_STATS_KEY, "retired", '{"type": "queue_stats", "queue": "retired"}')
    desk = DeskService(
        Bus(redis), redis, NoAmi(), CallTracker(), {"1001": "王芳"}, ["hotline", "complaint"],
        no_history, clock=lambda: 1_700_000_000.0,
    )  # fmt: skip
    async with desk:
        stats = await read_queue_stats(redis)
    assert [s["queue"] for s in stats] == ["complaint", "hotline"]  # the old run's queue is gone
    for figures in stats:
        assert figures["type"] == "queue_stats"
        assert figures["waiting"] == 0 and figures["agents_by_state"] == {}
        assert figures["answered_today"] == 0 and figures["service_level_15s"] is None
