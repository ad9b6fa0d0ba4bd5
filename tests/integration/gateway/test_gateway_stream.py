"""What desktops receive: hello, snapshot, their own topics live, and resumption without loss
or repeats (after a disconnect, after being dropped for reading too slowly)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Mapping
from typing import Any

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from agent_gateway.edge.store import CALLS_KEY, FLOOR_NOTICES_KEY, PRESENCE_KEY, WALL_KEY, dumps
from tests.integration.gateway.gateway_support import (
    recv_json,
    recv_until,
    running_gateway,
    ticket,
    wait_until,
    ws_url,
)


async def write_presence(redis: Redis, extension: str, message: Mapping[str, Any]) -> None:
    """What the backend's desk writes (through its outbox) before it publishes the change."""
    await redis.hset(PRESENCE_KEY, extension, dumps(message))


async def write_call(redis: Redis, call_id: str, call: Mapping[str, Any]) -> None:
    await redis.hset(CALLS_KEY, call_id, dumps(call))


def supervisor_ticket() -> str:
    """Made when used: a ticket made at import would expire in a long test run."""
    return ticket("supervisor", None, user_id=2, name="赵主管")


def presence(extension: str, state: str) -> dict[str, object]:
    return {
        "type": "presence",
        "extension": extension,
        "name": "x",
        "state": state,
        "reason": None,
        "since": 1.0,
        "call_id": None,
    }


async def test_hello_then_snapshot_filtered_by_role(gateway: GatewayServer, bus: Bus) -> None:
    redis = bus.redis
    await write_presence(redis, "1001", presence("1001", "ringing"))
    await write_presence(redis, "1002", presence("1002", "available"))
    await write_call(
        redis,
        "L1",
        {"call_id": "L1", "agent_extension": None, "ringing_extensions": ["1001", "1003"]},
    )
    await write_call(redis, "L2", {"call_id": "L2", "agent_extension": "1002"})
    await write_call(redis, "L3", {"call_id": "L3", "agent_extension": "1001"})
    await redis.set(WALL_KEY, '{"type":"wall","v":1,"queues":[]}')
    notice = {"type": "floor_notice", "text": "班长 张三 将您置为暂停：培训（新政策培训）"}
    for ext in ("1001", "1002"):  # each agent's last, as the floor verbs keep it
        await redis.hset(FLOOR_NOTICES_KEY, ext, dumps({**notice, "extension": ext}))
    seq = await bus.publish("supervisors", {"type": "queue_stats", "queue": "general"})

    async with connect(ws_url(gateway.port, ticket())) as agent:
        hello = await recv_until(agent, "hello")
        assert hello["v"] == 1 and hello["last_seq"] == seq
        assert hello["user"] == {"id": 7, "name": "王芳", "role": "agent", "extension": "1001"}
        snapshot = await recv_until(agent, "snapshot")
        assert snapshot["seq"] == seq
        assert list(snapshot["presence"]) == ["1001"]
        assert sorted(c["call_id"] for c in snapshot["calls"]) == ["L1", "L3"]
        assert snapshot["wall"] is None  # the live wall is the supervisors'
        assert snapshot["floor_notice"] == {**notice, "extension": "1001"}  # its own only

    async with connect(ws_url(gateway.port, supervisor_ticket())) as supervisor:
        assert (await recv_until(supervisor, "hello"))["user"]["role"] == "supervisor"
        snapshot = await recv_until(supervisor, "snapshot")
        assert sorted(snapshot["presence"]) == ["1001", "1002"]
        assert len(snapshot["calls"]) == 3
        assert snapshot["wall"] == {"type": "wall", "v": 1, "queues": []}
        assert snapshot["floor_notice"] is None


async def test_each_desktop_gets_its_own_topics_only(gateway: GatewayServer, bus: Bus) -> None:
    async with (
        connect(ws_url(gateway.port, ticket(extension="1001"))) as a1001,
        connect(ws_url(gateway.port, ticket(extension="1002", user_id=8))) as a1002,
        connect(ws_url(gateway.port, supervisor_ticket())) as supervisor,
    ):
        for ws in (a1001, a1002, supervisor):
            await recv_until(ws, "hello")
            await recv_until(ws, "snapshot")
        pop = await bus.publish("agent.1001", {"type": "screen_pop", "call_id": "L9", "名": "张三"})
        stats = await bus.publish("supervisors", {"type": "queue_stats", "waiting": 2})
        mine = await bus.publish("agent.1002", {"type": "call_update", "call_id": "L8"})

        assert await recv_json(a1001) == {
            "type": "screen_pop",
            "call_id": "L9",
            "名": "张三",
            "seq": pop,
        }
        # The next thing each receives is its own message: nothing of the others' in between.
        assert await recv_json(a1002) == {"type": "call_update", "call_id": "L8", "seq": mine}
        assert await recv_json(supervisor) == {"type": "queue_stats", "waiting": 2, "seq": stats}


