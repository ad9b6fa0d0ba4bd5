"""The backend's one publisher: numbers bus messages, delivers them locally, writes Redis behind.

A screen pop must reach the desktop within milliseconds; a Redis round trip and a second
process on the way cost more than that on a busy machine. So the backend numbers each
message itself the moment it is submitted (it is the bus's only publisher) and hands it at
once to its in-process gateway, while one
writer task sends everything queued so far to Redis in one MULTI/EXEC round trip, in order,
for the other gateway processes and for desktops that resume.

The snapshot hashes are written before the bus messages that announce the change, in the same
transaction (a snapshot taken at seq S includes every change up to S). A batch that fails is
retried whole until Redis takes it; a message already stored by an earlier try is refused by
Redis (its id is not above the stream's last) and counts as stored: nothing lost, nothing
twice.

A backend that stops (or crashes) may have delivered messages that never reached Redis. Its
successor must not give their seqs to other messages (a desktop holding such a seq would skip
them), so it numbers on after a gap: a desktop resuming across the gap gets a snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, ResponseError

from agent_gateway.edge.bus import Bus, BusMessage
from agent_gateway.edge.store import CALLS_KEY, PRESENCE_KEY, QUEUE_STATS_KEY, dumps

log = logging.getLogger(__name__)

Write = Callable[[Pipeline], object]  # queues one command on the pipeline
Sink = Callable[[BusMessage], None]
RETRY_S = (0.1, 0.5, 1.0, 2.0)
# More than a backend can deliver unstored: each restart skips this many seqs.
RESTART_GAP = 1_000_000
# The wrap-ups the backend started, by extension: {call_id, deadline}. The backend's own
# record (no gateway reads it), kept so that a restarted backend releases agents on time.
WRAP_UPS_KEY = "hotline:wrap_ups"


class Outbox:
    """The writes of one event, in the order they must reach Redis."""

    def __init__(self) -> None:
        self.writes: list[Write | tuple[str, Mapping[str, Any]]] = []

    def publish(self, topic: str, body: Mapping[str, Any]) -> None:
        self.writes.append((topic, body))

    def write_presence(self, extension: str, presence: Mapping[str, Any]) -> None:
        self._hset(PRESENCE_KEY, extension, dumps(presence))

    def write_call(self, call_id: str, call: Mapping[str, Any]) -> None:
        self._hset(CALLS_KEY, call_id, dumps(call))

    def write_queue_stats(self, queue: str, stats: Mapping[str, Any]) -> None:
        self._hset(QUEUE_STATS_KEY, queue, dumps(stats))

    def remove_call(self, call_id: str) -> None:
        self.writes.append(lambda pipeline: pipeline.hdel(CALLS_KEY, call_id))

    def write_wrap_up(self, extension: str, wrap_up: Mapping[str, Any]) -> None:
        self._hset(WRAP_UPS_KEY, extension, dumps(wrap_up))

    def remove_wrap_up(self, extension: str) -> None:
        self.writes.append(lambda pipeline: pipeline.hdel(WRAP_UPS_KEY, extension))

    def _hset(self, key: str, field: str, value: str) -> None:
        self.writes.append(lambda pipeline: pipeline.hset(key, field, value))


class OutboxWriter:
    """Numbers and delivers on `submit`; one task writes to Redis; `stored(seq)` waits for it.
    Async context manager: the writing task runs for the block."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._queue: asyncio.Queue[list[Write | BusMessage]] = asyncio.Queue()
        self._sinks: list[Sink] = []
        self._seq = 0
        self._stored = 0
        self._stored_changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # batches that failed other than by Redis being away (logged)

    async def __aenter__(self) -> OutboxWriter:
        """Number on after a gap (recorded in Redis, so the next start skips past this one's
        numbers too), and start writing."""
        self._seq = self._stored = await self.bus.skip(RESTART_GAP)
        self._task = asyncio.create_task(self._run(), name="desk outbox writer")
        return self

    def attach(self, sink: Sink) -> None:
        """Hand every message to `sink` (the in-process gateway's hub) as it is submitted."""
        self._sinks.append(sink)

    def detach(self, sink: Sink) -> None:
        self._sinks.remove(sink)

    @property
    def submitted(self) -> int:
        """The seq of the last message submitted (delivered locally, perhaps not yet stored)."""
        return self._seq

    def submit(self, outbox: Outbox) -> None:
        if not outbox.writes:
            return
        batch: list[Write | BusMessage] = []
        for write in outbox.writes:
            if isinstance(write, tuple):
                self._seq += 1
                message = BusMessage(self._seq, write[0], dict(write[1]))
                for sink in self._sinks:
                    sink(message)
                batch.append(message)
            else:
                batch.append(write)
        self._queue.put_nowait(batch)

    async def publish(self, topic: str, body: Mapping[str, Any]) -> int:
        """Publish one message and return its seq once Redis holds it."""
        out = Outbox()
        out.publish(topic, body)
        self.submit(out)
        seq = self.submitted
        await self.stored(seq)
        return seq

    async def stored(self, seq: int) -> None:
        """Wait until Redis holds every message up to `seq`."""
        if seq > self._stored:
            async with self._stored_changed:
                await self._stored_changed.wait_for(lambda: self._stored >= seq)

    async def drained(self) -> None:
        await self._queue.join()

    async def __aexit__(self, *exc_info: object) -> None:
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
            writes = [write for outbox in batch for write in outbox]
            try:
                await self._write(writes)
            except Exception:
                self.failures += 1
                log.exception("desk writes failed; writing them outbox by outbox")
                await self._write_each(batch)
            stored = [w.seq for w in writes if isinstance(w, BusMessage)]
            if stored:
                async with self._stored_changed:
                    self._stored = stored[-1]
                    self._stored_changed.notify_all()
            for _ in batch:
                self._queue.task_done()

    async def _write_each(self, batch: list[list[Write | BusMessage]]) -> None:
        """Write a failed batch one outbox at a time, dropping (and logging) the outboxes that
        cannot be written (say, a body that is not JSON): one bad message stops nothing."""
        for writes in batch:
            try:
                await self._write(writes)
            except Exception:
                log.exception("desk outbox dropped: %r", writes)

    async def _write(self, writes: list[Write | BusMessage]) -> None:
        failures = 0
        while True:
            try:
                async with self.bus.redis.pipeline(transaction=True) as pipeline:
                    for write in writes:
                        if isinstance(write, BusMessage):
                            self.bus.publish_in(pipeline, write)
                        else:
                            write(pipeline)
                    replies = await pipeline.execute(raise_on_error=False)
            except (RedisError, OSError) as exc:
                delay = RETRY_S[min(failures, len(RETRY_S) - 1)]
                failures += 1
                log.warning("desk writes failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            for write, reply in zip(writes, replies, strict=True):
                if isinstance(reply, ResponseError):
                    # A retried batch: stored by the try whose answer was lost. Anything else
                    # (another publisher on this bus) is a deployment error worth shouting.
                    level = logging.INFO if failures else logging.ERROR
                    log.log(level, "Redis refused %r: %s", write, reply)
            return


async def reset_mirror(
    redis: Redis,
    queue_stats: Mapping[str, dict[str, Any]],
    presences: Mapping[str, dict[str, Any]],
    dropped: Sequence[str],
) -> None:
    """The snapshot hashes at the backend's start, in one transaction: no live call (the
    tracker's re-sync announces them again), each queue's figures and each agent's presence
    as they start, the `dropped` wrap-up records gone (unusable, or of an extension no longer
    configured)."""
    async with redis.pipeline(transaction=True) as pipeline:
        pipeline.delete(CALLS_KEY, QUEUE_STATS_KEY)
        if queue_stats:
            pipeline.hset(QUEUE_STATS_KEY, mapping={q: dumps(f) for q, f in queue_stats.items()})
        if dropped:
            pipeline.hdel(WRAP_UPS_KEY, *dropped)
        if presences:
            pipeline.hset(PRESENCE_KEY, mapping={e: dumps(m) for e, m in presences.items()})
        await pipeline.execute()
