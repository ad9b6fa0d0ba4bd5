"""What events change for desktops, written to Redis by one task, in order, in batches.

The snapshot hashes are written before the bus messages that announce the change (a
snapshot taken at seq S must include every change up to S). The telephony consumer only
queues its writes: one writer task sends everything queued so far in one pipelined round
trip, so the consumer never waits for Redis and a burst of events costs few round trips.
If Redis is away the writer keeps the batch and tries again: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from agent_gateway.bus import Bus
from agent_gateway.store import CALLS_KEY, PRESENCE_KEY, QUEUE_STATS_KEY, dumps

log = logging.getLogger(__name__)

Write = Callable[[Pipeline], Awaitable[Any]]
RETRY_S = (0.1, 0.5, 1.0, 2.0)


class Outbox:
    """The writes of one event, in the order they must reach Redis."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.writes: list[Write] = []

    def publish(self, topic: str, body: Mapping[str, Any]) -> None:
        self.writes.append(lambda p: self.bus.publish_in(p, topic, body))

    def write_presence(self, extension: str, presence: Mapping[str, Any]) -> None:
        self._hset(PRESENCE_KEY, extension, dumps(presence))

    def write_call(self, call_id: str, call: Mapping[str, Any]) -> None:
        self._hset(CALLS_KEY, call_id, dumps(call))

    def write_queue_stats(self, queue: str, stats: Mapping[str, Any]) -> None:
        self._hset(QUEUE_STATS_KEY, queue, dumps(stats))

    def remove_call(self, call_id: str) -> None:
        async def hdel(pipeline: Pipeline) -> None:
            pipeline.hdel(CALLS_KEY, call_id)  # queued on the pipeline, not sent yet

        self.writes.append(hdel)

    def _hset(self, key: str, field: str, value: str) -> None:
        async def hset(pipeline: Pipeline) -> None:
            pipeline.hset(key, field, value)  # queued on the pipeline, not sent yet

        self.writes.append(hset)


class OutboxWriter:
    """The one task that writes outboxes to Redis; `drained()` waits for all sent so far."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._queue: asyncio.Queue[Outbox] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def submit(self, outbox: Outbox) -> None:
        if outbox.writes:
            self._queue.put_nowait(outbox)

    async def drained(self) -> None:
        await self._queue.join()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="desk outbox writer")

    async def stop(self) -> None:
        """Send what is queued (briefly), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.drained(), 2.0)
        except TimeoutError:
            log.warning("desk writer stopped with %d outboxes unsent", self._queue.qsize())
        self._task.cancel()
        await asyncio.wait({self._task}, timeout=2.0)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)
            for _ in batch:
                self._queue.task_done()

    async def _write(self, batch: list[Outbox]) -> None:
        failures = 0
        while True:
            try:
                # MULTI/EXEC: a retried batch was either applied whole or not at all.
                async with self.bus.redis.pipeline(transaction=True) as pipeline:
                    for outbox in batch:
                        for write in outbox.writes:
                            await write(pipeline)
                    await pipeline.execute()
                return
            except (RedisError, OSError) as exc:
                delay = RETRY_S[min(failures, len(RETRY_S) - 1)]
                failures += 1
                log.warning("desk writes failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
