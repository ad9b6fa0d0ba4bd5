"""The satisfaction survey after the agent hangs up, on a real Asterisk with SIPp callers: the
caller stays on the line, is seen by Asterisk in the survey's context, and the key (RFC 2833 or
SIP INFO) reaches the call record and, for an order answered at once, the order's
satisfaction (audited); no answer is stored as such; a caller who hangs up first gets none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db.call_models import CallRecord
from crm.db.models import AuditEntry, WorkOrder
from crm.domain import commands as c
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.clock import utc_now
from crm.domain.enums import Channel, OrderType, Role, Satisfaction, Status
from crm.domain.lifecycle import Actor
from crm.domain.survey import SURVEY_AUDIT_ACTION, SurveyAnswer
from crm.repo.directory import create_user
from crm.usecases.register import CallRef, NewOrder, register_order
from crm.usecases.transition import apply_command
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, CallerResult, DtmfVia, Press
from telephony.call import Call
from telephony.dialplan import CONTEXT_AGENTS, CONTEXT_SURVEY, extension_of
from tests.e2e import control_support as cs
from tests.e2e.harness import Centre, ended_records, running_centre
from tests.support.audio import tone_pcap
from tests.support.polling import eventually
from tests.support.trunk_peers import emergency_trunks

pytestmark = pytest.mark.e2e

ANSWER_AFTER_MS = 4000  # after the menu key: the agent has hung up, the survey prompt plays
INVALID_PROMPT_MS = 3200  # not interruptible: the next key after it
CENTRE_ENDS = 30_000  # the caller would stay this long: the centre hangs up after the survey


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    """The IVR's centre with the 110/119/120 trunks' far ends on local ports (cs.operator)."""
    trunks = emergency_trunks(cs.PORTS, cs.DIAL_TIMEOUT_S)
    state = tmp_path_factory.mktemp("survey")
    async with running_centre(state, trunks=trunks, survey=True) as centre:
        yield centre


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tones")
    return {"operator": tone_pcap(d / "operator.pcap", cs.OPERATOR_HZ, 30)}


def calling(centre: Centre, number: str, *then: Press) -> asyncio.Task[CallerResult]:
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=CENTRE_ENDS, then=then)
    return asyncio.create_task(centre.call([CallerIdentity("市民", number)], plan))


async def agent_hangs_up(centre: Centre, number: str) -> Call:
    """The call once talking, after its agent's phone is hung up and Asterisk has the caller
    in the survey (CoreShowChannels)."""
    talking = await centre.log.wait_talking(number)
    await centre.hotline.ami.action("Hangup", Channel=talking.agent_channel, Cause="16")
    await eventually(lambda: in_survey(centre, talking.uniqueid), 10, "the caller in the survey")
    return talking


async def in_survey(centre: Centre, uniqueid: str) -> bool:
    """Whether Asterisk has the caller's channel in the survey's AGI (CoreShowChannels)."""
    items = await centre.hotline.ami.action_list("CoreShowChannels", 10)
    return any(
        i.get("Uniqueid") == uniqueid and i.get("Context") == CONTEXT_SURVEY
        and i.get("Application") == "AGI" for i in items
    )  # fmt: skip


async def answered_order(centre: Centre, linkedid: str) -> int:
    """An order of the call, answered at once (即办 / 直接答复) by its agent."""
    async with centre.hotline.sessions() as session, session.begin():
        user, _ = await create_user(session, f"受理员{linkedid}", Role.AGENT, None)
        actor = Actor(user.id, Role.AGENT, None)
        new = NewOrder(Channel.PHONE, "咨询办事时间", OrderType.CONSULTATION,
                       calls=(CallRef(linkedid, ""),))  # fmt: skip
        now, calendar = utc_now(), ChineseWorkCalendar()
        order = await register_order(session, new, actor, centre_code="LY", now=now,
                                     calendar=calendar)  # fmt: skip
        await apply_command(session, order.id, c.AnswerNow("工作日九点至十七点"), actor,
                            now=now, calendar=calendar)  # fmt: skip
        return order.id


async def order_and_audit(centre: Centre, order_id: int) -> tuple[WorkOrder, list[AuditEntry]]:
    async with centre.hotline.sessions() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        entries = await session.scalars(select(AuditEntry).where(AuditEntry.order_id == order_id))
        return order, [e for e in entries if e.action == SURVEY_AUDIT_ACTION]


async def record_of(centre: Centre, number: str) -> CallRecord:
    return (await ended_records(centre, [number]))[number]


async def test_a_key_by_rtp_is_stored_on_the_call_and_on_its_order_answered_at_once(
    centre: Centre,
) -> None:
    number = "13900000201"
    call = calling(centre, number, Press("2", ANSWER_AFTER_MS))
    talking = await centre.log.wait_talking(number)
    order_id = await answered_order(centre, talking.linkedid)  # during the call
    await agent_hangs_up(centre, number)
    assert (await asyncio.wait_for(call, 40)).ok
    record = await record_of(centre, number)
    assert record.survey is SurveyAnswer.BASICALLY_SATISFIED
    assert record.end_reason == "hung up by agent"

    async def on_order() -> bool:
        order, _ = await order_and_audit(centre, order_id)
        return order.satisfaction is not None

    await eventually(on_order, 10, "the survey on the order")
    order, audited = await order_and_audit(centre, order_id)
    assert (order.status, order.satisfaction) == (Status.ANSWERED, Satisfaction.BASICALLY_SATISFIED)
    assert [e.detail["satisfaction"] for e in audited] == ["basically_satisfied"]


async def test_a_key_by_sip_info_counts_and_an_order_answered_after_the_call_takes_it(
    centre: Centre,
) -> None:
    number = "13900000202"
    call = calling(centre, number, Press("3", ANSWER_AFTER_MS, DtmfVia.INFO))
    talking = await agent_hangs_up(centre, number)
    assert (await asyncio.wait_for(call, 40)).ok
    assert (await record_of(centre, number)).survey is SurveyAnswer.UNSATISFIED
    order_id = await answered_order(centre, talking.linkedid)  # in wrap-up, after the call
    order, audited = await order_and_audit(centre, order_id)
    assert order.satisfaction is Satisfaction.UNSATISFIED and len(audited) == 1


async def test_an_invalid_key_then_a_valid_one(centre: Centre) -> None:
    """(The second key by SIP INFO: SIPp replays a key's pcap as it is, and Asterisk takes a
    second RTP event of the menu's key 1 with the same timestamp for a repeat of the first.)"""
    number = "13900000203"
    again = Press("1", INVALID_PROMPT_MS + 1500, DtmfVia.INFO)
    call = calling(centre, number, Press("*", ANSWER_AFTER_MS), again)
    await agent_hangs_up(centre, number)
    assert (await asyncio.wait_for(call, 40)).ok
    assert (await record_of(centre, number)).survey is SurveyAnswer.SATISFIED


async def test_no_answer_is_stored_as_such_and_never_on_the_order(centre: Centre) -> None:
    number = "13900000204"
    call = calling(centre, number)
    talking = await centre.log.wait_talking(number)
    order_id = await answered_order(centre, talking.linkedid)
    await agent_hangs_up(centre, number)
    assert (await asyncio.wait_for(call, 40)).ok
    assert (await record_of(centre, number)).survey is SurveyAnswer.NO_ANSWER
    order, audited = await order_and_audit(centre, order_id)
    assert order.satisfaction is None and audited == []


async def test_the_agent_wraps_up_while_the_caller_is_in_the_survey(centre: Centre) -> None:
    """The agent's part of the call ends at its hang-up: its desk (a real websocket) shows
    wrap-up while Asterisk still has the caller in the survey, and the record's talk ends
    there, not at the caller's hang-up after the survey."""
    number = "13900000206"
    call = calling(centre, number)
    talking = await centre.log.wait_talking(number)
    ext = extension_of(talking.agent_interface)
    assert ext is not None
    async with cs.agent_desktop(centre, ext) as desk:
        await agent_hangs_up(centre, number)
        await desk.wait_for("presence", 10, extension=ext, state="wrap_up",
                            call_id=talking.linkedid)  # fmt: skip
        assert await in_survey(centre, talking.uniqueid)
    left = await centre.log.wait_for(
        lambda e: e.call.linkedid == talking.linkedid and e.call.agent_left_at is not None, 10
    )
    assert (await asyncio.wait_for(call, 40)).ok
    record = await record_of(centre, number)
    assert record.answered_at is not None and record.ended_at is not None
    assert left.call.talk_time_s is not None and record.talk_s is not None
    assert record.talk_s == pytest.approx(left.call.talk_time_s, abs=0.01)
    assert (record.ended_at - record.answered_at).total_seconds() - record.talk_s > 2  # survey


async def test_a_caller_who_hangs_up_first_gets_no_survey(centre: Centre) -> None:
    number = "13900000205"
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=3000)
    result = await centre.call([CallerIdentity("市民", number)], plan)
    assert result.ok, result.errors
    record = await record_of(centre, number)
    assert record.end_reason == "hung up by caller" and record.survey is None


