"""Callback keeping the caller's place (回拨保留排队位置, issue 15): a caller who waited past
the threshold presses the key, hears the confirmation and leaves the line; a placeholder
takes its place in the queue (Asterisk's QueueEntry says so, ahead of the caller who queued
after it); when its turn comes the agent is connected first, then the citizen's number is
dialled through the outbound trunk (a SIPp phone there), the call recorded; the records say
callback requested (the caller's call) and reached (the callback's). A citizen who does not
answer is tried again, at the front, then the request ends failed; a key pressed before the
threshold keeps the caller where it was and places nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db.call_models import Recording
from crm.db.callback_models import QueueCallbackRow
from crm.domain.calls import CallOutcome
from crm.domain.queue_callback import CallbackState
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, Press
from telephony.call import Call, CallState
from tests.e2e.control_support import agent_desktop
from tests.e2e.harness import Centre, running_centre
from tests.e2e.ivr_support import AsteriskWitness, asterisk_witness
from tests.e2e.queue_support import ended_record
from tests.support.polling import eventually

CITIZEN = free_udp_port()  # the outbound trunk's primary: the citizen's phone
OFFER_AFTER_S = 6
RETRY_AFTER_S = 30  # the least the settings accept
LONG_MS = 120_000  # callers that hang up only when told (or when the test ends them)


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    outbound = {"primary": f"127.0.0.1:{CITIZEN}", "backup": f"127.0.0.1:{free_udp_port()}",
                "dial_timeout_s": 5, "qualify_s": 0, "caller_id": "12345"}  # fmt: skip
    callback = {"offer_after_s": OFFER_AFTER_S, "retry_after_s": RETRY_AFTER_S, "attempts": 2}
    state = tmp_path_factory.mktemp("queue-callback")
    # 1001 alone serves the hotline queue: the order of service is the queue's
    async with (
        running_centre(state, outbound=outbound, callback=callback, overflow_after_s=3600) as c,
        c.agents_paused("1002", reason="会议"),
    ):
        yield c


def caller(centre: Centre, number: str, plan: CallerPlan) -> asyncio.Task[object]:
    return asyncio.create_task(centre.call([CallerIdentity("市民", number)], plan, 180))


def queued(key_after_ms: int | None = None) -> CallerPlan:
    """Key 0 (the operator queue) at once; then the callback key `key_after_ms` later."""
    then = () if key_after_ms is None else (Press("1", key_after_ms),)
    return CallerPlan(dtmf="0", dtmf_after_ms=300, hangup_after_ms=LONG_MS, then=then)


async def call_of(centre: Centre, number: str, state: CallState) -> Call:
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is state, 40
    )
    return effect.call


async def entries(centre: Centre) -> list[tuple[int, str, str]]:
    """The hotline queue's callers as app_queue holds them: (position, channel, number)."""
    items = await centre.hotline.ami.action_list("QueueStatus", Queue="hotline")
    found = [(int(i["Position"]), i["Channel"], i.get("CallerIDNum", ""))
             for i in items if i.get("Event") == "QueueEntry"]  # fmt: skip
    return sorted(found)


async def stored_request(centre: Centre, linkedid: str) -> QueueCallbackRow | None:
    """The callback request of the call `linkedid`, None if none was stored."""
    async with centre.hotline.sessions() as session:
        return await session.scalar(
            select(QueueCallbackRow).where(QueueCallbackRow.linkedid == linkedid)
        )


async def request_of(centre: Centre, linkedid: str) -> QueueCallbackRow:
    async def stored() -> bool:
        return await stored_request(centre, linkedid) is not None

    await eventually(stored, 10, f"the callback request of {linkedid}")
    row = await stored_request(centre, linkedid)
    assert row is not None
    return row


async def back_at_its_place(witness: AsteriskWitness, uniqueid: str, what: str) -> None:
    """The caller left the queue on its key and joined it again at position 1."""

    def joins() -> list[dict[str, str]]:
        return [e for e in witness.events if e.get("Event") == "QueueCallerJoin"
                and e.get("Uniqueid") == uniqueid]  # fmt: skip

    async def back() -> bool:
        return len(joins()) >= 2

    await eventually(back, 30, what)
    assert joins()[1]["Position"] == "1", joins()
    left = [e for e in witness.events if e.get("Event") == "QueueCallerLeave"
            and e.get("Uniqueid") == uniqueid]  # fmt: skip
    assert left and left[0]["Position"] == "1", left


async def end_all(centre: Centre, channels: list[str], runs: list[asyncio.Task[object]]) -> None:
    for channel in channels:
        await hang_up(centre, channel)
    for run in runs:
        await asyncio.wait_for(run, 30)


async def request_state(centre: Centre, request_id: int) -> QueueCallbackRow:
    async with centre.hotline.sessions() as session:
        row = await session.get(QueueCallbackRow, request_id)
        assert row is not None
        return row


async def hang_up(centre: Centre, channel: str) -> None:
    await centre.hotline.ami.action("Hangup", Channel=channel)


