"""The floor verbs through the command executor, on a real Redis and database (SQLite and
PostgreSQL): sealed commands on the stream as a gateway puts them there, an Asterisk stand-in
that answers actions and sends the queue-member events Asterisk would (the desk follows them).

The executor checks the sealed role per verb (an agent's sealed command cannot run a
supervisor verb, nor a supervisor's an agent verb); a supervisor's verb is answered on its own
topic once the events confirmed it, is on the floor's trail with its outcome and leaves a
notice on the agent's desk; an unknown agent or a state it does not apply in is refused before
anything is asked or written. The real Asterisk's side is in tests/e2e/test_floor.py."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from agent_gateway.desk.commands import floor
from agent_gateway.desk.commands.executor import CommandExecutor
from agent_gateway.desk.commands.verb import CommandFailed, Request
from agent_gateway.desk.floor_audit import FloorAudit
from agent_gateway.desk.forced_pause import ForcedPauses
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.service import DeskService
from agent_gateway.edge.admission import publish_desk_users
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.command_seal import seal_key, sealed
from agent_gateway.edge.protocol import PresenceState, agent_topic
from agent_gateway.edge.store import read_floor_notice
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.floor_models import FloorAction
from crm.domain.enums import Role
from crm.repo.directory import create_user
from telephony.ami_connection import AmiActionError
from telephony.call_control_service import CallControl
from telephony.events import QueueMemberChanged
from telephony.tracker import CallTracker
from tests.integration.crm.conftest import (  # noqa: F401  (the fixtures, for both databases)
    database_url,
    postgres_template,
    postgres_url,
    sqlite_template,
)
from tests.integration.desk.test_desk_wrap_up import _no_history

KEY = seal_key(b"a gateway secret of 32 characters")
AGENTS = {"1001": "王芳", "1002": "李娜", "1901": "赵敏(支援)"}
QUEUES = ["hotline", "complaint"]
SERVING = {
    "1001": [("hotline", 0), ("complaint", 0)],
    "1002": [("hotline", 0)],
    "1901": [("hotline", 1), ("complaint", 1)],
}


@dataclass
class Member:
    penalty: int
    paused: bool = False
    reason: str = ""


@dataclass
class Asterisk:
    """app_queue as far as the floor verbs see it: members by (queue, interface); each change
    answered, then reported as Asterisk's event (unless `silent`)."""

    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    actions: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    silent: bool = False
    desk: DeskService | None = None

    async def action(self, name: str, timeout: float = 5.0, **h: str) -> dict[str, str]:
        self.actions.append((name, h))
        iface = h.get("Interface", "")
        if name == "QueuePause":
            mine = [(q, m) for (q, i), m in self.members.items() if i == iface]
            for queue, member in mine:
                member.paused, member.reason = h["Paused"] == "true", h.get("Reason", "")
                self._report(queue, iface, member)
        elif name == "QueueAdd":
            if (h["Queue"], iface) in self.members:
                raise AmiActionError(name, {"Response": "Error", "Message": "Already there"})
            member = Member(int(h["Penalty"]), h.get("Paused") == "true")
            self.members[(h["Queue"], iface)] = member
            self._report(h["Queue"], iface, member)
        elif name == "QueueRemove":
            if (h["Queue"], iface) not in self.members:
                raise AmiActionError(name, {"Response": "Error", "Message": "Not there"})
            self._report(h["Queue"], iface, self.members.pop((h["Queue"], iface)), removed=True)
        elif name == "QueuePenalty" and not self.silent:
            self.members[(h["Queue"], iface)].penalty = int(h["Penalty"])
        return {"Response": "Success"}

    async def action_list(self, name: str, timeout: float = 5.0, **h: str) -> list[dict[str, str]]:
        assert name == "QueueStatus"
        return [
            {"Event": "QueueMember", "Queue": q, "Location": i, "Penalty": str(m.penalty)}
            for (q, i), m in self.members.items()
            if q == h.get("Queue", q) and i == h.get("Member", i)
        ]

    def join(self, queue: str, ext: str, penalty: int = 0) -> None:
        member = Member(penalty)
        self.members[(queue, f"PJSIP/{ext}")] = member
        self._report(queue, f"PJSIP/{ext}", member)

    def _report(self, queue: str, iface: str, member: Member, removed: bool = False) -> None:
        if self.silent or self.desk is None:
            return
        event = QueueMemberChanged(time.time(), queue, iface, AGENTS[iface[6:]], 1,
                                   member.paused, member.reason, False, removed)  # fmt: skip
        asyncio.get_running_loop().call_later(0.02, asyncio.ensure_future,
                                              self.desk.on_event(event))  # fmt: skip


