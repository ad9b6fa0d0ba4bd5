"""24/7 on the real Asterisk with SIPp callers (issue 15): outside the working hours (set live
so that now is outside) a call rings the duty group's phone, not the queue; hours changed
live take effect for the next call; with every agent logged out a caller is never dropped:
the message they leave (SIPp sends a tone) is recorded, becomes a work order with the file
attached as the call's recording (checked, playable), or their callback key is an order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import Settings
from crm.db.call_models import Recording
from crm.db.models import OrderCall, WorkOrder
from crm.domain.calls import RecordingStatus
from crm.domain.clock import CHINA_TZ
from crm.usecases.caller_message import CALLBACK_TEXT, MESSAGE_TEXT
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, CallerResult, DtmfVia, Press
from telephony.actions import remove_queue_member
from telephony.dialplan import DUTY_QUEUE, NOBODY_CALLBACK, VAR_NOBODY
from telephony.reload_plan import Reload
from tests.e2e.control_support import channels
from tests.e2e.harness import Centre, running_centre
from tests.e2e.test_recording_audio import ami_events
from tests.support.audio import CALLER_HZ, read_wav, tone_pcap, tone_share, windows
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

DUTY = "1002"  # an agent's phone that is also the duty group's
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("duty")) as centre:
        yield centre


@pytest.fixture(scope="module")
def speaking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone_pcap(tmp_path_factory.mktemp("duty-audio") / "caller.pcap", CALLER_HZ, 20)


def with_hours(old: Settings, hours: dict[str, Any]) -> Settings:
    return Settings.model_validate(old.model_dump() | {"hours": hours})


def hours_outside_now() -> dict[str, Any]:
    """Every day open one hour that is not the current one (China's time), the duty group set."""
    hour = (datetime.now(CHINA_TZ) + timedelta(hours=6)).hour
    ranges = [{"start": f"{hour:02}:00", "end": f"{hour:02}:59"}]
    return {"weekly": dict.fromkeys(DAYS, ranges), "duty_group": {"extensions": [DUTY]}}


def calling(centre: Centre, number: str, plan: CallerPlan) -> asyncio.Task[CallerResult]:
    return asyncio.create_task(centre.call([CallerIdentity("市民", number)], plan))


@asynccontextmanager
async def nobody_logged_in(centre: Centre) -> AsyncIterator[None]:
    """Every agent out of every queue (as after QueueRemove at the desk), back in after."""
    hotline = centre.hotline
    for ext, serving in hotline.settings.agent_queues().items():
        for queue, _penalty in serving:
            await remove_queue_member(hotline.ami, queue, ext)
    try:
        yield
    finally:
        await hotline.staff_queues()


async def order_of(centre: Centre, linkedid: str, timeout: float = 30) -> tuple[WorkOrder, str]:
    """The order registered for the call, and the recording its call entry names."""
    found: tuple[WorkOrder, str] | None = None

    async def registered() -> bool:
        nonlocal found
        async with centre.hotline.sessions() as session:
            row = (await session.execute(
                select(WorkOrder, OrderCall.recording).join(OrderCall,
                OrderCall.order_id == WorkOrder.id).where(OrderCall.linkedid == linkedid)
            )).first()  # fmt: skip
        found = None if row is None else (row[0], row[1])
        return found is not None

    await eventually(registered, timeout, f"an order of call {linkedid}")
    assert found is not None
    return found


async def test_after_hours_rings_the_duty_phone_and_hours_changed_live_count_next_call(
    centre: Centre,
) -> None:
    hotline = centre.hotline
    change = await hotline.apply_settings(with_hours(hotline.settings, hours_outside_now()))
    assert Reload.QUEUE_MEMBERS in change.reloads  # the duty phone joined its queue live
    assert DUTY_QUEUE in hotline.desk.queues  # its figures on the desk and the wall
    assert DUTY_QUEUE not in hotline.desk.members[DUTY]  # a duty phone is no login
    number = "13900001501"
    task = calling(centre, number, CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=9000))
    talking = await centre.log.wait_talking(number, timeout=30)
    # the desk and the wall see the call in the duty queue, answered by the duty phone
    assert talking.queue == DUTY_QUEUE and talking.agent_interface == f"PJSIP/{DUTY}"
    assert talking.ivr_label == "consult"  # the caller's choice is kept all the same

    async def duty_bridged() -> bool:  # as Asterisk has it
        listed = await channels(centre)
        bridge = listed.get(talking.channel, {}).get("BridgeId")
        return bool(bridge) and any(
            name.startswith(f"PJSIP/{DUTY}-") and c.get("BridgeId") == bridge
            for name, c in listed.items()
        )

    await eventually(duty_bridged, 10, "the after-hours caller bridged with the duty phone")
    assert (await task).ok

    # in hours again (around the clock): the next call queues and an agent answers
    await hotline.apply_settings(with_hours(hotline.settings, {}))
    assert DUTY_QUEUE not in hotline.desk.queues
    number = "13900001502"
    task = calling(centre, number, CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=5000))
    talking = await centre.log.wait_talking(number)
    assert talking.queue == "hotline" and talking.answered_at is not None
    assert (await task).ok