async def test_a_callback_keeps_the_place_and_calls_the_citizen_in_its_turn(
    centre: Centre, tmp_path: Path
) -> None:
    x, a, b = "13800000001", "13900000002", "13700000003"
    async with (
        AgentPhone(tmp_path, "127.0.0.1", CITIZEN, ring_ms=500),
        asterisk_witness(centre) as witness,
        agent_desktop(centre, "1001") as desk,
    ):
        x_run = caller(centre, x, queued())
        x_call = await call_of(centre, x, CallState.TALKING)  # 1001 busy with X
        a_run = caller(centre, a, queued(key_after_ms=OFFER_AFTER_S * 1000 + 5000))
        a_queued = await call_of(centre, a, CallState.QUEUED)
        b_run = caller(centre, b, queued())
        b_queued = await call_of(centre, b, CallState.QUEUED)
        assert [(p, n) for p, _, n in await entries(centre)] == [(1, a), (2, b)]

        a_ended = await centre.log.wait_ended(a, 40)
        assert a_ended.state is CallState.ENDED and a_ended.end_reason == "callback requested"
        assert "hotline-callback-placed" in witness.played(a_queued.channel)
        request = await request_of(centre, a_ended.linkedid)
        assert request.position == 1 and request.number == a

        async def placeholder_in_place() -> bool:
            now = await entries(centre)
            return (
                len(now) == 2
                and now[0][1].startswith(f"Local/{request.id}@")
                and (now[1][1] == b_queued.channel)
            )

        await eventually(placeholder_in_place, 10, "the placeholder at A's place, B behind")
        assert (await entries(centre))[0][2] == a  # it shows A's number

        await hang_up(centre, x_call.channel)  # X ends: 1001 is free
        talking = await centre.log.wait_for(
            lambda e: e.call.callback == str(request.id) and e.call.state is CallState.TALKING, 30
        )
        rung = [e for e in witness.events if e.get("Event") == "AgentCalled"
                and e.get("Uniqueid") in (talking.call.uniqueid, b_queued.uniqueid)]  # fmt: skip
        assert rung and rung[0]["Uniqueid"] == talking.call.uniqueid, rung  # not B first
        pop = await desk.wait_for("screen_pop", call_id=talking.call.linkedid)
        assert pop["callback"] is True and pop["caller"]["number"] == a, pop

        async def citizen_bridged() -> bool:
            channels = await centre.hotline.ami.action_list("CoreShowChannels")
            trunk = [c for c in channels if c["Channel"].startswith("PJSIP/trunk-outbound-")]
            agent = [c for c in channels if c["Channel"].startswith("PJSIP/1001-")]
            return (
                bool(trunk and agent)
                and trunk[0].get("ChannelStateDesc") == "Up"
                and bool(trunk[0].get("BridgeId"))
                and bool(agent[0].get("BridgeId"))
            )

        await eventually(citizen_bridged, 20, "the agent and the citizen both bridged", 0.2)
        await hang_up(centre, talking.call.agent_channel)

        record = await ended_record(centre, talking.call.linkedid)
        assert record.outcome is CallOutcome.ANSWERED and record.agent_extension == "1001"
        assert record.end_reason.startswith("callback reached"), record.end_reason

        async def reached() -> bool:
            return (await request_state(centre, request.id)).state is CallbackState.REACHED

        await eventually(reached, 10, "the request reached")
        original = await ended_record(centre, a_ended.linkedid)
        assert original.outcome is CallOutcome.CALLBACK, original.outcome
        async with centre.hotline.sessions() as session:
            recording = await session.scalar(
                select(Recording).where(Recording.linkedid == talking.call.linkedid)
            )
        assert recording is not None  # the callback was recorded like the inbound calls

        b_talking = await call_of(centre, b, CallState.TALKING)  # then B is served
        await hang_up(centre, b_talking.channel)
        for run in (x_run, a_run, b_run):
            await asyncio.wait_for(run, 30)


async def test_a_citizen_not_reached_is_tried_again_then_the_request_fails(
    centre: Centre,
) -> None:
    """Nobody answers at the citizen's number (no phone there): each attempt's result is kept,
    the next one placed after retry_after_s, and after the last the request is failed."""
    x, a = "13800000011", "13900000012"
    x_run = caller(centre, x, queued())
    x_call = await call_of(centre, x, CallState.TALKING)  # 1001 busy until A has left
    a_run = caller(centre, a, queued(key_after_ms=OFFER_AFTER_S * 1000 + 5000))
    a_ended = await centre.log.wait_ended(a, 40)
    assert a_ended.end_reason == "callback requested"
    request = await request_of(centre, a_ended.linkedid)
    await hang_up(centre, x_call.channel)

    async def failed() -> bool:
        return (await request_state(centre, request.id)).state is CallbackState.FAILED

    await eventually(failed, 90, "the request failed after its attempts")
    row = await request_state(centre, request.id)
    assert row.attempts == 2 and row.last_result == "NOANSWER", (row.attempts, row.last_result)
    attempts = [e.call for e in centre.log.effects
                if e.call.callback == str(request.id) and not e.call.active]  # fmt: skip
    assert len({c.linkedid for c in attempts}) == 2, attempts
    assert all(c.end_reason.startswith("callback not reached") for c in attempts), attempts
    assert all(c.agent_interface == "PJSIP/1001" for c in attempts), attempts
    for run in (x_run, a_run):
        await asyncio.wait_for(run, 30)


