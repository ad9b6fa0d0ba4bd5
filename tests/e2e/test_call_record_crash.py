"""SIGKILL the backend while a recorded call is up (talking), restart it, let the call end:
the call is on record, answered, with its end and talk time, and its recording — checked and
attached to the order saved for the call before the kill. And when the caller hangs up while
the backend is down, the restarted one ends the record and attaches the recording all the same.
And a call waiting in the queue when the backend is killed, answered after the restart: its
recording's name comes from Asterisk (the re-sync asks), its row is stored and attached (the
agent hangs up a few seconds into the talk, as the desktop's 挂断 does, so the caller need not
be told in advance how long the restart will take).

What the test reads is the CRM database the backend writes (SQLite in its state directory)
and the recording file Asterisk wrote, not the backend's own events.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import load_settings
from crm.db.call_models import CallRecord, Recording
from crm.db.engine import create_engine, session_factory
from crm.db.models import AuditEntry
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.usecases.call_records import LOST_REASON
from crm.usecases.users import add_user
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.ami import AmiClient
from tests.e2e.harness import backend_config, backend_process, post_order, stop_backends
from tests.support.audio import CALLER_HZ, tone_pcap

NUMBER = "13988887777"
HANG_UP_AFTER_S = 12.0
QUEUED_CALL_S = 45.0  # at most: IVR, the wait through the kill and restart, then talk
QUEUED_TALK_S = 3.0  # the agent hangs up this long after the order is saved


async def _record_when(
    db: Path, ok: Callable[[CallRecord], bool], timeout: float = 60
) -> tuple[CallRecord, list[Recording]]:
    """The caller's record once `ok` holds, read from the backend's database file."""
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with asyncio.timeout(timeout):
            while True:
                with contextlib.suppress(Exception):  # not created or migrated yet
                    async with session_factory(engine)() as session:
                        record = await session.scalar(
                            select(CallRecord).where(CallRecord.caller_number == NUMBER)
                        )
                        if record is not None and ok(record):
                            parts = await session.scalars(
                                select(Recording).where(Recording.linkedid == record.linkedid)
                            )
                            return record, list(parts)
                await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def _order_for_call(db: Path, http_port: int, linkedid: str) -> int:
    """An order registered over the API for the call (a call taker's), before the crash."""
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with session_factory(engine)() as session, session.begin():
            _, token = await add_user(session, None, utc_now(), "崩溃受理员", Role.AGENT, None)
    finally:
        await engine.dispose()
    order = {
        "order_type": "consultation",
        "text": "咨询：崩溃前登记",
        "calls": [{"linkedid": linkedid}],
    }
    return int((await post_order(f"http://127.0.0.1:{http_port}", token, order))["id"])


async def _attached(
    db: Path, order_id: int, timeout: float = 60
) -> tuple[Recording, dict[str, Any]]:
    """The order's recording once checked and attached, with the order's audit entry of it."""
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with session_factory(engine)() as session:
                    entry = await session.scalar(
                        select(AuditEntry).where(
                            AuditEntry.order_id == order_id,
                            AuditEntry.action == "recording_attached",
                        )
                    )
                    if entry is not None:
                        row = await session.get(Recording, entry.detail["recording_id"])
                        assert row is not None
                        return row, entry.detail
                await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


def _one_agent_backend(tmp_path: Path) -> tuple[int, Path, int, int]:
    """A backend's settings file with agent 1001 on a free phone port: that port, the file,
    and the SIP and HTTP ports the file gives the backend."""
    phone_port = free_udp_port()
    config = backend_config(tmp_path, [("1001", "王芳", phone_port)])
    text = config.read_text(encoding="utf-8")
    sip = int(text.split("[sip]\nport = ")[1].split()[0])
    http_port = int(text.split("[http]\nport = ")[1].split()[0])
    return phone_port, config, sip, http_port


async def _agent_hangs_up(config: Path, extension: str) -> None:
    """Asterisk hangs up the agent's leg (AMI `Hangup`, as the desktop's hang-up button)."""
    ami = load_settings(config).ami
    client = AmiClient(host=ami.host, port=ami.port, username=ami.username,
                       secret=ami.secret.get_secret_value())  # fmt: skip
    async with client:
        await client.wait_connected(10)
        # A /regex/ channel: Asterisk hangs up every channel that matches, one event each
        hung_up = await client.action_list("Hangup", Channel=f"/^PJSIP/{extension}-/", Cause="16")
        assert len(hung_up) == 1, hung_up


@pytest.mark.parametrize("ends_while_down", [False, True], ids=["continued", "ended-unseen"])
async def test_a_call_up_when_the_backend_is_killed_is_on_record(
    tmp_path: Path, ends_while_down: bool
) -> None:
    hang_up_after_s = 5.0 if ends_while_down else HANG_UP_AFTER_S
    phone_port, config, sip, http_port = _one_agent_backend(tmp_path)
    voice = tone_pcap(tmp_path / "caller.pcap", CALLER_HZ, hang_up_after_s)
    state = tmp_path / "state"
    db = state / "hotline.db"
    first = await backend_process(config)
    second: asyncio.subprocess.Process | None = None
    try:
        async with AgentPhone(tmp_path / "sipp", "127.0.0.1", phone_port, ring_ms=300):
            call = asyncio.create_task(place_calls(
                tmp_path / "sipp", target=f"127.0.0.1:{sip}", service="12345",
                callers=[CallerIdentity("吴九", NUMBER)],
                plan=CallerPlan(dtmf="0", dtmf_after_ms=500,
                                hangup_after_ms=int(hang_up_after_s * 1000), audio=voice),
            ))  # fmt: skip
            talking, parts = await _record_when(db, lambda r: r.answered_at is not None)
            assert talking.outcome is CallOutcome.IN_PROGRESS and len(parts) == 1
            order_id = await _order_for_call(db, http_port, talking.linkedid)
            first.kill()  # mid-call; Asterisk and Redis run on in their own sessions
            await first.wait()
            if ends_while_down:
                await call  # the caller hangs up while no backend runs
            second = await backend_process(config)
            result = await call
            assert result.ok, result.errors  # the caller talked on and hung up normally
            record, parts = await _record_when(
                db, lambda r: r.outcome is not CallOutcome.IN_PROGRESS
            )
            attached, entry = await _attached(db, order_id)  # by the restarted backend
    finally:
        await stop_backends(state, second, first)
    assert record.linkedid == talking.linkedid and record.outcome is CallOutcome.ANSWERED
    assert record.answered_at == talking.answered_at  # the revived call did not overwrite it
    assert record.caller_name == "吴九" and record.agent_extension == "1001"
    assert record.ended_at is not None and record.talk_s is not None
    if ends_while_down:  # ended at the re-sync that found it gone
        assert record.end_reason == LOST_REASON and record.talk_s > 0
    else:  # the caller keys its choice 0.5 s after the answer, speaks 0.5 s later and hangs
        # up 12 s after that; the IVR and the ring took some of that second
        assert record.end_reason == "hung up by caller"
        assert 6.0 < record.talk_s < HANG_UP_AFTER_S + 1.0
    (recording,) = parts
    day = talking.started_at.strftime("%Y%m%d")
    assert recording.path == f"{day}/{record.linkedid}.wav" and recording.part == 1
    file = state / "recordings" / recording.path  # Asterisk wrote it
    data = file.read_bytes()
    assert attached.id == recording.id and attached.status is RecordingStatus.ATTACHED
    assert attached.sha256 == entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert attached.size_bytes == len(data) and entry["path"] == recording.path
    assert attached.duration_s is not None and attached.duration_s > 3.0  # the conversation
    if not ends_while_down:  # the talk time is exact only when the backend saw the end
        assert abs(attached.duration_s - record.talk_s) < 1.0


@pytest.mark.timeout(240)  # two backend starts and a call that outlasts them, under load
async def test_a_call_queued_when_the_backend_is_killed_gets_its_recording(tmp_path: Path) -> None:
    phone_port, config, sip, http_port = _one_agent_backend(tmp_path)
    voice = tone_pcap(tmp_path / "caller.pcap", CALLER_HZ, QUEUED_CALL_S)
    state = tmp_path / "state"
    db = state / "hotline.db"
    first = await backend_process(config)
    second: asyncio.subprocess.Process | None = None
    try:
        # The agent's phone is not up yet: the caller waits in the queue, rung for nobody
        call = asyncio.create_task(place_calls(
            tmp_path / "sipp", target=f"127.0.0.1:{sip}", service="12345",
            callers=[CallerIdentity("吴九", NUMBER)],
            plan=CallerPlan(dtmf="0", dtmf_after_ms=500,
                            hangup_after_ms=int(QUEUED_CALL_S * 1000), audio=voice),
        ))  # fmt: skip
        queued, parts = await _record_when(db, lambda r: r.queued_at is not None)
        assert queued.answered_at is None and parts == []  # no row before an answer
        first.kill()  # the caller waits on; Asterisk and Redis run in their own sessions
        await first.wait()
        second = await backend_process(config)
        async with AgentPhone(tmp_path / "sipp", "127.0.0.1", phone_port, ring_ms=300):
            talking, parts = await _record_when(
                db, lambda r: r.answered_at is not None, timeout=QUEUED_CALL_S
            )
            order_id = await _order_for_call(db, http_port, talking.linkedid)
            await asyncio.sleep(QUEUED_TALK_S)  # a few seconds of conversation recorded
            await _agent_hangs_up(config, "1001")
            result = await call
            assert result.ok, result.errors  # the caller talked, and took the agent's BYE
            record, parts = await _record_when(
                db, lambda r: r.outcome is not CallOutcome.IN_PROGRESS
            )
            assert len(parts) == 1, parts  # the recording's row, stored when it was answered
            attached, entry = await _attached(db, order_id)
    finally:
        await stop_backends(state, second, first)
    assert record.linkedid == queued.linkedid and record.outcome is CallOutcome.ANSWERED
    assert record.agent_extension == "1001" and record.talk_s is not None
    (recording,) = parts
    # The name the dialplan gave it (YYYYMMDD/<caller's uniqueid = linkedid>.wav)
    day = queued.started_at.strftime("%Y%m%d")
    assert recording.path == f"{day}/{record.linkedid}.wav" and recording.part == 1
    data = (state / "recordings" / recording.path).read_bytes()  # Asterisk wrote it
    assert attached.id == recording.id and attached.status is RecordingStatus.ATTACHED
    assert attached.sha256 == entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert attached.size_bytes == len(data) and entry["path"] == recording.path
    assert attached.duration_s is not None and abs(attached.duration_s - record.talk_s) < 1.0
