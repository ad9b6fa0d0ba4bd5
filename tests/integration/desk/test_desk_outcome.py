"""No answered call without an outcome, through the desk's verb table on a real Redis and a
real CRM database (SQLite and PostgreSQL): only the agent who answered a call disposes of it,
the wrap-up is refused until the call has a work order or a disposition, a call with an order
takes no disposition; the recording's pauses reach Asterisk as MixMonitorMute on the caller's
channel and are events on the call, once each."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from agent_gateway.desk.commands.verb import CommandFailed, Request
from agent_gateway.desk.commands.verbs import Collaborators, verb_table
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.presence import LoggedIn
from agent_gateway.desk.service import DeskService
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.protocol import PresenceState
from agent_gateway.edge.store import CALLS_KEY
from crm.db.call_models import CallEvent, CallRecord
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.domain.calls import CallEventKind, CallOutcome, Disposition
from crm.domain.enums import Role
from crm.repo.directory import create_user
from crm.usecases.call_disposition import ensure_call_record
from telephony.ami_connection import AmiActionError
from telephony.call import Call, CallChanged, CallState
from telephony.call_control import TargetKind
from telephony.call_control_service import CallControl
from telephony.call_targets import Target
from telephony.events import AgentAnswered, AgentRinging, ChannelHungUp
from telephony.tracker import CallTracker
from tests.integration.crm.conftest import (  # noqa: F401  (the fixtures, for both databases)
    database_url,
    postgres_template,
    postgres_url,
    sqlite_template,
)
from tests.integration.desk.test_desk_wrap_up import RecordingAmi, _no_history

AGENTS = {"1001": "王芳", "1002": "李娜"}
ORDER = {"order_type": "complaint", "text": "路灯不亮", "location": "幸福路"}
ARRIVED = 1_764_590_000.0  # 2025-12-01 11:53:20 UTC
TARGETS = {ext: Target(ext, TargetKind.AGENT, "") for ext in AGENTS} | {
    "110": Target("110", TargetKind.EMERGENCY, "110")
}  # whom an agent may consult


class RefusingAmi(RecordingAmi):
    """Asterisk's answers as seen from a real one: `refuse` maps an action to its error."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: dict[str, str] = {}

    async def action(self, name: str, timeout: float = 5.0, **headers: str) -> dict[str, str]:
        await super().action(name, timeout, **headers)
        if name in self.refuse:
            raise AmiActionError(name, {"Response": "Error", "Message": self.refuse[name]})
        return {"Response": "Success"}


@dataclass
class Desk:
    service: DeskService
    ami: RefusingAmi
    tracker: CallTracker
    sessions: SessionFactory
    users: dict[str, int]  # extension → the CRM user working there

    async def run(self, name: str, ext: str, **args: Any) -> dict[str, Any]:
        table = verb_table(Collaborators(
            self.service, self.ami, self.tracker, DeskOrders(self.sessions, "SZ12345"),
            {e: [("hotline", 0)] for e in AGENTS}, "agents",
            CallControl(self.ami, self.tracker, TARGETS),
        ))  # fmt: skip
        return await table[name].handler(Request(ext, args, self.users[ext], "agent"))

    async def refused(self, name: str, ext: str, **args: Any) -> str:
        with pytest.raises(CommandFailed) as failed:
            await self.run(name, ext, **args)
        return failed.value.code

    async def answered(self, linkedid: str, ext: str) -> Call:
        """A call that rang `ext` and was answered there, as the tracker and the desk see it."""
        call = Call(linkedid, linkedid, f"PJSIP/carrier-{linkedid}", "13800001111", "李雷",
                    ARRIVED, CallState.RINGING, queue="hotline", queued_at=ARRIVED + 1,
                    ringing=(f"PJSIP/{ext}",))  # fmt: skip
        agent = (linkedid, linkedid, call.channel, "hotline", f"PJSIP/{ext}", AGENTS[ext],
                 f"PJSIP/{ext}-1")  # fmt: skip
        await self.service.on_call(CallChanged(call, CallState.QUEUED, AgentRinging(3.0, *agent)))
        talking = replace(
            call, state=CallState.TALKING, ringing=(), answered_at=ARRIVED + 5,
            agent_interface=f"PJSIP/{ext}", agent_channel=f"PJSIP/{ext}-1",
        )  # fmt: skip
        self.tracker.calls[linkedid] = talking
        await self.service.on_call(
            CallChanged(talking, CallState.RINGING, AgentAnswered(4.0, *agent, 1, 1))
        )
        return talking

    async def ended(self, call: Call) -> None:
        """The caller hung up: the agent who answered wraps the call up."""
        ended = replace(call, state=CallState.ENDED, ended_at=ARRIVED + 60)
        self.tracker.calls.pop(call.linkedid)
        self.tracker.ended[call.linkedid] = ended
        hangup = ChannelHungUp(9.0, call.linkedid, call.linkedid, call.channel, 16, "Normal")
        await self.service.on_call(CallChanged(ended, CallState.TALKING, hangup))

    def state(self, ext: str) -> PresenceState:
        return self.service.presences[ext].state