async def test_nobody_logged_in_the_caller_leaves_a_message_that_becomes_an_order(
    centre: Centre, speaking: Path
) -> None:
    number = "13900001503"
    plan = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=11_000, audio=speaking)
    async with nobody_logged_in(centre):
        result = await centre.call([CallerIdentity("留言人", number)], plan)
        assert result.ok, result.errors
        call = await centre.log.wait_ended(number)
        order, recording = await order_of(centre, call.linkedid)
    assert order.caller_number == number and order.text == MESSAGE_TEXT
    assert order.channel == "phone"
    assert recording == f"{datetime.now().strftime('%Y%m%d')}/{call.uniqueid}.wav"
    assert call.queued_at is None, "queued with nobody logged in"

    async def checked() -> bool:
        async with centre.hotline.sessions() as session:
            row = await session.scalar(select(Recording).where(Recording.linkedid == call.linkedid))
        return row is not None and row.status is RecordingStatus.ATTACHED

    await eventually(checked, 30, "the message checked and attached (playable)")
    audio = read_wav(centre.hotline.settings.recordings_dir / recording)
    assert audio.duration_s >= 2, audio.duration_s  # seconds of message, not a stub
    assert tone_share(windows(audio), CALLER_HZ) >= 0.8, "the caller is not heard in it"


async def test_after_hours_with_no_duty_group_the_callback_key_stores_a_callback_order(
    centre: Centre,
) -> None:
    hotline = centre.hotline
    hours = {**hours_outside_now(), "duty_group": {}}  # agents logged in, but not on duty
    await hotline.apply_settings(with_hours(hotline.settings, hours))
    number = "13900001504"
    plan = CallerPlan(
        dtmf="1", dtmf_after_ms=300, hangup_after_ms=12_000,
        then=(Press("1", 6000, DtmfVia.INFO),),  # after the after-hours words, in the next
    )  # fmt: skip
    try:
        async with ami_events(centre) as events:
            result = await centre.call([CallerIdentity("回电人", number)], plan)
            assert result.ok, result.errors
            call = await centre.log.wait_ended(number)
            order, recording = await order_of(centre, call.linkedid)
    finally:
        await hotline.apply_settings(with_hours(hotline.settings, {}))
    assert call.queue == DUTY_QUEUE and call.queued_at is None and call.answered_at is None
    assert order.caller_number == number and order.text == CALLBACK_TEXT
    assert recording == ""
    said = [e.get("Value") for e in events
            if e.get("Event") == "VarSet" and e.get("Variable") == VAR_NOBODY]  # fmt: skip
    assert said[-1:] == [NOBODY_CALLBACK], said
