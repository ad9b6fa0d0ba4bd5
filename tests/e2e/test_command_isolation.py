"""Commands that nothing can kill, against real Asterisk: a hostile pause reason is refused at
the desktop protocol; one put straight on the commands stream (a buggy gateway) is answered
with an error and the next command is still carried out, also after restarts; a command that
waited past its age limit is answered "expired" and Asterisk shows nothing happened; so is one
from a user disabled since, one with the backend's own wrap-up reason, and a replayed one.

The centre runs without its own command executor: each test starts one (supervised, as the
backend does) when it wants commands carried out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from redis.exceptions import ResponseError
from websockets.asyncio.client import connect

from agent_gateway.desk.commands.executor import CommandExecutor
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.edge.admission import desk_user_generation
from agent_gateway.edge.command_seal import seal_key, sealed
from agent_gateway.edge.protocol import agent_topic
from crm.domain.enums import Role
from crm.repo.directory import active_user_at
from hotline_cli.tasks import TaskHealth, Tasks
from telephony.dialplan import CONTEXT_AGENTS
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.test_desktop import Desktop
from tests.integration.gateway.gateway_support import wait_until

HOSTILE = "a\r\nAction: Hangup"
GROUP = "backend"


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("centre"), commands=False) as centre:
        yield centre


@asynccontextmanager
async def executor(centre: Centre, max_age_s: float | None = None) -> AsyncIterator[TaskHealth]:
    """The backend's command executor, supervised, for the block."""
    h, s = centre.hotline, centre.hotline.settings
    commands = CommandExecutor(
        h.bus, h.desk, h.ami, h.tracker, DeskOrders(h.sessions, s.centre.code),
        s.agent_queues(), CONTEXT_AGENTS, h.control, max_age_s or s.gateway.command_max_age_s,
        seal_key=_seal_key(centre),
    )  # fmt: skip
    async with Tasks().supervised("agent commands", commands.run) as health:
        yield health