@pytest.fixture
async def desk(redis: Redis, database_url: str) -> AsyncIterator[Desk]:  # noqa: F811
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    users = {}
    async with sessions() as session, session.begin():
        for ext, name in AGENTS.items():
            user, _ = await create_user(session, name, Role.AGENT, None, agent_extension=ext)
            users[ext] = user.id
    tracker, ami = CallTracker(), RefusingAmi()
    service = DeskService(Bus(redis), redis, ami, tracker, AGENTS, ["hotline"], _no_history,
                          max_wrapup_s=600)  # fmt: skip
    async with service:
        for ext in AGENTS:
            await service.apply_command_input(ext, LoggedIn())
        yield Desk(service, ami, tracker, sessions, users)
    await engine.dispose()


async def _record(desk: Desk, linkedid: str) -> CallRecord | None:
    async with desk.sessions() as session:
        return await session.get(CallRecord, linkedid)


async def _events(desk: Desk, linkedid: str) -> list[CallEvent]:
    async with desk.sessions() as session:
        found = await session.scalars(
            select(CallEvent).where(CallEvent.linkedid == linkedid).order_by(CallEvent.id)
        )
        return list(found)


async def test_only_the_answering_agent_disposes_and_the_wrap_up_waits_for_it(desk: Desk) -> None:
    call = await desk.answered("1764590000.1", "1001")
    await desk.ended(call)
    assert desk.state("1001") is PresenceState.WRAP_UP

    # Another agent cannot dispose of it, nor of a call nobody knows.
    assert await desk.refused("dispose", "1002", call_id=call.linkedid,
                              disposition="test") == "not_your_call"  # fmt: skip
    assert await desk.refused("dispose", "1002", call_id="1764590000.99",
                              disposition="test") == "no_call"  # fmt: skip
    assert await _record(desk, call.linkedid) is None

    # No outcome yet: the agent stays in wrap-up.
    assert await desk.refused("wrapup_done", "1001") == "outcome_required"
    assert desk.state("1001") is PresenceState.WRAP_UP

    result = await desk.run("dispose", "1001", call_id=call.linkedid,
                            disposition="wrong_number", note="找供电局\n已告知号码")  # fmt: skip
    assert result == {"call_id": call.linkedid, "disposition": "wrong_number",
                      "label": "打错电话"}  # fmt: skip
    assert await desk.run("wrapup_done", "1001") == {}
    assert desk.state("1001") is PresenceState.AVAILABLE

    # Stored: the minimal record the call log fills in later (nothing claimed it doesn't know).
    record = await _record(desk, call.linkedid)
    assert record is not None
    assert (record.disposition, record.disposition_note) == (
        Disposition.WRONG_NUMBER,
        "找供电局\n已告知号码",
    )
    assert record.disposed_by == desk.users["1001"] and record.disposed_at is not None
    assert record.started_at == datetime(2025, 12, 1, 11, 53, 20)  # the tracker's arrival
    assert record.outcome is CallOutcome.IN_PROGRESS
    assert (record.caller_number, record.agent_extension, record.answered_at) == ("", "", None)
    events = await _events(desk, call.linkedid)
    assert [(e.kind, e.agent, e.detail) for e in events] == [
        (CallEventKind.DISPOSED, "1001", {"disposition": "wrong_number", "by": desk.users["1001"]})
    ]


async def test_an_order_is_the_outcome_and_refuses_a_disposition(desk: Desk) -> None:
    call = await desk.answered("1764590000.2", "1002")
    saved = await desk.run("save_order", "1002", order={**ORDER, "call_id": call.linkedid})
    await desk.ended(call)
    assert await desk.refused("dispose", "1002", call_id=call.linkedid,
                              disposition="answered_at_once") == "has_order"  # fmt: skip
    assert await desk.run("wrapup_done", "1002") == {}
    assert desk.state("1002") is PresenceState.AVAILABLE
    assert saved["call_id"] == call.linkedid
    record = await _record(desk, call.linkedid)
    assert record is None or record.disposition is None


async def test_disposing_of_an_existing_record_keeps_what_the_call_log_wrote(desk: Desk) -> None:
    call = await desk.answered("1764590000.3", "1001")
    async with desk.sessions() as session, session.begin():
        session.add(CallRecord(
            linkedid=call.linkedid, caller_number="13800001111", started_at=datetime(2025, 12, 1),
            agent_extension="1001", outcome=CallOutcome.ANSWERED, updated_at=datetime(2025, 12, 1),
        ))  # fmt: skip
    await desk.run("dispose", "1001", call_id=call.linkedid, disposition="silent")
    await desk.run("dispose", "1001", call_id=call.linkedid, disposition="nuisance")  # changed
    record = await _record(desk, call.linkedid)
    assert record is not None and record.disposition is Disposition.NUISANCE
    assert (record.caller_number, record.agent_extension, record.outcome) == (
        "13800001111",
        "1001",
        CallOutcome.ANSWERED,
    )
    assert record.started_at == datetime(2025, 12, 1)
    kinds = [e.detail["disposition"] for e in await _events(desk, call.linkedid)]
    assert kinds == ["silent", "nuisance"]


