"""The desk's Redis writer against a real redis-server: order, batching, and Redis going away."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from agent_gateway.desk.outbox import RESTART_GAP, Outbox, OutboxWriter
from agent_gateway.edge.bus import Bus, BusMessage, ResumeGap
from agent_gateway.edge.store import read_calls
from processes.redis_server import RedisProcess


async def test_writes_arrive_in_order_and_survive_a_redis_restart(
    redis_server: RedisProcess, bus: Bus
) -> None:
    writer = OutboxWriter(bus)
    async with writer:
        for n in range(50):
            out = Outbox()
            out.write_call(f"call-{n}", {"call_id": f"call-{n}", "n": n})
            out.publish("supervisors", {"type": "call_update", "n": n})
            writer.submit(out)
        await asyncio.wait_for(writer.drained(), 5)
        assert [m.body["n"] for m in await bus.since(RESTART_GAP, {"supervisors"})] == list(
            range(50)
        )

        redis_server.kill()  # Redis crashes with writes still to come
        assert redis_server.process is not None
        await redis_server.process.wait()
        late = Outbox()
        late.remove_call("call-0")
        late.publish("supervisors", {"type": "call_update", "n": 50})
        writer.submit(late)
        await asyncio.sleep(0.5)  # the writer is retrying meanwhile
        await redis_server.start()
        await asyncio.wait_for(writer.drained(), 10)

        messages = await bus.since(RESTART_GAP, {"supervisors"})
        assert [m.body["n"] for m in messages] == list(range(51))  # none lost, none twice
        assert [m.seq for m in messages] == list(range(RESTART_GAP + 1, RESTART_GAP + 52))
        assert len(await read_calls(bus.redis)) == 49


async def test_messages_are_numbered_and_delivered_locally_before_redis_has_them(bus: Bus) -> None:
    redis = bus.redis
    earlier = await bus.publish("supervisors", {"type": "queue_stats"})  # a previous run
    writer = OutboxWriter(bus)
    async with writer:
        delivered: list[BusMessage] = []
        writer.attach(delivered.append)

        await redis.client_pause(1500, all=False)  # Redis stalls
        out = Outbox()
        out.write_call("L1", {"call_id": "L1"})
        out.publish("agent.1001", {"type": "screen_pop", "call_id": "L1"})
        writer.submit(out)
        first = earlier + RESTART_GAP + 1
        assert [(m.seq, m.topic) for m in delivered] == [(first, "agent.1001")]
        assert await bus.last_seq() < first  # not in Redis yet, already delivered

        await asyncio.wait_for(writer.stored(first), 5)  # once the pause is over
        assert [m.body for m in await bus.since(first - 1, {"agent.1001"})] == [
            {"type": "screen_pop", "call_id": "L1"}
        ]
        assert await read_calls(redis) == [{"call_id": "L1"}]

        seq = await asyncio.wait_for(writer.publish("agent.1001", {"type": "command_result"}), 5)
        assert seq == first + 1 == await bus.last_seq()  # published means stored
        writer.detach(delivered.append)


async def test_a_stored_message_written_again_is_refused_and_changes_nothing(bus: Bus) -> None:
    """What makes a retried batch harmless: the try whose answer was lost did store it."""
    redis = bus.redis
    message = BusMessage(1, "supervisors", {"type": "call_update", "n": 1})
    for attempt in range(2):
        async with redis.pipeline(transaction=True) as pipeline:
            bus.publish_in(pipeline, message)
            pipeline.hset("other", "k", attempt)
            replies = await pipeline.execute(raise_on_error=False)
        assert isinstance(replies[0], ResponseError) == (attempt == 1)
    assert [m.seq for m in await bus.since(0, {"supervisors"})] == [1]
    assert await bus.last_seq() == 1
    assert await redis.hget("other", "k") == b"1"  # the rest of the batch still applied


async def test_a_successor_never_reuses_a_seq_its_predecessor_delivered_unstored(bus: Bus) -> None:
    crashed = OutboxWriter(bus)
    async with crashed:
        delivered: list[int] = []
        crashed.attach(lambda message: delivered.append(message.seq))
    # Stopped, as if the process died between delivering and writing:
    out = Outbox()
    out.publish("agent.1001", {"type": "screen_pop", "call_id": "L1"})
    crashed.submit(out)  # the pop reaches a desktop, never Redis

    successor = OutboxWriter(bus)
    async with successor:
        later = await successor.publish("agent.1001", {"type": "call_update", "call_id": "L2"})
        assert later > delivered[-1]
        with pytest.raises(ResumeGap):  # the desktop holding the lost seq gets a snapshot
            await bus.since(delivered[-1], {"agent.1001"})


async def test_a_message_that_cannot_be_written_is_dropped_and_the_writer_goes_on(
    bus: Bus,
) -> None:
    writer = OutboxWriter(bus)
    async with writer:
        bad = Outbox()
        bad.publish("supervisors", {"type": "call_update", "n": object()})  # not JSON
        writer.submit(bad)
        good = Outbox()
        good.write_call("L7", {"call_id": "L7"})
        good.publish("supervisors", {"type": "call_update", "n": 1})
        writer.submit(good)
        await asyncio.wait_for(writer.stored(writer.submitted), 5)

        with pytest.raises(ResumeGap):  # the dropped message's seq: a resume across it snapshots
            await bus.since(RESTART_GAP, {"supervisors"})
        messages = await bus.since(RESTART_GAP + 1, {"supervisors"})
        assert [(m.seq, m.body["n"]) for m in messages] == [(RESTART_GAP + 2, 1)]
        assert [c["call_id"] for c in await read_calls(bus.redis)] == ["L7"]
        assert writer.failures == 1
        later = await asyncio.wait_for(writer.publish("supervisors", {"type": "x", "n": 2}), 5)
        assert later == writer.submitted