async def _operator_answered(centre: Centre) -> str:
    """The 110 primary leg's channel once it is up."""
    name = ""

    async def up() -> bool:
        nonlocal name
        listed = await cs.channels(centre)
        name = next((n for n in listed if n.startswith("PJSIP/trunk-110-")), "")
        return bool(name) and listed[name].get("ChannelStateDesc") == "Up"

    await eventually(up, 15, "110 answered")
    return name


async def _operator_rings(centre: Centre) -> None:
    async def ringing() -> bool:
        return any(n.startswith("PJSIP/trunk-110-") for n in await cs.channels(centre))

    await eventually(ringing, 15, "110 ringing")


@pytest.mark.parametrize("how", ["attended", "blond", "blind"])
async def test_a_call_transferred_to_110_gets_no_survey(
    centre: Centre, tones: dict[str, Path], how: str
) -> None:
    """Attended (Atxfer from the agent's leg, the caller left in the queue's bridge with the
    trunk, whose hang-up Queue takes for the agent's; the agent hangs up once 110 answered,
    or while it rings: a "blond" transfer, whose AttendedTransfer names no target channel)
    or blind: 110 hangs up, the centre hangs up the caller; no survey on the record."""
    number = "1390000021" + str(["attended", "blind", "blond"].index(how) + 1)
    ami = centre.hotline.ami
    async with cs.operator(centre, "110", 0, tones, ring_ms=2500 if how == "blond" else 300):
        call = calling(centre, number)
        talking = await centre.log.wait_talking(number)
        if how in ("attended", "blond"):
            await ami.action("Atxfer", Channel=talking.agent_channel, Exten="110",
                             Context=CONTEXT_AGENTS)  # fmt: skip
            if how == "blond":
                await _operator_rings(centre)
            else:
                await _operator_answered(centre)
            await ami.action("Hangup", Channel=talking.agent_channel, Cause="16")  # completes
            trunk = await _operator_answered(centre)
        else:
            await ami.action("BlindTransfer", Channel=talking.agent_channel, Exten="110",
                             Context=CONTEXT_AGENTS)  # fmt: skip
            trunk = await _operator_answered(centre)
        await centre.log.wait_for(
            lambda e: e.call.linkedid == talking.linkedid and e.call.transfer_target == "110", 10
        )
        await ami.action("Hangup", Channel=trunk, Cause="16")  # 110 ends its call
        assert (await asyncio.wait_for(call, 40)).ok
    record = await record_of(centre, number)
    assert record.emergency_line == "110" and record.survey is None