@dataclass
class Floor:
    desk: DeskService
    asterisk: Asterisk
    sessions: SessionFactory
    redis: Redis
    supervisor: int  # user ids
    admin: int
    agent: int  # 王芳's, at 1001

    async def send(self, name: str, args: dict[str, Any], *, role: str = "supervisor",
                   user_id: int | None = None, extension: str | None = None,
                   command_id: str = "s1") -> dict[str, Any]:  # fmt: skip
        """Seal and submit a command as a gateway would; its command_result."""
        user_id = user_id or (self.agent if role == "agent" else self.supervisor)
        reply = agent_topic(extension) if role == "agent" and extension else f"user.{user_id}"
        await Bus(self.redis).submit_command(sealed(KEY, {
            "id": command_id, "name": name, "args": args, "user_id": user_id,
            "user_name": "张三", "role": role, "extension": extension, "version": 1,
            "reply_topic": reply, "gateway_ts": time.time(),
        }))  # fmt: skip
        [result] = await self.published(reply, "command_result", within_s=10, id=command_id)
        return result

    async def published(self, topic: str, kind: str, within_s: float = 3, **match: Any
                        ) -> list[dict[str, Any]]:  # fmt: skip
        deadline = time.monotonic() + within_s
        while True:
            entries: Any = await self.redis.xrange(Bus(self.redis).stream)
            bodies = [json.loads(f[b"body"]) for _, f in entries if f[b"topic"].decode() == topic]
            found = [b for b in bodies if b.get("type") == kind
                     and all(b.get(k) == v for k, v in match.items())]  # fmt: skip
            if found or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.02)

    async def trail(self) -> list[FloorAction]:
        async with self.sessions() as session:
            return list(await session.scalars(select(FloorAction).order_by(FloorAction.id)))

    def state(self, ext: str) -> tuple[PresenceState, str | None]:
        presence = self.desk.presences[ext]
        return presence.state, presence.reason


@pytest.fixture
async def floor_desk(redis: Redis, database_url: str) -> AsyncIterator[Floor]:  # noqa: F811
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        supervisor, _ = await create_user(session, "张三", Role.SUPERVISOR, None)
        admin, _ = await create_user(session, "钱七", Role.ADMIN, None)
        agent, _ = await create_user(session, "王芳", Role.AGENT, None, agent_extension="1001")
    await publish_desk_users(redis, {u.id: 1 for u in (supervisor, admin, agent)})
    bus, asterisk, tracker = Bus(redis), Asterisk(), CallTracker()
    desk = DeskService(bus, redis, asterisk, tracker, AGENTS, QUEUES, _no_history)
    asterisk.desk = desk
    async with desk:
        executor = CommandExecutor(
            bus, desk, asterisk, tracker, DeskOrders(sessions, "SZ12345"), SERVING, "agents",
            CallControl(asterisk, tracker, {}), seal_key=KEY,
        )  # fmt: skip
        task = asyncio.create_task(executor.run())
        for queue, ext, penalty in (("hotline", "1001", 0), ("hotline", "1002", 0),
                                    ("hotline", "1901", 1)):  # fmt: skip
            asterisk.join(queue, ext, penalty)
        floor_ = Floor(desk, asterisk, sessions, redis, supervisor.id, admin.id, agent.id)
        deadline = time.monotonic() + 5
        while any(floor_.state(e)[0] is not PresenceState.AVAILABLE for e in AGENTS):
            assert time.monotonic() < deadline, "the agents did not log in"
            await asyncio.sleep(0.02)
        try:
            yield floor_
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await engine.dispose()


