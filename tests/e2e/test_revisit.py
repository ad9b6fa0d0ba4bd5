"""The centre calls a citizen back (回访) from an order on the desk: the agent's own phone rings
first, then the citizen (a SIPp phone on the outbound trunk's far end) is dialled; the call is
recorded and the file attached to the order, whose callback step holds the result and the
satisfaction. A confidential caller's number never reaches the desk nor the backend's log;
another agent's desk can neither call the same order meanwhile nor report that call."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from crm.db.call_models import CallRecord, Recording
from crm.db.models import AuditEntry, OrderCall, WorkOrder
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.domain.enums import Role, Satisfaction, Status
from crm.usecases.recordings import ATTACHED_ACTION
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone
from tests.e2e.control_support import agent_desktop
from tests.e2e.harness import Centre, crm_user, post_order, running_centre
from tests.e2e.ivr_support import AsteriskWitness, asterisk_witness
from tests.support.audio import tone_pcap
from tests.support.polling import eventually

CITIZEN = free_udp_port()  # the outbound trunk's primary: the citizen's phone
SPEAK_S = 20.0


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    tones = tmp_path_factory.mktemp("tones")
    outbound = {"primary": f"127.0.0.1:{CITIZEN}", "backup": f"127.0.0.1:{free_udp_port()}",
                "dial_timeout_s": 5, "qualify_s": 0, "caller_id": "12345"}  # fmt: skip
    audio = {"1001": tone_pcap(tones / "1001.pcap", 440, SPEAK_S)}
    state = tmp_path_factory.mktemp("revisit")
    async with running_centre(state, outbound=outbound, phone_audio=audio) as centre:
        yield centre


async def replied_order(centre: Centre, number: str, confidential: bool) -> int:
    """An order registered over the API, then (setup, not under test) taken to REPLIED: the
    handling unit has replied, the centre's callback is due."""
    token = await crm_user(centre, "受理员", Role.AGENT)
    base = f"http://127.0.0.1:{centre.hotline.settings.http.port}"
    order = await post_order(base, token, {
        "order_type": "consultation", "text": "咨询：回访测试", "caller_name": "孙保密",
        "caller_number": number, "confidential": confidential,
    })  # fmt: skip
    async with centre.hotline.sessions() as session, session.begin():
        await session.execute(
            update(WorkOrder).where(WorkOrder.id == order["id"]).values(status=Status.REPLIED)
        )
    return int(order["id"])


def citizen_rang_after_agent_answered(witness: AsteriskWitness, call_id: str) -> None:
    """In Asterisk's own events: the agent's leg (Uniqueid = the call's id) was Up before any
    channel towards the outbound trunk existed."""
    names = [(e.get("Event"), e.get("Uniqueid"), e.get("Channel", ""), e.get("ChannelStateDesc"))
             for e in witness.events]  # fmt: skip
    up = names.index(("Newstate", call_id, next(n[2] for n in names if n[1] == call_id), "Up"))
    trunk = next(i for i, n in enumerate(names)
                 if n[0] == "Newchannel" and n[2].startswith("PJSIP/trunk-outbound-"))  # fmt: skip
    assert up < trunk, names[: trunk + 1]


async def attached(centre: Centre, order_id: int, call_id: str) -> tuple[Recording, AuditEntry]:
    """The callback's recording once checked, and the order's audit entry attaching it."""
    found: list[tuple[Recording, AuditEntry]] = []

    async def attached_now() -> bool:
        async with centre.hotline.sessions() as session:
            rec = await session.scalar(select(Recording).where(Recording.linkedid == call_id))
            entry = await session.scalar(select(AuditEntry).where(
                AuditEntry.order_id == order_id, AuditEntry.action == ATTACHED_ACTION))  # fmt: skip
            if rec is not None and rec.status is RecordingStatus.ATTACHED and entry is not None:
                found.append((rec, entry))
        return bool(found)

    await eventually(attached_now, 20, "the callback's recording attached to the order")
    return found[0]


def frames_text(frames: list[tuple[float, dict[str, Any]]]) -> str:
    return "\n".join(repr(frame) for _, frame in frames)