async def publish_numbered(bus: Bus, count: int, topic: str = "agent.1001") -> list[int]:
    """Publish `count` messages on `topic`, each followed by one for someone else."""
    seqs = []
    for i in range(count):
        seqs.append(await bus.publish(topic, {"type": "call_update", "n": i}))
        await bus.publish("agent.1002", {"type": "call_update", "n": i})
    return seqs


async def test_resume_after_disconnect_gets_exactly_the_missed(
    gateway: GatewayServer, bus: Bus
) -> None:
    async with connect(ws_url(gateway.port, ticket())) as ws:
        await recv_until(ws, "hello")
        await recv_until(ws, "snapshot")
        seen = await publish_numbered(bus, 3)
        last = [(await recv_json(ws))["seq"] for _ in seen][-1]
    missed = await publish_numbered(bus, 4)

    async with connect(ws_url(gateway.port, ticket(), last_seq=last)) as ws:
        await recv_until(ws, "hello")
        assert [(await recv_json(ws))["seq"] for _ in missed] == missed
        live = await publish_numbered(bus, 2)
        # Live messages follow the replay, none of the replayed ones again.
        assert [(await recv_json(ws))["seq"] for _ in live] == live


async def test_resume_message_replays_what_the_desktop_says_it_lacks(
    gateway: GatewayServer, bus: Bus
) -> None:
    async with connect(ws_url(gateway.port, ticket())) as ws:
        await recv_until(ws, "hello")
        await recv_until(ws, "snapshot")
        sent = await publish_numbered(bus, 4)
        assert [(await recv_json(ws))["seq"] for _ in sent] == sent
        await ws.send(json.dumps({"type": "resume", "last_seq": sent[1]}))
        assert [(await recv_json(ws))["seq"] for _ in sent[2:]] == sent[2:]
        later = await publish_numbered(bus, 1)
        assert (await recv_json(ws))["seq"] == later[0]


async def test_resume_from_a_trimmed_seq_gets_a_snapshot(gateway: GatewayServer, bus: Bus) -> None:
    await publish_numbered(bus, 5)
    await bus.redis.xtrim(bus.stream, maxlen=2, approximate=False)
    async with connect(ws_url(gateway.port, ticket(), last_seq=1)) as ws:
        await recv_until(ws, "hello")
        assert (await recv_until(ws, "snapshot"))["seq"] == await bus.last_seq()


async def test_resume_from_beyond_the_bus_gets_a_snapshot(gateway: GatewayServer, bus: Bus) -> None:
    """A desktop that saw another Redis (or one since wiped) must not wait for seq 10 000."""
    async with connect(ws_url(gateway.port, ticket(), last_seq=10_000)) as ws:
        await recv_until(ws, "hello")
        assert (await recv_until(ws, "snapshot"))["seq"] == 0


def tiny_receive_buffer(port: int) -> socket.socket:
    """A client socket whose kernel buffer holds a few KB: not reading stalls the sender."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def read_until_closed(ws: ClientConnection) -> list[int]:
    seqs = []
    with pytest.raises(ConnectionClosed):
        while True:
            seqs.append((await recv_json(ws))["seq"])
    return seqs


async def test_slow_client_is_dropped_with_4008_and_resumes_losing_nothing(bus: Bus) -> None:
    async with running_gateway(bus, queue_size=4) as gateway:
        sock = tiny_receive_buffer(gateway.port)
        async with (
            connect(ws_url(gateway.port, ticket()), sock=sock, max_queue=1) as slow,
            connect(ws_url(gateway.port, ticket())) as fast,  # a second screen, reading
        ):
            for ws in (slow, fast):
                await recv_until(ws, "hello")
                snapshot = await recv_until(ws, "snapshot")
            fast_seqs: list[int] = []
            fast_reader = asyncio.create_task(keep_reading(fast, fast_seqs))
            published: list[int] = []
            padding = "话" * 8000
            while len(gateway.hub) == 2:  # until the hub gives up on the one not reading
                assert len(published) < 5000, "the slow client was never dropped"
                for _ in range(20):
                    published.append(
                        await bus.publish("agent.1001", {"type": "call_update", "pad": padding})
                    )
                await asyncio.sleep(0.01)
            received = await read_until_closed(slow)
            assert slow.close_code == 4008
            assert slow.close_reason is not None
            assert slow.close_reason.startswith("too slow, resume from seq ")
            # Meanwhile the hub kept serving the other screen, which misses nothing.
            await wait_until(lambda: len(fast_seqs) == len(published))
            assert fast_seqs == published
            fast_reader.cancel()
            await asyncio.gather(fast_reader, return_exceptions=True)
        assert received == published[: len(received)] and len(received) < len(published)

        async with connect(ws_url(gateway.port, ticket(), last_seq=received[-1])) as again:
            await recv_until(again, "hello")
            rest = [(await recv_json(again))["seq"] for _ in published[len(received) :]]
        assert snapshot["seq"] < received[0]
        assert received + rest == published


async def keep_reading(ws: ClientConnection, seqs: list[int]) -> None:
    async for frame in ws:
        seqs.append(json.loads(frame)["seq"])