PAUSE = {"extension": "1001", "pause_reason": "培训", "reason": "新政策培训"}


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_a_forced_pause_is_confirmed_audited_and_shown_on_the_agents_desk(
    floor_desk: Floor, role: str
) -> None:
    user = floor_desk.supervisor if role == "supervisor" else floor_desk.admin
    result = await floor_desk.send("force_pause", PAUSE, role=role, user_id=user)
    assert result["ok"], result
    assert floor_desk.state("1001") == (PresenceState.PAUSED, "培训")  # Asterisk's events said so
    assert floor_desk.asterisk.members[("hotline", "PJSIP/1001")].reason == "培训"
    word = "班长" if role == "supervisor" else "管理员"
    text = f"{word} 张三 将您置为暂停：培训（新政策培训）"
    [notice] = await floor_desk.published(agent_topic("1001"), "floor_notice")
    assert (notice["text"], notice["action"], notice["by_user_id"]) == (text, "force_pause", user)
    assert await floor_desk.published(f"user.{user}", "floor_notice") == [notice]
    assert not await floor_desk.published(agent_topic("1002"), "floor_notice", within_s=0)
    [row] = await floor_desk.trail()
    assert (row.user_id, row.role, row.extension, row.action, row.pause_reason, row.reason,
            row.outcome) == (user, Role(role), "1001", "force_pause", "培训", "新政策培训",
                             "done")  # fmt: skip
    assert row.ended_at is not None and row.ended_at >= row.at
    assert result["result"]["audit_id"] == row.id


async def test_an_agents_sealed_command_cannot_run_a_supervisor_verb(floor_desk: Floor) -> None:
    """Even sealed by a gateway (a gateway's bug, an old gateway): the executor checks the
    sealed role against the verb's entry again."""
    logout = {"extension": "1001", "reason": "x"}
    for name, args in (("force_pause", PAUSE), ("force_logout", logout)):
        result = await floor_desk.send(name, args, role="agent", extension="1001", command_id=name)
        assert result["ok"] is False and result["error"]["code"] == "forbidden", result
        assert result["error"]["message"] == f"the agent role may not run {name}"
    assert floor_desk.asterisk.actions == [] and await floor_desk.trail() == []
    assert floor_desk.state("1001") == (PresenceState.AVAILABLE, None)


async def test_a_supervisors_sealed_command_cannot_run_an_agent_verb(floor_desk: Floor) -> None:
    result = await floor_desk.send("pause", {"reason": "培训"}, extension="1001")
    assert result["ok"] is False and result["error"]["code"] == "forbidden", result
    assert floor_desk.asterisk.actions == []


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        ("force_pause", {**PAUSE, "extension": "1099"}, "unknown_agent"),
        ("force_unpause", {"extension": "1001", "reason": "x"}, "not_now"),
        ("move_queue", {"extension": "1001", "from_queue": "complaint", "to_queue": "hotline",
                        "reason": "x"}, "not_member"),
        ("move_queue", {"extension": "1001", "from_queue": "hotline", "to_queue": "nowhere",
                        "reason": "x"}, "unknown_queue"),
        ("assign_queue", {"extension": "1002", "queue": "hotline", "reason": "x"},
         "not_overflow"),
    ],
)
async def test_a_bad_target_is_refused_before_anything_is_done(
    floor_desk: Floor, name: str, args: dict[str, Any], code: str
) -> None:
    result = await floor_desk.send(name, args)
    assert result["ok"] is False and result["error"]["code"] == code, result
    assert floor_desk.asterisk.actions == [] and await floor_desk.trail() == []