async def test_a_recording_pause_is_muted_in_asterisk_and_recorded_once(desk: Desk) -> None:
    call = await desk.answered("1764590000.4", "1001")
    assert await desk.refused("recording_pause", "1002", call_id=call.linkedid) == "not_your_call"
    assert await desk.refused("recording_resume", "1001", call_id=call.linkedid) == "not_paused"
    assert not [name for name, _ in desk.ami.actions if name == "MixMonitorMute"]

    first = await desk.run("recording_pause", "1001", call_id=call.linkedid)
    again = await desk.run("recording_pause", "1001", call_id=call.linkedid)
    assert (first["changed"], again["changed"]) == (True, False)
    assert desk.service.recording_paused == {call.linkedid}
    resumed = await desk.run("recording_resume", "1001", call_id=call.linkedid)
    assert resumed == {"call_id": call.linkedid, "recording_paused": False, "changed": True}
    mutes = [h for name, h in desk.ami.actions if name == "MixMonitorMute"]
    caller = {"Channel": call.channel, "Direction": "both"}
    assert mutes == [{**caller, "State": "1"}, {**caller, "State": "1"}, {**caller, "State": "0"}]
    kinds = [e.kind for e in await _events(desk, call.linkedid)]
    assert kinds == [CallEventKind.RECORDING_PAUSED, CallEventKind.RECORDING_RESUMED]

    await desk.ended(call)
    assert await desk.refused("recording_pause", "1001", call_id=call.linkedid) == "no_call"


async def test_no_recording_or_a_lost_write_leaves_the_recording_unpaused(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = await desk.answered("1764590000.5", "1001")
    desk.ami.refuse["MixMonitorMute"] = "Cannot set mute flag"  # Asterisk: no MixMonitor there
    assert await desk.refused("recording_pause", "1001", call_id=call.linkedid) == "no_recording"
    desk.ami.refuse.clear()

    async def database_down(*args: object, **kwargs: object) -> bool:
        raise ConnectionError("database down")

    monkeypatch.setattr(DeskOrders, "record_recording_pause", database_down)
    with pytest.raises(ConnectionError):
        await desk.run("recording_pause", "1001", call_id=call.linkedid)
    # Muted, then unmuted again since the pause could not be recorded on the call.
    states = [h["State"] for name, h in desk.ami.actions if name == "MixMonitorMute"]
    assert states == ["1", "1", "0"]
    assert desk.service.recording_paused == set()
    assert await _events(desk, call.linkedid) == []


async def test_a_backend_restarted_mid_pause_shows_the_recording_paused(
    desk: Desk, redis: Redis
) -> None:
    """Asterisk keeps the recording muted across a backend restart: the new backend's desk,
    finding the call talking at its re-sync, reads the pause back from the call's events."""
    call = await desk.answered("1764590000.6", "1001")
    await desk.run("recording_pause", "1001", call_id=call.linkedid)
    orders = DeskOrders(desk.sessions, "SZ12345")
    restarted = DeskService(Bus(redis), redis, RefusingAmi(), desk.tracker, AGENTS, ["hotline"],
                            _no_history, load_recording_paused=orders.recording_paused)  # fmt: skip
    async with restarted:
        await restarted.on_call(CallChanged(call, None, None))  # what the re-sync found
        deadline = asyncio.get_running_loop().time() + 5
        while not restarted.recording_paused:
            assert asyncio.get_running_loop().time() < deadline, "the pause was not read back"
            await asyncio.sleep(0.02)
        await restarted.writer.drained()
        mirrored = json.loads(await redis.hget(CALLS_KEY, call.linkedid) or "{}")
        assert mirrored["recording_paused"] is True
        # A call that is still talking but was never paused stays unpaused.
        other = await desk.answered("1764590000.7", "1002")
        await restarted.on_call(CallChanged(other, None, None))
        await asyncio.gather(*restarted._background)  # its CRM lookup is done
        assert restarted.recording_paused == {call.linkedid}


async def test_a_record_the_call_log_writes_meanwhile_wins(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call log's writer inserts the record between the desk's read and its insert: the
    desk's minimal insert loses (in its savepoint) and the writer's record is disposed."""
    linkedid = "1764590000.8"
    async with desk.sessions() as session, session.begin():
        session.add(CallRecord(linkedid=linkedid, caller_number="13800002222",
                               started_at=datetime(2025, 12, 1), outcome=CallOutcome.ANSWERED,
                               updated_at=datetime(2025, 12, 1)))  # fmt: skip
    async with desk.sessions() as session, session.begin():
        real_get = session.get
        calls = 0

        async def get_missing_once(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return None if calls == 1 else await real_get(*args, **kwargs)

        monkeypatch.setattr(session, "get", get_missing_once)
        record = await ensure_call_record(session, linkedid, datetime(2025, 12, 2))
        assert calls == 2
        assert (record.caller_number, record.outcome) == ("13800002222", CallOutcome.ANSWERED)
        record.disposition = Disposition.TEST
    stored = await _record(desk, linkedid)
    assert stored is not None and stored.disposition is Disposition.TEST
    assert stored.started_at == datetime(2025, 12, 1)