@pytest.fixture
async def desk(centre: Centre) -> AsyncIterator[Desktop]:
    """Agent 1001's desktop on the backend's gateway; 1001 unpaused in Asterisk afterwards."""
    hotline = centre.hotline
    token = await crm_user(centre, "王芳", Role.AGENT, "1001")
    url = f"http://127.0.0.1:{hotline.settings.http.port}/api/desk/ticket"
    async with aiohttp.ClientSession() as http, http.post(
        url, json={"extension": "1001"}, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200, await response.text()
        ticket = (await response.json())["ticket"]
    async with connect(f"ws://127.0.0.1:{hotline.gateway.port}/?ticket={ticket}") as ws:
        desktop = Desktop(ws)
        snapshot = await desktop.wait_for("snapshot")
        assert snapshot["presence"]["1001"]["state"] == "available"
        try:
            yield desktop
        finally:
            await hotline.ami.action("QueuePause", Interface="PJSIP/1001", Paused="false")
            await wait_until(lambda: hotline.desk.presences["1001"].state.value == "available", 10)
            await desktop.close()


async def _member(centre: Centre, extension: str) -> dict[str, str]:
    """Asterisk's own view of the agent in the hotline queue."""
    status = await centre.hotline.ami.action_list("QueueStatus", Queue="hotline")
    (member,) = (
        m for m in status
        if m.get("Event") == "QueueMember" and m.get("Location") == f"PJSIP/{extension}"
    )  # fmt: skip
    return member


def _seal_key(centre: Centre) -> bytes:
    return seal_key(centre.hotline.settings.gateway.secret.get_secret_value().encode())


async def _put_on_stream(
    centre: Centre, command_id: str, name: str, *, seal: bool = True, **args: Any
) -> str:
    """A command straight on the commands stream, as a buggy gateway could write it (sealed,
    from 1001's user as the backend publishes them), or anything else that can write to Redis
    (`seal=False`)."""
    async with centre.hotline.sessions() as session:
        user = await active_user_at(session, "1001")
    assert user is not None
    version = await desk_user_generation(centre.hotline.redis, user.id)
    command = {
        "id": command_id, "name": name, "args": args, "user_id": user.id, "user_name": "王芳",
        "role": "agent", "extension": "1001", "version": version,
        "reply_topic": agent_topic("1001"), "gateway_ts": time.time(),
    }  # fmt: skip
    if seal:
        command = sealed(_seal_key(centre), command)
    bus = centre.hotline.bus
    entry_id: Any = await bus.redis.xadd(bus.commands_stream, {"command": json.dumps(command)})
    return str(entry_id.decode())


async def _none_pending(centre: Centre) -> None:
    """Every command acknowledged (the ack follows the answer: polled with a deadline)."""
    bus = centre.hotline.bus
    async with asyncio.timeout(10):
        while True:
            summary: Any = await bus.redis.xpending(bus.commands_stream, GROUP)
            if summary["pending"] == 0:
                return

            await asyncio.sleep(0.05)


async def _paused_in_asterisk(centre: Centre, desk: Desktop, reason: str) -> None:
    await desk.wait_for("presence", extension="1001", state="paused", reason=reason)
    member = await _member(centre, "1001")
    assert (member["Paused"], member["PausedReason"]) == ("1", reason), member


async def test_a_hostile_pause_reason_is_refused_at_the_protocol(
    centre: Centre, desk: Desktop
) -> None:
    async with executor(centre) as health:
        refused = await desk.command("pause", reason=HOSTILE)
        assert refused["ok"] is False and refused["error"]["code"] == "invalid_args", refused
        assert "args.reason" in refused["error"]["message"]
        assert (await desk.command("pause", reason="会议"))["ok"]
        await _paused_in_asterisk(centre, desk, "会议")
        assert health == TaskHealth()


async def test_a_hostile_command_on_the_stream_is_answered_and_the_next_carried_out(
    centre: Centre, desk: Desktop
) -> None:
    async with executor(centre) as health:
        await _put_on_stream(centre, "hostile-1", "pause", reason=HOSTILE)
        refused = await desk.wait_for("command_result", id="hostile-1")
        assert refused["ok"] is False and refused["error"]["code"] == "internal_error", refused
        assert HOSTILE not in refused["error"]["message"]
        await _none_pending(centre)  # acknowledged: never read again
        assert (await desk.command("pause", reason="培训"))["ok"]
        await _paused_in_asterisk(centre, desk, "培训")
        assert health == TaskHealth()  # the executor never died
    async with executor(centre):  # restarted: nothing replayed, the next command carried out
        assert (await desk.command("unpause"))["ok"]
        await desk.wait_for("presence", extension="1001", state="available", reason=None)
    results = [f for _, f in desk.frames if f["type"] == "command_result"]
    assert [r["id"] for r in results].count("hostile-1") == 1


async def test_a_command_that_crashed_the_backend_each_time_is_set_aside_after_restarts(
    centre: Centre, desk: Desktop
) -> None:
    bus, redis = centre.hotline.bus, centre.hotline.bus.redis
    with contextlib.suppress(ResponseError):  # BUSYGROUP: made by an earlier run
        await redis.xgroup_create(bus.commands_stream, GROUP, id="0", mkstream=True)
    poison = await _put_on_stream(centre, "poison-1", "pause", reason=HOSTILE)
    # Three backends took it and died with it in hand (never acknowledged).
    await redis.xreadgroup(GROUP, "backend-1", {bus.commands_stream: ">"}, count=1)
    for _crash in range(2):
        await redis.xclaim(bus.commands_stream, GROUP, "backend-1", 0, [poison])

    async with executor(centre) as health:
        refused = await desk.wait_for("command_result", id="poison-1")
        assert refused["error"]["code"] == "internal_error", refused
        assert "set aside" in refused["error"]["message"]
        assert (await desk.command("pause", reason="午餐"))["ok"]
        await _paused_in_asterisk(centre, desk, "午餐")
        assert health == TaskHealth()
    dead: Any = await redis.xrange(bus.dead_commands_stream)
    assert [fields[b"entry_id"].decode() for _id, fields in dead] == [poison]
    await _none_pending(centre)


async def test_a_command_that_waited_past_its_age_limit_is_expired_not_carried_out(
    centre: Centre, desk: Desktop
) -> None:
    limit = centre.hotline.settings.gateway.command_max_age_s
    # The executor is down: the desktop's pause waits on the commands stream.
    await desk.ws.send(json.dumps({"type": "command", "id": "late-pause", "name": "pause",
                                   "args": {"reason": "迟到的暂停"}}))  # fmt: skip
    await asyncio.sleep(limit + 0.5)  # the point of the test: it outlives its age limit
    async with executor(centre):
        expired = await desk.wait_for("command_result", id="late-pause")
        assert expired["ok"] is False and expired["error"]["code"] == "expired", expired
        member = await _member(centre, "1001")
        assert member["Paused"] == "0", member  # Asterisk: nothing happened
        assert centre.hotline.desk.presences["1001"].state.value == "available"
        fresh = await desk.command("pause", reason="会议")
        assert fresh["ok"], fresh  # a fresh one is carried out
        await _paused_in_asterisk(centre, desk, "会议")


async def test_a_command_written_into_redis_with_an_unproven_sender_is_refused(
    centre: Centre, desk: Desktop, caplog: pytest.LogCaptureFixture
) -> None:
    async with executor(centre) as health:
        await _put_on_stream(centre, "forged-1", "pause", seal=False, reason="冒充")
        forged = await desk.wait_for("command_result", id="forged-1")
        assert forged["ok"] is False and forged["error"]["code"] == "forbidden", forged
        assert "no seal" in forged["error"]["message"]
        await _none_pending(centre)
        member = await _member(centre, "1001")
        assert member["Paused"] == "0", member  # Asterisk: nothing happened
        assert (await desk.command("pause", reason="会议"))["ok"]  # a sealed one is
        await _paused_in_asterisk(centre, desk, "会议")
        assert health == TaskHealth()
    assert any(
        r.levelname == "ERROR" and "forged-1" in r.getMessage() and "unproven" in r.getMessage()
        for r in caplog.records
    )


async def _results(desk: Desktop, command_id: str, count: int) -> list[dict[str, Any]]:
    """The first `count` results for `command_id`, once they arrived."""

    def found() -> list[dict[str, Any]]:
        results = (f for _, f in desk.frames if f["type"] == "command_result")
        return [f for f in results if f["id"] == command_id]

    await wait_until(lambda: len(found()) >= count, 20)
    return found()[:count]


async def test_the_backends_wrap_up_reason_is_refused_from_the_desktop_and_on_the_stream(
    centre: Centre, desk: Desktop
) -> None:
    async with executor(centre) as health:
        refused = await desk.command("pause", reason="wrap-up")
        assert refused["ok"] is False and refused["error"]["code"] == "invalid_args", refused
        assert "args.reason" in refused["error"]["message"]
        await _put_on_stream(centre, "reserved-1", "pause", reason="wrap-up")  # sealed
        (refused,) = await _results(desk, "reserved-1", 1)
        assert refused["ok"] is False and refused["error"]["code"] == "invalid_args", refused
        assert "args.reason" in refused["error"]["message"]
        await _none_pending(centre)
        member = await _member(centre, "1001")
        assert member["Paused"] == "0", member  # Asterisk: not paused
        assert centre.hotline.desk.presences["1001"].state.value == "available"
        assert health == TaskHealth()


async def test_a_replayed_sealed_command_is_refused(centre: Centre, desk: Desktop) -> None:
    bus = centre.hotline.bus
    async with executor(centre, max_age_s=60):  # the replay comes well within its age limit
        entry = await _put_on_stream(centre, "replay-1", "pause", reason="会议")
        (done,) = await _results(desk, "replay-1", 1)
        assert done["ok"], done
        await _paused_in_asterisk(centre, desk, "会议")
        assert (await desk.command("unpause"))["ok"]
        await desk.wait_for("presence", extension="1001", state="available", reason=None)
        written: Any = await bus.redis.xrange(bus.commands_stream, entry, entry)
        ((_, fields),) = written
        await bus.redis.xadd(bus.commands_stream, fields)  # the same entry written again
        _, again = await _results(desk, "replay-1", 2)
        assert again["ok"] is False and again["error"]["code"] == "duplicate", again
        await _none_pending(centre)
        member = await _member(centre, "1001")
        assert member["Paused"] == "0", member  # Asterisk: the replay did nothing


async def test_a_disabled_users_command_is_forbidden_at_once(
    centre: Centre, desk: Desktop
) -> None:
    hotline = centre.hotline
    admin = await crm_user(centre, "管理员", Role.ADMIN)
    user_id = desk.frames[0][1]["user"]["id"]
    before = await hotline.bus.last_seq()
    # The desktop's pause is sealed and on the stream (the executor is down a moment) ...
    await desk.ws.send(json.dumps({"type": "command", "id": "after-disable", "name": "pause",
                                   "args": {"reason": "会议"}}))  # fmt: skip

    async def submitted() -> bool:
        entries: Any = await hotline.bus.redis.xrange(hotline.bus.commands_stream, "-", "+")
        return any(json.loads(f[b"command"])["id"] == "after-disable" for _, f in entries)

    async with asyncio.timeout(10):
        while True:
            if await submitted():
                break
            await asyncio.sleep(0.05)
    # ... when an admin disables the user through the CRM; the executor then takes it at once.
    url = f"http://127.0.0.1:{hotline.settings.http.port}/api/users/{user_id}"
    async with aiohttp.ClientSession() as http, http.patch(
        url, json={"active": False}, headers={"Authorization": f"Bearer {admin}"}
    ) as response:
        assert response.status == 200, await response.text()
    topic = agent_topic("1001")
    async with executor(centre):
        async with asyncio.timeout(10):
            while True:  # read from the bus: the gateway may have closed the desktop already
                sent = [m.body for m in await hotline.bus.since(before, [topic])]
                answers = [b for b in sent if b.get("id") == "after-disable"]
                if answers:
                    break
                await asyncio.sleep(0.05)
        (refused,) = answers
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused
        assert "may no longer use the desk" in refused["error"]["message"]
        await _none_pending(centre)
        member = await _member(centre, "1001")
        assert member["Paused"] == "0", member  # Asterisk: nothing happened
