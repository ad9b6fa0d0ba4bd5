"""Fan-out of bus messages to this process's desktops, never waiting on any of them.

The gateway's single bus reader (or, in the backend, the publisher itself) hands every
message to `Hub.dispatch`, which is synchronous:
it encodes the frame once and puts it on each interested subscriber's bounded queue. A
subscriber whose queue is full has fallen behind; it is dropped on the spot and its
connection is told to close (and the desktop resumes from its last seq, losing nothing).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterable, Collection
from dataclasses import dataclass

from agent_gateway.edge.bus import BusMessage
from agent_gateway.edge.store import dumps


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    text: str


def encode_message(message: BusMessage) -> Frame:
    """The bus body as sent to desktops: as published, plus its "seq"."""
    body = {**message.body, "seq": message.seq}
    return Frame(message.seq, dumps(body))


class Subscriber:
    """One connection's view of the hub: its topics, its queue, and whether it fell behind."""

    def __init__(self, topics: Collection[str], queue_size: int) -> None:
        self.topics = frozenset(topics)
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(queue_size)
        self.overflowed = asyncio.Event()

    def offer(self, frame: Frame) -> bool:
        """Queue the frame; False (and overflowed set) if the queue is full."""
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed.set()
            return False
        return True


class Hub:
    def __init__(self) -> None:
        self._by_topic: dict[str, set[Subscriber]] = defaultdict(set)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def subscribe(self, topics: Collection[str], queue_size: int) -> Subscriber:
        subscriber = Subscriber(topics, queue_size)
        for topic in subscriber.topics:
            self._by_topic[topic].add(subscriber)
        self._count += 1
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget the subscriber; harmless if it is already gone (dropped for being slow)."""
        removed = False
        for topic in subscriber.topics:
            members = self._by_topic.get(topic)
            if members is not None and subscriber in members:
                members.remove(subscriber)
                removed = True
                if not members:
                    del self._by_topic[topic]
        self._count -= removed

    def dispatch(self, message: BusMessage) -> None:
        members = self._by_topic.get(message.topic)
        if not members:
            return
        frame = encode_message(message)
        for subscriber in list(members):
            if not subscriber.offer(frame):
                self.unsubscribe(subscriber)

    async def pump(self, messages: AsyncIterable[BusMessage]) -> None:
        """Dispatch every message of the bus reader; the gateway runs this in one task."""
        async for message in messages:
            self.dispatch(message)