async def test_pause_unpause_and_log_out(floor_desk: Floor) -> None:
    assert (await floor_desk.send("force_pause", PAUSE))["ok"]
    unpause = {"extension": "1001", "reason": "培训取消"}
    assert (await floor_desk.send("force_unpause", unpause, command_id="s2"))["ok"]
    assert floor_desk.state("1001") == (PresenceState.AVAILABLE, None)
    logout = {"extension": "1001", "reason": "提前下班"}
    assert (await floor_desk.send("force_logout", logout, command_id="s3"))["ok"]
    assert floor_desk.state("1001") == (PresenceState.LOGGED_OUT, None)
    assert not any(i == "PJSIP/1001" for _, i in floor_desk.asterisk.members)
    again = await floor_desk.send("force_logout", logout, command_id="s4")
    assert again["error"]["code"] == "logged_out"
    rows = await floor_desk.trail()
    assert [(r.action, r.outcome) for r in rows] == [
        ("force_pause", "done"), ("force_unpause", "done"), ("force_logout", "done"),
    ]  # fmt: skip
    texts = [n["text"] for n in await floor_desk.published(agent_topic("1001"), "floor_notice")]
    assert texts[1:] == ["班长 张三 已为您恢复接听（培训取消）", "班长 张三 已将您签出（提前下班）"]


async def test_moving_an_agent_joins_first_and_keeps_its_pause(floor_desk: Floor) -> None:
    assert (await floor_desk.send("force_pause", PAUSE))["ok"]
    move = {"extension": "1001", "from_queue": "hotline", "to_queue": "complaint",
            "reason": "投诉排队多"}  # fmt: skip
    result = await floor_desk.send("move_queue", move, command_id="s2")
    assert result["ok"], result
    assert floor_desk.desk.members["1001"] == {"complaint"}
    member = floor_desk.asterisk.members[("complaint", "PJSIP/1001")]
    assert (member.paused, member.reason) == (True, "培训")  # joined paused: never rung
    assert floor_desk.state("1001") == (PresenceState.PAUSED, "培训")
    names = [name for name, _ in floor_desk.asterisk.actions]
    assert names.index("QueueAdd") < names.index("QueueRemove")  # never in no queue
    row = (await floor_desk.trail())[-1]
    assert (row.action, row.from_queue, row.queue, row.outcome) == (
        "move_queue", "hotline", "complaint", "done"
    )


async def test_an_overflow_seat_gets_a_queue_now(floor_desk: Floor) -> None:
    assign = {"extension": "1901", "queue": "hotline", "reason": "排队超过 20 人"}
    result = await floor_desk.send("assign_queue", assign)
    assert result["ok"], result
    assert floor_desk.asterisk.members[("hotline", "PJSIP/1901")].penalty == 0
    assert (await floor_desk.send("assign_queue", assign, command_id="s2"))["error"][
        "code"
    ] == "already_member"
    joined = {"extension": "1901", "queue": "complaint", "reason": "投诉排队多"}
    assert (await floor_desk.send("assign_queue", joined, command_id="s3"))["ok"]
    assert floor_desk.desk.members["1901"] == {"hotline", "complaint"}
    assert floor_desk.asterisk.members[("complaint", "PJSIP/1901")].penalty == 0
    rows = await floor_desk.trail()
    assert [(r.action, r.queue, r.outcome) for r in rows] == [
        ("assign_queue", "hotline", "done"), ("assign_queue", "complaint", "done"),
    ]  # fmt: skip


async def test_an_action_asterisk_does_not_confirm_fails_and_says_so_on_the_trail(
    floor_desk: Floor,
) -> None:
    floor_desk.asterisk.silent = True
    verbs = floor.Floor(floor_desk.asterisk, floor_desk.desk, SERVING,
                        FloorAudit(floor_desk.sessions), confirm_s=0.3)  # fmt: skip
    request = Request("", PAUSE, floor_desk.supervisor, "supervisor", "张三")
    with pytest.raises(CommandFailed) as failed:
        await floor.force_pause(verbs, request)
    assert failed.value.code == "not_confirmed"
    [row] = await floor_desk.trail()
    assert (row.outcome, row.ended_at is not None) == ("not_confirmed", True)
    assert not await floor_desk.published(agent_topic("1001"), "floor_notice", within_s=0)



@pytest.mark.parametrize("state", [PresenceState.RINGING, PresenceState.TALKING])
async def test_an_agent_on_a_call_is_not_logged_out(
    floor_desk: Floor, state: PresenceState
) -> None:
    """Ringing or talking (the desk's presence, as the tracker's call events set it): the
    logout would end the agent's presence mid-call, so it is refused like a forced pause."""
    desk = floor_desk.desk
    desk.presences["1001"] = dataclasses.replace(desk.presences["1001"], state=state)
    result = await floor_desk.send("force_logout", {"extension": "1001", "reason": "下班"})
    assert result["ok"] is False and result["error"]["code"] == "not_now", result
    assert "不能签出" in result["error"]["message"]
    assert floor_desk.asterisk.actions == [] and await floor_desk.trail() == []
    assert ("hotline", "PJSIP/1001") in floor_desk.asterisk.members


