"""The backend's own gateway: its hub gets each message from the publisher in-process, before
Redis holds it; snapshots and resumes stay exact all the same."""

from __future__ import annotations

from websockets.asyncio.client import connect

from agent_gateway.desk.outbox import Outbox, OutboxWriter
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from tests.integration.gateway.gateway_support import (
    recv_json,
    recv_until,
    running_gateway,
    ticket,
    ws_url,
)


def ringing_call(call_id: str) -> Outbox:
    out = Outbox()
    call = {"call_id": call_id, "agent_extension": None, "ringing_extensions": ["1001"]}
    out.write_call(call_id, call)
    out.publish("agent.1001", {"type": "screen_pop", "call_id": call_id})
    return out


async def test_pop_arrives_while_redis_stalls_and_a_new_desktop_waits_for_a_true_snapshot(
    bus: Bus,
) -> None:
    writer = OutboxWriter(bus)
    async with (
        writer, running_gateway(bus, local=writer) as gateway,
        connect(ws_url(gateway.port, ticket())) as agent,
    ):
        await recv_until(agent, "hello")
        await recv_until(agent, "snapshot")
        await bus.redis.client_pause(1500, all=False)
        writer.submit(ringing_call("L1"))
        pop = await recv_until(agent, "screen_pop", timeout=1.0)
        assert await bus.last_seq() < pop["seq"]  # delivered, not yet in Redis

        second = ticket("agent", "1001", user_id=8)
        async with connect(ws_url(gateway.port, second)) as late:
            hello = await recv_until(late, "hello", timeout=5)
            snapshot = await recv_until(late, "snapshot")
            assert hello["last_seq"] >= pop["seq"] and snapshot["seq"] >= pop["seq"]
            assert [call["call_id"] for call in snapshot["calls"]] == ["L1"]


async def test_resume_elsewhere_from_a_seq_redis_does_not_hold_yet_loses_and_repeats_nothing(
    bus: Bus, gateway: GatewayServer
) -> None:
    """A desktop saw a pop on the backend's gateway, then reconnects to a gateway process
    that reads Redis before the backend's write got there."""
    writer = OutboxWriter(bus)
    async with writer:
        seen: list[int] = []
        writer.attach(lambda message: seen.append(message.seq))
        await bus.redis.client_pause(800, all=False)
        writer.submit(ringing_call("L2"))
        async with connect(ws_url(gateway.port, ticket(), last_seq=seen[-1])) as desktop:
            await recv_until(desktop, "hello", timeout=5)
            later = await writer.publish("agent.1001", {"type": "call_update", "call_id": "L2"})
            update = await recv_json(desktop, timeout=5)  # no snapshot, no repeated pop
            assert update == {"type": "call_update", "call_id": "L2", "seq": later}


async def test_what_was_published_before_the_gateway_started_is_in_its_first_snapshot(
    bus: Bus,
) -> None:
    writer = OutboxWriter(bus)
    async with writer:
        await bus.redis.client_pause(800, all=False)
        writer.submit(ringing_call("L3"))  # the backend at work before its gateway listens
        async with (
            running_gateway(bus, local=writer) as gateway,
            connect(ws_url(gateway.port, ticket())) as agent,
        ):
            await recv_until(agent, "hello", timeout=5)
            snapshot = await recv_until(agent, "snapshot")
            assert [call["call_id"] for call in snapshot["calls"]] == ["L3"]
