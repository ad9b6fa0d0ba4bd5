"""What one event changes for desktops, sent to Redis in one round trip, in order.

The snapshot hashes are written before the bus messages that announce the change (a
snapshot taken at seq S must include every change up to S); a pipeline keeps that order
and costs one round trip instead of one per write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_gateway.bus import Bus
from agent_gateway.store import CALLS_KEY, PRESENCE_KEY, QUEUE_STATS_KEY, dumps


class Outbox:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._pipeline = bus.redis.pipeline(transaction=False)
        self._queued = 0

    async def publish(self, topic: str, body: Mapping[str, Any]) -> None:
        await self.bus.publish_in(self._pipeline, topic, body)
        self._queued += 1

    def write_presence(self, extension: str, presence: Mapping[str, Any]) -> None:
        self._pipeline.hset(PRESENCE_KEY, extension, dumps(presence))
        self._queued += 1

    def write_call(self, call_id: str, call: Mapping[str, Any]) -> None:
        self._pipeline.hset(CALLS_KEY, call_id, dumps(call))
        self._queued += 1

    def write_queue_stats(self, queue: str, stats: Mapping[str, Any]) -> None:
        self._pipeline.hset(QUEUE_STATS_KEY, queue, dumps(stats))
        self._queued += 1

    def remove_call(self, call_id: str) -> None:
        self._pipeline.hdel(CALLS_KEY, call_id)
        self._queued += 1

    async def flush(self) -> None:
        if self._queued:
            self._queued = 0
            await self._pipeline.execute()
