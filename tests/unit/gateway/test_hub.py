"""The hub fans out by topic, encodes once, and drops a subscriber that falls behind
instead of ever waiting for it."""

from __future__ import annotations

import json

from agent_gateway.edge.bus import BusMessage
from agent_gateway.edge.hub import Hub, encode_message


def message(seq: int, topic: str = "agent.1001") -> BusMessage:
    return BusMessage(seq, topic, {"type": "call_update", "call_id": f"L{seq}", "名": "张三"})


def test_frame_is_the_body_plus_seq() -> None:
    frame = encode_message(message(5))
    assert frame.seq == 5
    assert json.loads(frame.text) == {"type": "call_update", "call_id": "L5", "名": "张三",
                                      "seq": 5}
    assert "张三" in frame.text  # UTF-8 as is, not \\u escapes


def test_dispatch_by_topic() -> None:
    hub = Hub()
    agent = hub.subscribe({"agent.1001"}, 10)
    other = hub.subscribe({"agent.1002"}, 10)
    supervisor = hub.subscribe({"supervisors"}, 10)
    hub.dispatch(message(1))
    hub.dispatch(message(2, "supervisors"))
    hub.dispatch(message(3, "agent.1003"))
    assert [agent.queue.get_nowait().seq] == [1] and agent.queue.empty()
    assert other.queue.empty()
    assert supervisor.queue.get_nowait().seq == 2 and supervisor.queue.empty()


def test_one_encoding_shared_by_all_subscribers() -> None:
    hub = Hub()
    first, second = hub.subscribe({"agent.1001"}, 2), hub.subscribe({"agent.1001"}, 2)
    hub.dispatch(message(1))
    assert first.queue.get_nowait() is second.queue.get_nowait()


def test_full_queue_drops_only_that_subscriber() -> None:
    hub = Hub()
    slow = hub.subscribe({"agent.1001"}, 2)
    fast = hub.subscribe({"agent.1001"}, 10)
    for seq in (1, 2, 3, 4):
        hub.dispatch(message(seq))
        if seq <= 2:
            fast.queue.get_nowait()
    assert slow.overflowed.is_set() and not fast.overflowed.is_set()
    assert len(hub) == 1
    # It keeps what it had; nothing is queued for it after the drop.
    assert [slow.queue.get_nowait().seq for _ in range(2)] == [1, 2] and slow.queue.empty()
    assert [fast.queue.get_nowait().seq for _ in range(2)] == [3, 4]


def test_unsubscribe_is_idempotent() -> None:
    hub = Hub()
    subscriber = hub.subscribe({"agent.1001", "supervisors"}, 1)
    assert len(hub) == 1
    hub.unsubscribe(subscriber)
    hub.unsubscribe(subscriber)
    assert len(hub) == 0
    hub.dispatch(message(1))
    assert subscriber.queue.empty()
