"""Recordings checked and attached, with a real Asterisk and SIPp: the file MixMonitor wrote,
hashed here independently, is what the recording row says and what the order carries; on a
full disk calls are still answered, the recording is MISSING/TRUNCATED and /health alarms.

The recordings directory is a small tmpfs of its own (mounted here; we run as root), so the
disk can really run full. The PENDING rows come from `tests.support.call_rows`, a stand-in
for the call-log writer."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import string
import subprocess
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from sqlalchemy import select

from agent_gateway.desk.orders import DeskOrders
from crm.db.call_models import Recording
from crm.db.models import AuditEntry, OrderCall, Unit, User
from crm.domain.calls import RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.enums import Role, UnitKind
from crm.usecases.users import add_user
from hotline_cli.demo.sipp import SCENARIOS, CallerResult, run_uac
from recordings.store import FileState, RecordingStore
from telephony.call import Call, CallState
from tests.e2e.harness import Centre, crm_user, post_order, running_centre
from tests.support.call_rows import recording_id_of_call

MIN_FREE_MB = 6
T = TypeVar("T")
SPEECH = Path("/usr/share/sip-tester/g711a.pcap")  # 7 s of A-law speech, shipped with SIPp
DTMF_1 = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")


async def speaking_caller(
    centre: Centre, name: str, number: str, hangup_after_ms: int
) -> CallerResult:
    """A caller who chooses 1, waits to be answered, then speaks (A-law RTP, so MixMonitor has
    audio to write), and hangs up `hangup_after_ms` after starting to speak."""
    caller = (SCENARIOS / "caller.xml").read_text(encoding="utf-8")
    caller = caller.replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace(
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"
    )
    actions = (
        '  <pause milliseconds="600"/>\n'
        f'  <nop><action><exec play_pcap_audio="{DTMF_1}"/></action></nop>\n'
        '  <pause milliseconds="3000"/>\n'
        f'  <nop><action><exec play_pcap_audio="{SPEECH}"/></action></nop>'
    )
    # every placeholder filled (substitute raises for one left: SIPp would send it as it is)
    caller = string.Template(caller).substitute(
        dtmf=actions, hangup_after_ms=hangup_after_ms, bye_cseq=2
    )
    workdir = centre.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / f"speaking-{number}.xml"
    scenario.write_text(caller, encoding="utf-8")
    injection = workdir / f"speaking-{number}.csv"
    injection.write_text(f"SEQUENTIAL\n{name};{number};\n", encoding="utf-8")
    s = centre.hotline.settings
    return await run_uac(
        workdir, scenario, workdir / f"speaking-{number}.err", target=f"{s.sip.host}:{s.sip.port}",
        service=s.centre.inbound_number, source_ip=s.carrier.match, timeout_s=60,
        extra_args=["-inf", str(injection)],
    )  # fmt: skip


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    state = tmp_path_factory.mktemp("centre")
    disk = state / "recordings"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)]
    await asyncio.to_thread(subprocess.run, mount, check=True)
    try:
        settings = {"dir": str(disk), "min_free_mb": MIN_FREE_MB, "check_interval_s": 0.5}
        async with running_centre(state, recordings=settings) as centre:
            yield centre
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "-l", str(disk)], check=True)


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout_s: float = 40) -> T:
    async with asyncio.timeout(timeout_s):
        while (found := await probe()) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        return found


async def recording_row(centre: Centre, recording_id: int) -> Recording:
    async with centre.hotline.sessions() as session:
        row = await session.get(Recording, recording_id)
        assert row is not None
        return row


async def settled(centre: Centre, recording_id: int) -> Recording:
    async def probe() -> Recording | None:
        row = await recording_row(centre, recording_id)
        return None if row.status is RecordingStatus.PENDING else row

    return await eventually(probe)


async def order_for(centre: Centre, token: str, linkedid: str, recording: str) -> int:
    """A consultation order registered over the API for the call; its id."""
    http = centre.hotline.settings.http
    order = {
        "order_type": "consultation", "text": "咨询录音测试",
        "calls": [{"linkedid": linkedid, "recording": recording}],
    }  # fmt: skip
    return int((await post_order(f"http://{http.host}:{http.port}", token, order))["id"])


async def attached_entries(centre: Centre, order_id: int) -> list[dict[str, Any]]:
    async with centre.hotline.sessions() as session:
        entries = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.order_id == order_id, AuditEntry.action == "recording_attached"
            )
        )
        return [e.detail for e in entries]


async def order_recording(centre: Centre, order_id: int) -> str:
    async with centre.hotline.sessions() as session:
        query = select(OrderCall.recording).where(OrderCall.order_id == order_id)
        found = await session.scalar(query)
        assert found is not None
        return found


async def health(centre: Centre) -> dict[str, Any]:
    http = centre.hotline.settings.http
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://{http.host}:{http.port}/health") as response,
    ):
        body: dict[str, Any] = await response.json()
        return body


async def talking(centre: Centre, number: str) -> Call:
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
    )
    return effect.call


async def handler_of_another_unit(centre: Centre) -> str:
    """A department handler whose unit has nothing to do with the test's orders; its token."""
    async with centre.hotline.sessions() as session, session.begin():
        unit = Unit(code="E2E-WATER", name="市水务局(录音测试)", kind=UnitKind.DEPARTMENT)
        session.add(unit)
        await session.flush()
        _, token = await add_user(session, None, utc_now(), "水务处理员", Role.HANDLER, unit.id)
    return token