async def test_a_key_before_the_threshold_keeps_the_caller_in_its_place(centre: Centre) -> None:
    """1001 busy; A, then B queued; A presses the key at once: still first, still on the
    line, no request stored."""
    x, a, b = "13800000021", "13900000022", "13700000023"
    async with asterisk_witness(centre) as witness:
        x_run = caller(centre, x, queued())
        x_call = await call_of(centre, x, CallState.TALKING)
        a_run = caller(centre, a, queued(key_after_ms=5000))
        a_call = await call_of(centre, a, CallState.QUEUED)
        b_run = caller(centre, b, queued())
        await call_of(centre, b, CallState.QUEUED)
        await back_at_its_place(witness, a_call.uniqueid, "A left on its key and joined again")
    assert [(p, n) for p, _, n in await entries(centre)] == [(1, a), (2, b)]
    assert centre.hotline.tracker.calls[a_call.linkedid].active
    assert await stored_request(centre, a_call.linkedid) is None
    await end_all(centre, [x_call.channel, a_call.channel], [])
    b_talking = await call_of(centre, b, CallState.TALKING)
    await end_all(centre, [b_talking.channel], [x_run, a_run, b_run])


async def test_a_caller_with_no_number_to_call_back_is_refused_and_keeps_its_place(
    centre: Centre,
) -> None:
    """An anonymous caller ID pressing the key past the threshold: told it cannot be done,
    back in the queue at its position, nothing stored."""
    x, a = "13800000041", "anonymous"
    async with asterisk_witness(centre) as witness:
        x_run = caller(centre, x, queued())
        x_call = await call_of(centre, x, CallState.TALKING)
        a_run = caller(centre, a, queued(key_after_ms=OFFER_AFTER_S * 1000 + 5000))
        a_call = await call_of(centre, a, CallState.QUEUED)
        await back_at_its_place(witness, a_call.uniqueid, "A refused and back in the queue")
        assert "hotline-callback-refused" in witness.played(a_call.channel)
        assert "hotline-callback-placed" not in witness.played(a_call.channel)
    assert await stored_request(centre, a_call.linkedid) is None
    await end_all(centre, [x_call.channel, a_call.channel], [x_run, a_run])


async def test_an_asterisk_crash_places_the_placeholder_again_at_the_front(
    centre: Centre, tmp_path: Path
) -> None:
    """Asterisk killed while the placeholder waits (this module's last test: its calls are
    gone): once Asterisk is back, the request is placed again, first, without counting an
    attempt, and the citizen is reached."""
    hotline = centre.hotline
    x, a = "13800000051", "13900000052"
    x_run = caller(centre, x, queued())
    await call_of(centre, x, CallState.TALKING)
    a_run = caller(centre, a, queued(key_after_ms=OFFER_AFTER_S * 1000 + 5000))
    a_ended = await centre.log.wait_ended(a, 40)
    request = await request_of(centre, a_ended.linkedid)

    async def placed() -> bool:
        return any(ch.startswith(f"Local/{request.id}@") for _, ch, _ in await entries(centre))

    await eventually(placed, 10, "the placeholder in the queue")
    first = (await request_state(centre, request.id)).placeholder
    hotline.asterisk.kill()
    lost = await centre.log.wait_for(lambda e: e.call.linkedid == first and not e.call.active, 10)
    assert lost.call.end_reason.startswith("asterisk connection lost"), lost.call.end_reason
    x_run.cancel()
    await hotline.asterisk.start()
    await hotline.ami.wait_connected(10)
    await hotline.service.wait_synced(10)
    async with AgentPhone(tmp_path, "127.0.0.1", CITIZEN, ring_ms=300):
        talking = await centre.log.wait_for(
            lambda e: e.call.callback == str(request.id) and e.call.linkedid != first
            and e.call.state is CallState.TALKING, 40,
        )  # fmt: skip

        async def citizen_up() -> bool:
            channels = await hotline.ami.action_list("CoreShowChannels")
            return any(c["Channel"].startswith("PJSIP/trunk-outbound-") and c.get("BridgeId")
                       for c in channels)  # fmt: skip

        await eventually(citizen_up, 20, "the citizen talking with 1001", 0.2)
        await hang_up(centre, talking.call.agent_channel)

        async def reached() -> bool:
            return (await request_state(centre, request.id)).state is CallbackState.REACHED

        await eventually(reached, 15, "the request reached after the crash")
    row = await request_state(centre, request.id)
    assert row.attempts == 1 and row.placeholder == talking.call.linkedid, row.attempts
    await asyncio.wait_for(a_run, 30)