async def test_an_agent_calls_a_confidential_citizen_back_recorded_and_rated(
    centre: Centre, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    number = "13977778888"
    caplog.set_level(logging.DEBUG)
    order_id = await replied_order(centre, number, confidential=True)
    citizen_tone = tone_pcap(tmp_path / "citizen.pcap", 880, SPEAK_S)
    async with (
        AgentPhone(tmp_path, "127.0.0.1", CITIZEN, ring_ms=300, audio=citizen_tone),
        asterisk_witness(centre) as witness,
        agent_desktop(centre, "1001") as desk,
        agent_desktop(centre, "1002") as other,
    ):
        started = await desk.command("revisit_call", order_id=order_id)
        assert started["ok"], started
        call_id = started["result"]["call_id"]
        assert set(started["result"]) == {"order_id", "call_id"}

        async def talking() -> bool:
            channels = await centre.hotline.ami.action_list("CoreShowChannels")
            states = {c["Channel"].rsplit("-", 1)[0]: c.get("ChannelStateDesc") for c in channels}
            return states.get("PJSIP/trunk-outbound-primary") == "Up"

        await eventually(talking, 15, "the agent talking with the citizen", poll_s=0.2)
        citizen_rang_after_agent_answered(witness, call_id)
        busy = await other.command("revisit_call", order_id=order_id)
        assert busy["error"]["code"] == "callback_busy", busy
        stolen = await other.command("revisit_result", order_id=order_id, call_id=call_id,
                                     result="reached", satisfaction="unsatisfied")  # fmt: skip
        assert stolen["error"]["code"] == "not_your_callback", stolen
        done = await desk.command(
            "revisit_result", order_id=order_id, call_id=call_id, result="reached",
            satisfaction="satisfied", note="已解决",
        )  # fmt: skip
        assert done["ok"] and done["result"]["status"] == "closed", done

        async def hung_up() -> bool:
            channels = await centre.hotline.ami.action_list("CoreShowChannels")
            return not any(c["Channel"].startswith("PJSIP/trunk-outbound-") for c in channels)

        await eventually(hung_up, 10, "the result hung the call up")
    recording, entry = await attached(centre, order_id, call_id)
    assert (centre.hotline.layout.monitor / recording.path).stat().st_size > 44
    assert entry.detail["path"] == recording.path and recording.duration_s
    async with centre.hotline.sessions() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None and order.status is Status.CLOSED
        assert order.satisfaction is Satisfaction.SATISFIED
        step = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "callback"))  # fmt: skip
        assert step is not None and step.detail["call_id"] == call_id
        link = await session.scalar(select(OrderCall).where(OrderCall.linkedid == call_id))
        assert link is not None and link.recording == recording.path
        record = await session.get(CallRecord, call_id)
        assert record is not None and record.outcome is CallOutcome.ANSWERED
        assert number not in record.caller_number
    assert number not in frames_text(desk.frames) + frames_text(other.frames)
    assert number not in caplog.text


async def test_a_citizen_not_reached_leaves_the_order_open_with_the_attempt(
    centre: Centre,
) -> None:
    """Nobody answers on the trunk: the attempt is on the order, which still awaits its
    callback; the next attempt may be placed."""
    order_id = await replied_order(centre, "13966665555", confidential=False)
    async with agent_desktop(centre, "1001") as desk:
        started = await desk.command("revisit_call", order_id=order_id)
        call_id = started["result"]["call_id"]
        done = await desk.command("revisit_result", order_id=order_id, call_id=call_id,
                                  result="no_answer")  # fmt: skip
        assert done["ok"] and done["result"]["status"] == "replied", done
        again = await desk.command("revisit_call", order_id=order_id)
        assert again["ok"], again
        await desk.command("revisit_result", order_id=order_id,
                           call_id=again["result"]["call_id"], result="no_answer")  # fmt: skip
    async with centre.hotline.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "callback_attempt"))  # fmt: skip
        assert entry is not None and entry.detail["result"] == "no_answer"
        assert entry.detail["call_id"] == call_id
        rec = await session.scalar(select(Recording).where(Recording.linkedid == call_id))
        assert rec is None  # nobody picked up: no file expected