async def audio(centre: Centre, token: str, recording_id: int, span: str) -> tuple[int, bytes]:
    """The recording's bytes in `span` (an HTTP Range) as `token`'s user gets them."""
    http = centre.hotline.settings.http
    url = f"http://{http.host}:{http.port}/api/recordings/{recording_id}/audio"
    headers = {"Authorization": f"Bearer {token}", "Range": span}
    async with aiohttp.ClientSession() as client, client.get(url, headers=headers) as response:
        return response.status, await response.read()


def on_disk(centre: Centre, name: str) -> Path:
    return centre.hotline.settings.recordings_dir / name


async def test_answered_call_recording_is_checked_and_attached_to_an_order_saved_before(
    centre: Centre,
) -> None:
    number = "13900001001"
    token = await crm_user(centre, "录音受理员", Role.AGENT)
    calling = asyncio.create_task(speaking_caller(centre, "张录音", number, 5000))
    up = await talking(centre, number)
    order_id = await order_for(centre, token, up.linkedid, "")  # saved while the call is up
    store = RecordingStore(centre.hotline.settings.recordings_dir)
    await asyncio.sleep(5)  # seconds of conversation written
    mid_call = await store.check(up.recording)
    # Asterisk writes the header's sizes only when it closes the file
    assert mid_call.state is FileState.UNFINISHED, mid_call

    result = await asyncio.wait_for(calling, 60)
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    recording_id = await recording_id_of_call(centre.hotline.sessions, call.linkedid)

    row = await settled(centre, recording_id)
    data = on_disk(centre, call.recording).read_bytes()
    with wave.open(str(on_disk(centre, call.recording))) as w:
        seconds = w.getnframes() / w.getframerate()
    assert row.status is RecordingStatus.ATTACHED, row.problem
    assert row.sha256 == row.source_sha256 == hashlib.sha256(data).hexdigest()
    assert row.size_bytes == len(data)
    assert row.duration_s == pytest.approx(seconds, abs=0.01)
    assert call.talk_time_s is not None and 3.0 < seconds < call.talk_time_s + 0.5
    assert row.checked_at is not None

    assert await order_recording(centre, order_id) == call.recording  # filled in
    (entry,) = await attached_entries(centre, order_id)
    assert entry["recording_id"] == recording_id and entry["sha256"] == row.sha256
    assert entry["path"] == call.recording

    # Served over HTTP as Asterisk wrote it: the bytes asked for, and only to those allowed.
    supervisor = await crm_user(centre, "录音质检员", Role.SUPERVISOR)
    assert await audio(centre, supervisor, recording_id, "bytes=100-199") == (206, data[100:200])
    past_the_end, _ = await audio(centre, supervisor, recording_id, f"bytes={len(data)}-")
    assert past_the_end == 416
    status, _ = await audio(centre, await handler_of_another_unit(centre), recording_id, "bytes=0-")
    assert status == 403


async def test_an_order_saved_after_the_check_gets_the_recording_once(centre: Centre) -> None:
    number = "13900001002"
    token = await crm_user(centre, "录音受理员二", Role.AGENT)
    result = await speaking_caller(centre, "李录音", number, 3000)
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    recording_id = await recording_id_of_call(centre.hotline.sessions, call.linkedid)
    row = await settled(centre, recording_id)
    assert row.status is RecordingStatus.ATTACHED, row.problem

    order_id = await order_for(centre, token, call.linkedid, call.recording)
    centre.hotline.recordings.wake()  # another round must not attach it again
    await asyncio.sleep(1.5)
    (entry,) = await attached_entries(centre, order_id)
    assert entry["recording_id"] == recording_id
    data = on_disk(centre, call.recording).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert await order_recording(centre, order_id) == call.recording


