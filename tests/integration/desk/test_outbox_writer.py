"""The desk's Redis writer against a real redis-server: order, batching, and Redis going away."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from agent_gateway.bus import Bus
from agent_gateway.desk_outbox import Outbox, OutboxWriter
from agent_gateway.store import read_calls
from hotline_cli.ports import free_tcp_port
from hotline_cli.processes import RedisProcess


async def test_writes_arrive_in_order_and_survive_a_redis_restart(tmp_path: Path) -> None:
    server = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with server:
        redis = Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1)
        bus = Bus(redis)
        writer = OutboxWriter(bus)
        await writer.start()
        for n in range(50):
            out = Outbox()
            out.write_call(f"call-{n}", {"call_id": f"call-{n}", "n": n})
            out.publish("supervisors", {"type": "call_update", "n": n})
            writer.submit(out)
        await asyncio.wait_for(writer.drained(), 5)
        assert [m.body["n"] for m in await bus.since(0, {"supervisors"})] == list(range(50))

        server.kill()  # Redis crashes with writes still to come
        assert server.process is not None
        await server.process.wait()
        late = Outbox()
        late.remove_call("call-0")
        late.publish("supervisors", {"type": "call_update", "n": 50})
        writer.submit(late)
        await asyncio.sleep(0.5)  # the writer is retrying meanwhile
        await server.start()
        await asyncio.wait_for(writer.drained(), 10)

        messages = await bus.since(0, {"supervisors"})
        assert [m.body["n"] for m in messages] == list(range(51))  # none lost, none twice
        assert [m.seq for m in messages] == list(range(1, 52))
        assert len(await read_calls(redis)) == 49
        await writer.stop()
        await redis.aclose()
