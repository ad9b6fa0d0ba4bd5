"""The commands stream against a real redis-server: an entry that is not a command, or that
crashed the backend every time it was delivered, is set aside, never replayed forever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis

from agent_gateway.edge.bus import Bus, CommandEntry

GROUP, CONSUMER = "backend", "backend-1"


async def _next(commands: AsyncGenerator[CommandEntry, None]) -> CommandEntry:
    return await asyncio.wait_for(anext(commands), 5)


async def _dead(redis: Redis, bus: Bus) -> list[dict[str, str]]:
    entries: Any = await redis.xrange(bus.dead_commands_stream)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries]


async def _pending(redis: Redis, bus: Bus) -> int:
    summary: Any = await redis.xpending(bus.commands_stream, GROUP)
    return int(summary["pending"])


async def test_an_entry_that_is_not_a_command_is_set_aside_and_the_next_one_read(
    redis: Redis, bus: Bus
) -> None:
    await redis.xadd(bus.commands_stream, {"command": "{not json"})
    await redis.xadd(bus.commands_stream, {"other": "field"})
    await bus.submit_command({"id": "c1", "name": "unpause"})
    commands = bus.commands()

    first, second, third = [await _next(commands) for _ in range(3)]
    assert first.refused is not None and first.refused.startswith("not a command")
    assert second.refused is not None and third.refused is None
    assert third.command == {"id": "c1", "name": "unpause"}
    dead = await _dead(redis, bus)
    assert [d["entry_id"] for d in dead] == [first.entry_id, second.entry_id]
    assert dead[0]["command"] == "{not json"
    await bus.ack_command(third.entry_id)
    assert await _pending(redis, bus) == 0
    await commands.aclose()


async def test_a_command_that_crashed_the_backend_three_times_is_set_aside(
    redis: Redis, bus: Bus
) -> None:
    await redis.xgroup_create(bus.commands_stream, GROUP, id="0", mkstream=True)
    await bus.submit_command({"id": "poison", "name": "pause"})
    await bus.submit_command({"id": "innocent", "name": "unpause"})
    # The backend took "poison" and died with it in hand, three times.
    reply: Any = await redis.xreadgroup(GROUP, CONSUMER, {bus.commands_stream: ">"}, count=1)
    poison_id = reply[0][1][0][0].decode()
    for _crash in range(2):
        await redis.xclaim(bus.commands_stream, GROUP, CONSUMER, 0, [poison_id])

    commands = bus.commands()  # the restarted backend
    set_aside = await _next(commands)
    assert set_aside.entry_id == poison_id and set_aside.command["id"] == "poison"
    assert set_aside.refused == "delivered 4 times, never carried out to the end"
    assert await _pending(redis, bus) == 0  # acked by the bus itself
    (dead,) = await _dead(redis, bus)
    assert dead["entry_id"] == poison_id and json.loads(dead["command"])["id"] == "poison"
    innocent = await _next(commands)
    assert innocent.command["id"] == "innocent" and innocent.refused is None
    await commands.aclose()


async def test_a_command_left_pending_once_is_delivered_again(redis: Redis, bus: Bus) -> None:
    await redis.xgroup_create(bus.commands_stream, GROUP, id="0", mkstream=True)
    await bus.submit_command({"id": "in-hand", "name": "unpause"})
    await redis.xreadgroup(GROUP, CONSUMER, {bus.commands_stream: ">"}, count=1)

    commands = bus.commands()  # a backend restarted after one crash
    again = await _next(commands)
    assert again.command["id"] == "in-hand" and again.refused is None
    assert await _dead(redis, bus) == []
    await commands.aclose()