async def test_a_forced_pause_is_the_supervisors_to_end(floor_desk: Floor) -> None:
    """The agent's own unpause (or a re-pause under its own reason) is refused while the
    forced pause holds, by a desk rebuilt over the same Redis too (a restart); the
    supervisor's unpause ends it, and the agent's own pauses are its own again."""
    assert (await floor_desk.send("force_pause", PAUSE))["ok"]

    async def agent(name: str, args: dict[str, Any], command_id: str) -> dict[str, Any]:
        return await floor_desk.send(name, args, role="agent", extension="1001",
                                     command_id=command_id)  # fmt: skip

    for n, (name, args) in enumerate((("unpause", {}), ("pause", {"reason": "休息"}))):
        refused = await agent(name, args, f"a{n}")
        assert refused["ok"] is False, refused
        assert refused["error"] == {"code": "forced_pause",
                                    "message": "班长已将您置为暂停，请联系班长"}  # fmt: skip
    assert floor_desk.state("1001") == (PresenceState.PAUSED, "培训")
    # the mark is only in Redis: a restarted backend's (a new reader) still sees it
    assert await ForcedPauses(floor_desk.redis).holds(floor_desk.desk.presences["1001"])
    unpause = {"extension": "1001", "reason": "培训取消"}
    assert (await floor_desk.send("force_unpause", unpause, command_id="s2"))["ok"]
    assert (await agent("pause", {"reason": "休息"}, "a3"))["ok"]
    deadline = time.monotonic() + 5  # the agent's own pause is answered once asked
    while floor_desk.state("1001") != (PresenceState.PAUSED, "休息"):
        assert time.monotonic() < deadline, floor_desk.state("1001")
        await asyncio.sleep(0.02)
    assert (await agent("unpause", {}, "a4"))["ok"]


async def test_the_agents_last_notice_is_kept_for_its_snapshot(floor_desk: Floor) -> None:
    assert (await floor_desk.send("force_pause", PAUSE))["ok"]
    unpause = {"extension": "1001", "reason": "培训取消"}
    assert (await floor_desk.send("force_unpause", unpause, command_id="s2"))["ok"]
    deadline = time.monotonic() + 5
    while (kept := await read_floor_notice(floor_desk.redis, "1001")) is None or kept[
        "action"] != "force_unpause":  # fmt: skip
        assert time.monotonic() < deadline, kept
        await asyncio.sleep(0.02)
    assert kept["text"] == "班长 张三 已为您恢复接听（培训取消）"
    assert await read_floor_notice(floor_desk.redis, "1002") is None


async def test_a_forced_pause_ended_another_way_leaves_the_agents_own_pauses_its_own(
    floor_desk: Floor,
) -> None:
    """Asterisk unpaused the agent behind the desk's back (an admin's CLI): the stale mark
    must not refuse the agent's own later pause under the same reason and its unpause."""
    assert (await floor_desk.send("force_pause", PAUSE))["ok"]
    await floor_desk.asterisk.action("QueuePause", Interface="PJSIP/1001", Paused="false")
    deadline = time.monotonic() + 5
    while floor_desk.state("1001")[0] is not PresenceState.AVAILABLE:
        assert time.monotonic() < deadline, floor_desk.state("1001")
        await asyncio.sleep(0.02)
    own = await floor_desk.send("pause", {"reason": "培训"}, role="agent", extension="1001",
                                command_id="a1")  # fmt: skip
    assert own["ok"], own
    while floor_desk.state("1001") != (PresenceState.PAUSED, "培训"):
        assert time.monotonic() < deadline, floor_desk.state("1001")
        await asyncio.sleep(0.02)
    back = await floor_desk.send("unpause", {}, role="agent", extension="1001", command_id="a2")
    assert back["ok"], back
