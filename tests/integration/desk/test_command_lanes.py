"""The command executor's scheduling, on a real Redis: one agent's slow command (a verb held
open by the test, as a call-control verb waits for Asterisk's confirmation) does not hold up
another agent's, while the same agent's next command still waits for its first; a command that
raises is answered `internal_error` and its desk's next is carried out; a desk sending more
than its lane holds is refused at once; no more than `max_in_flight` commands are taken off the
stream; a stopped executor leaves nothing running and what it had in hand is not carried out
again; when the stream fails, the command in hand ends (answered) before the executor does.

The commands are sealed and put on the commands stream as a gateway does; their answers are
read back from the bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from agent_gateway.desk.commands.executor import MAX_IN_FLIGHT, MAX_PER_DESK, CommandExecutor
from agent_gateway.desk.commands.verb import AGENT_DESK, Request, Result
from agent_gateway.desk.commands.verb import Verb as AgentVerb
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.service import DeskService
from agent_gateway.edge.admission import publish_desk_users
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.command_seal import seal_key, sealed
from agent_gateway.edge.protocol import agent_topic
from crm.db.engine import create_engine, session_factory
from crm.domain.caller import NO_NUMBER, CallerSummary
from telephony.call_control_service import CallControl
from telephony.tracker import CallTracker
from tests.integration.desk.test_desk_wrap_up import RecordingAmi
from tests.integration.gateway.gateway_support import wait_until

KEY = seal_key(b"a gateway secret of 32 characters")
AGENTS = {"1001": "王芳", "1002": "李娜", "1003": "张伟"}
USERS = {"1001": 7, "1002": 8, "1003": 9}
GROUP = "backend"
SLOW = "hold"  # the verb the test holds open (a call-control verb in real life)


@dataclass
class Verb:
    """The `hold` verb as the test runs it: it records when each command started and ended
    and, for the extensions in `held`, waits until the test lets it go (`release`)."""

    held: set[str]
    started: list[str] = field(default_factory=list)  # command ids
    ended: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    async def __call__(self, request: Request) -> Result:
        command_id = str(request.args["n"])
        self.started.append(command_id)
        try:
            if request.extension in self.held:
                await self.gates.setdefault(request.extension, asyncio.Event()).wait()
        except asyncio.CancelledError:
            self.cancelled.append(command_id)
            raise
        self.ended.append(command_id)
        return {"n": command_id}

    def release(self, extension: str) -> None:
        self.held.discard(extension)
        self.gates.setdefault(extension, asyncio.Event()).set()


async def _no_history(number: str) -> CallerSummary:
    return NO_NUMBER


@contextlib.asynccontextmanager
async def running(
    redis: Redis, tmp_path: Path, verb: Verb, **limits: int
) -> AsyncIterator[tuple[CommandExecutor, asyncio.Task[None]]]:
    """A desk and its command executor (its `hold` verb the test's), running for the block."""
    await publish_desk_users(redis, {user: 1 for user in USERS.values()})
    bus, ami, tracker = Bus(redis), RecordingAmi(), CallTracker()
    engine = create_engine(f"sqlite:///{tmp_path / 'unused.db'}")  # no verb here reads orders
    desk = DeskService(bus, redis, ami, tracker, AGENTS, ["hotline"], _no_history)
    async with desk:
        queues = {ext: [("hotline", 0)] for ext in AGENTS}
        executor = CommandExecutor(
            bus, desk, ami, tracker, DeskOrders(session_factory(engine), "SZ12345"), queues,
            "agents", CallControl(ami, tracker, {}), seal_key=KEY,
            max_in_flight=limits.get("max_in_flight", MAX_IN_FLIGHT),
            max_per_desk=limits.get("max_per_desk", MAX_PER_DESK),
        )  # fmt: skip
        executor.verbs[SLOW] = AgentVerb(AGENT_DESK, verb)
        task = asyncio.create_task(executor.run())
        try:
            yield executor, task
        finally:
            task.cancel()
            await asyncio.wait({task})  # how it ended is the test's to check
            await engine.dispose()


async def submit(redis: Redis, extension: str, command_id: str) -> None:
    command = {
        "id": command_id, "name": SLOW, "args": {"n": command_id},
        "user_id": USERS[extension], "user_name": AGENTS[extension], "role": "agent",
        "extension": extension, "version": 1, "reply_topic": agent_topic(extension),
        "gateway_ts": time.time(),
    }  # fmt: skip
    await Bus(redis).submit_command(sealed(KEY, command))


async def answer(redis: Redis, extension: str, command_id: str, within_s: float) -> dict[str, Any]:
    """The command's `command_result` on its desk's topic, once published."""
    async with asyncio.timeout(within_s):
        while True:
            entries: Any = await redis.xrange(Bus(redis).stream)
            for _id, fields in entries:
                body = json.loads(fields[b"body"])
                if (
                    fields[b"topic"].decode() == agent_topic(extension)
                    and body.get("id") == command_id
                ):
                    return dict(body)
            await asyncio.sleep(0.02)


async def pending(redis: Redis) -> int:
    summary: Any = await redis.xpending(Bus(redis).commands_stream, GROUP)
    return int(summary["pending"])


async def test_a_slow_command_holds_up_its_own_desk_only(redis: Redis, tmp_path: Path) -> None:
    verb = Verb(held={"1001"})
    async with running(redis, tmp_path, verb):
        await submit(redis, "1001", "a1")
        await wait_until(lambda: "a1" in verb.started)
        await submit(redis, "1001", "a2")  # the same agent's next: after a1
        await submit(redis, "1002", "b1")  # another agent's: not after a1
        b1 = await answer(redis, "1002", "b1", within_s=3)  # well within the 5 s age limit
        assert b1["ok"] is True and b1["result"] == {"n": "b1"}, b1
        assert "a1" not in verb.ended and "a2" not in verb.started  # a1 still held: a2 waits
        assert await pending(redis) == 2  # a1 and a2 taken, not acknowledged (b1 was)

        verb.release("1001")
        a1 = await answer(redis, "1001", "a1", within_s=3)
        a2 = await answer(redis, "1001", "a2", within_s=3)
        assert a1["ok"] is True and a2["ok"] is True, (a1, a2)
        assert verb.started == ["a1", "b1", "a2"] and verb.ended == ["b1", "a1", "a2"]
        assert await pending(redis) == 0


async def test_an_exception_in_one_lane_is_answered_and_stops_nothing(
    redis: Redis, tmp_path: Path
) -> None:
    verb = Verb(held={"1001"})
    async with running(redis, tmp_path, verb) as (executor, task):

        async def broken(request: Request) -> Result:
            raise RuntimeError("boom")

        executor.verbs["pause"] = AgentVerb(AGENT_DESK, broken)
        await submit(redis, "1001", "a1")  # held
        await wait_until(lambda: "a1" in verb.started)
        await Bus(redis).submit_command(sealed(KEY, {
            "id": "b-broken", "name": "pause", "args": {"reason": "会议"}, "user_id": 8,
            "user_name": "李娜", "role": "agent", "extension": "1002", "version": 1,
            "reply_topic": agent_topic("1002"), "gateway_ts": time.time(),
        }))  # fmt: skip
        broke = await answer(redis, "1002", "b-broken", within_s=3)
        assert broke["ok"] is False and broke["error"]["code"] == "internal_error", broke
        await submit(redis, "1002", "b2")  # the same desk's next command is carried out
        assert (await answer(redis, "1002", "b2", within_s=3))["ok"] is True
        verb.release("1001")
        assert (await answer(redis, "1001", "a1", within_s=3))["ok"] is True
        assert not task.done()


async def test_a_desk_sending_more_than_its_lane_holds_is_refused_at_once(
    redis: Redis, tmp_path: Path
) -> None:
    verb = Verb(held={"1001"})
    async with running(redis, tmp_path, verb, max_per_desk=2):
        await submit(redis, "1001", "a1")
        await wait_until(lambda: "a1" in verb.started)
        await submit(redis, "1001", "a2")  # waits in the lane: now full
        await submit(redis, "1001", "a3")
        refused = await answer(redis, "1001", "a3", within_s=3)
        assert refused["ok"] is False and refused["error"]["code"] == "rate_limited", refused
        await submit(redis, "1002", "b1")
        assert (await answer(redis, "1002", "b1", within_s=3))["ok"] is True
        verb.release("1001")
        assert (await answer(redis, "1001", "a2", within_s=3))["ok"] is True
        assert "a3" not in verb.started  # refused, never carried out


async def test_no_more_than_max_in_flight_are_taken_off_the_stream(
    redis: Redis, tmp_path: Path
) -> None:
    verb = Verb(held={"1001", "1002"})
    async with running(redis, tmp_path, verb, max_in_flight=2):
        await submit(redis, "1001", "a1")
        await submit(redis, "1002", "b1")
        await wait_until(lambda: {"a1", "b1"} <= set(verb.started))
        await submit(redis, "1003", "c1")
        await asyncio.sleep(0.5)  # c1 must stay unread meanwhile: nothing to poll for
        assert "c1" not in verb.started and await pending(redis) == 2
        verb.release("1001")
        assert (await answer(redis, "1003", "c1", within_s=3))["ok"] is True
        verb.release("1002")
        assert (await answer(redis, "1002", "b1", within_s=3))["ok"] is True


async def test_a_stopped_executor_leaves_nothing_running_nor_carries_it_out_again(
    redis: Redis, tmp_path: Path
) -> None:
    verb = Verb(held={"1001"})
    async with running(redis, tmp_path, verb) as (_executor, task):
        await submit(redis, "1001", "a1")
        await wait_until(lambda: "a1" in verb.started)
        await submit(redis, "1001", "a2")  # taken, waiting behind a1
        deadline = time.monotonic() + 5
        while await pending(redis) < 2:
            assert time.monotonic() < deadline, "a2 not taken off the stream"
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert verb.cancelled == ["a1"]
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("commands of")]
        assert await pending(redis) == 2  # neither acknowledged: both read again at restart
    verb = Verb(held=set())
    async with running(redis, tmp_path, verb):  # restarted: a1 was received once, a2 never started
        again = await answer(redis, "1001", "a1", within_s=3)
        assert again["ok"] is False and again["error"]["code"] == "duplicate", again
        assert (await answer(redis, "1001", "a2", within_s=3))["ok"] is True
        assert verb.started == ["a2"]


async def test_when_the_stream_fails_the_commands_in_hand_end_first(
    redis: Redis, tmp_path: Path
) -> None:
    verb = Verb(held={"1001"})
    async with running(redis, tmp_path, verb) as (_executor, task):
        await submit(redis, "1001", "a1")
        await wait_until(lambda: "a1" in verb.started)
        await redis.xgroup_destroy(Bus(redis).commands_stream, GROUP)  # the next read fails
        await asyncio.sleep(3)  # the reader's blocking read lasts 2 s at most: nothing to poll
        assert not task.done()  # it waits for a1
        verb.release("1001")
        done = await answer(redis, "1001", "a1", within_s=3)
        assert done["ok"] is True, done  # carried out to its end and answered, not cancelled
        with pytest.raises(ExceptionGroup) as failed:  # then the executor fails (a restart)
            await asyncio.wait_for(task, 3)
        assert failed.group_contains(ResponseError, match="NOGROUP")
        assert verb.cancelled == []