async def test_an_order_saved_at_the_desk_after_the_check_carries_the_recording(
    centre: Centre,
) -> None:
    """The desk's own adapter (what its save_order verb calls), with the call as the tracker
    holds it."""
    number = "13900001004"
    await crm_user(centre, "录音坐席", Role.AGENT)
    async with centre.hotline.sessions() as session:
        user_id = await session.scalar(select(User.id).where(User.name == "录音坐席"))
    assert user_id is not None
    result = await speaking_caller(centre, "赵录音", number, 3000)
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    recording_id = await recording_id_of_call(centre.hotline.sessions, call.linkedid)
    row = await settled(centre, recording_id)
    assert row.status is RecordingStatus.ATTACHED, row.problem

    desk = DeskOrders(centre.hotline.sessions, centre.hotline.settings.centre.code)
    form = {"order_type": "help", "text": "求助：路灯不亮"}
    saved = await desk.save(user_id, "agent", form, call)
    await desk.save(user_id, "agent", {**form, "location": "人民路"}, call)  # amended
    (entry,) = await attached_entries(centre, saved["order_id"])
    assert entry["recording_id"] == recording_id
    data = on_disk(centre, call.recording).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["path"] == call.recording
    assert await order_recording(centre, saved["order_id"]) == call.recording


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(data)


def fill(disk: Path) -> Path:
    """Write until the file system is full; the filler file."""
    filler = disk / "filler.bin"
    block = b"\0" * (1 << 16)
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while out.write(block):
            pass
    return filler


async def test_a_full_disk_alarms_while_calls_are_still_answered(centre: Centre) -> None:
    disk = centre.hotline.settings.recordings_dir
    filler = fill(disk)
    assert os.statvfs(disk).f_bavail == 0
    try:

        async def alarmed() -> dict[str, Any] | None:
            body = await health(centre)
            return body if "recordings_disk_low" in body["alarms"] else None

        body = await eventually(alarmed, 20)
        assert body["ami_connected"] is True

        number = "13900001003"
        result = await speaking_caller(centre, "王满盘", number, 4000)
        assert result.ok, result.errors
        call = await centre.log.wait_ended(number)
        assert call.answered_at is not None and call.agent_interface  # still answered
        token = await crm_user(centre, "满盘受理员", Role.AGENT)
        order_id = await order_for(centre, token, call.linkedid, "")  # orders still saved
        recording_id = await recording_id_of_call(centre.hotline.sessions, call.linkedid)
        row = await settled(centre, recording_id)
        assert row.status in {RecordingStatus.MISSING, RecordingStatus.TRUNCATED}, row
        assert row.problem and row.checked_at is not None
        assert row.linkedid == call.linkedid  # the call and its recording's row are kept
        assert await attached_entries(centre, order_id) == []  # nothing bad attached
        assert await order_recording(centre, order_id) == ""
    finally:
        filler.unlink()

    async def cleared() -> dict[str, Any] | None:
        body = await health(centre)
        return None if "recordings_disk_low" in body["alarms"] else body

    await eventually(cleared, 20)


async def test_an_altered_recording_is_reported(centre: Centre) -> None:
    """The checker re-verifies once a day; here its next verification is forced by making the
    recording look verified long ago."""
    number = "13900001005"
    result = await speaking_caller(centre, "钱录音", number, 3000)
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    recording_id = await recording_id_of_call(centre.hotline.sessions, call.linkedid)
    assert (await settled(centre, recording_id)).status is RecordingStatus.ATTACHED
    path = on_disk(centre, call.recording)
    await asyncio.to_thread(overwrite, path, 100, b"\x7f\x7f")  # same size, same header
    async with centre.hotline.sessions() as session, session.begin():
        stored = await session.get(Recording, recording_id)
        assert stored is not None
        stored.verified_at = datetime(2000, 1, 1)
    centre.hotline.recordings.wake()

    async def altered() -> Recording | None:
        found = await recording_row(centre, recording_id)
        return found if found.status is RecordingStatus.ALTERED else None

    found = await eventually(altered, 20)
    assert hashlib.sha256(path.read_bytes()).hexdigest() not in found.sha256
    body = await eventually(lambda: _with_alarm(centre, "recordings_altered"), 10)
    assert body["alarms"]["recordings_altered"].startswith("1 ")


async def _with_alarm(centre: Centre, name: str) -> dict[str, Any] | None:
    body = await health(centre)
    return body if name in body["alarms"] else None
