"""The centre calls a citizen back (回访) from an order on the desk: the agent's own phone rings
first, then the citizen (a SIPp phone on the outbound trunk's far end) is dialled; the call is
recorded and the file attached to the order, whose callback step holds the result and the
satisfaction. A confidential caller's number never reaches the desk nor the backend's log;
another agent's desk can neither call the same order meanwhile nor report that call.

The handling unit's first-contact and reply calls ("2+1") go the same way from the API: the
handler's department phone first, then the citizen; only the lead unit's handlers may."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from crm.db.call_models import CallRecord, Recording
from crm.db.models import AuditEntry, OrderCall, WorkOrder
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.enums import Role, Satisfaction, Status, UnitKind
from crm.repo import directory
from crm.usecases.recordings import ATTACHED_ACTION
from crm.usecases.users import add_user, change_user
from hotline_cli.demo.ports import free_tcp_port, free_udp_port
from hotline_cli.demo.sipp import AgentPhone
from hotline_cli.http_child import serving
from hotline_cli.http_process import HttpJob
from hotline_cli.unit_dialler import CONNECT_S
from tests.e2e.control_support import agent_desktop
from tests.e2e.harness import Centre, crm_user, post_order, running_centre
from tests.e2e.ivr_support import AsteriskWitness, asterisk_witness
from tests.support.audio import tone_pcap
from tests.support.polling import eventually

CITIZEN = free_udp_port()  # the outbound trunk's primary: the citizen's phone
SPEAK_S = 20.0
UNIT_PHONE = free_udp_port()  # the lead unit's department phone (8101)
DEPARTMENTS = [
    {"extension": "8101", "name": "市城管局值班室", "kind": "department",
     "contact": f"sip:8101@127.0.0.1:{UNIT_PHONE}"},
    {"extension": "8102", "name": "市水务局值班室", "kind": "department",
     "contact": f"sip:8102@127.0.0.1:{free_udp_port()}"},  # never rung here
]  # fmt: skip


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    tones = tmp_path_factory.mktemp("tones")
    outbound = {"primary": f"127.0.0.1:{CITIZEN}", "backup": f"127.0.0.1:{free_udp_port()}",
                "dial_timeout_s": 5, "qualify_s": 0, "caller_id": "12345"}  # fmt: skip
    audio = {"1001": tone_pcap(tones / "1001.pcap", 440, SPEAK_S)}
    state = tmp_path_factory.mktemp("revisit")
    up = running_centre(state, outbound=outbound, phone_audio=audio, colleagues=DEPARTMENTS)
    async with up as centre:
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


@dataclass(frozen=True)
class Units:
    """The order's lead and assisting units' handlers, an unrelated unit's, and a lead
    handler bound to no phone: their bearer tokens."""

    lead: str
    assist: str
    stranger: str
    phoneless: str


async def accepted_order(centre: Centre, number: str, code: str) -> tuple[int, Units]:
    """An order registered and dispatched over the API (lead unit with its handler at 8101, an
    assisting unit's at 8102), then signed for by the lead unit: its first contact is due."""
    now = utc_now()
    async with centre.hotline.sessions() as session, session.begin():
        for phone in ("8101", "8102"):  # from the handlers of an earlier test
            if (holder := await directory.active_user_at(session, phone)) is not None:
                await change_user(session, None, now, holder, agent_extension=None, rebind=True)
        units = [await directory.create_unit(session, f"{code}{i}", f"单位{code}{i}",
                                             UnitKind.DEPARTMENT) for i in range(3)]  # fmt: skip
        tokens = [
            (await add_user(session, None, now, name, Role.HANDLER, unit.id, phone))[1]
            for name, unit, phone in (("城管张", units[0], "8101"), ("水务李", units[1], "8102"),
                                      ("园林赵", units[2], None), ("城管王", units[0], None))
        ]  # fmt: skip
    agent = await crm_user(centre, "受理员", Role.AGENT)
    order = await post_order(base_of(centre), agent, {
        "order_type": "complaint", "text": "投诉：路灯不亮", "caller_name": "孙保密",
        "caller_number": number, "confidential": True,
    })  # fmt: skip
    order_id = int(order["id"])
    dispatch = {"action": "dispatch", "lead_unit_id": units[0].id,
                "assist_unit_ids": [units[1].id]}  # fmt: skip
    for token, body in ((agent, dispatch), (tokens[0], {"action": "accept"})):
        status, answer = await call_api(centre, token, f"/api/orders/{order_id}/transitions", body)
        assert status == 200, answer
    return order_id, Units(*tokens)


def base_of(centre: Centre) -> str:
    return f"http://127.0.0.1:{centre.hotline.settings.http.port}"


async def call_api(
    centre: Centre, token: str, path: str, body: dict[str, Any], base: str | None = None
) -> tuple[int, dict[str, Any]]:
    """A POST of the centre's HTTP API (or the one at `base`): status and JSON answer."""
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            f"{base or base_of(centre)}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,  # fmt: skip
    ):
        return response.status, await response.json()


@asynccontextmanager
async def http_app_here(centre: Centre, ami_port: int | None = None) -> AsyncIterator[str]:
    """The centre's HTTP app as its child process serves it (`http_child.serving`), here in
    the test's process on a port of its own, so that caplog sees every line it logs (its
    dialler's AMI at `ami_port` when given)."""
    settings = centre.hotline.settings
    port = free_tcp_port()
    moved = settings.model_copy(update={"http": settings.http.model_copy(update={"port": port})})
    if ami_port is not None:
        ami = settings.ami.model_copy(update={"port": ami_port})
        moved = moved.model_copy(update={"ami": ami})
    job = HttpJob(moved, centre.hotline.redis_url, "ws://127.0.0.1:9/", logging.DEBUG)
    async with serving(job):
        yield f"http://127.0.0.1:{port}"


async def unit_call_talking(centre: Centre) -> None:
    """Until, in Asterisk, the department phone 8101 and the citizen's trunk leg are Up."""

    async def talking() -> bool:
        channels = await centre.hotline.ami.action_list("CoreShowChannels")
        states = {c["Channel"].rsplit("-", 1)[0]: c.get("ChannelStateDesc") for c in channels}
        return states.get("PJSIP/trunk-outbound-primary") == "Up" == states.get("PJSIP/8101")

    await eventually(talking, 15, "the handler talking with the citizen", poll_s=0.2)


@asynccontextmanager
async def talking_unit_call(
    centre: Centre, tmp_path: Path, token: str, path: str, purpose: str
) -> AsyncIterator[str]:
    """A unit's call placed at `path` for `purpose`, the department phone 8101 and the
    citizen talking in Asterisk: the call's id."""
    handler_tone = tone_pcap(tmp_path / "handler.pcap", 660, SPEAK_S)
    citizen_tone = tone_pcap(tmp_path / "citizen.pcap", 880, SPEAK_S)
    async with (
        AgentPhone(tmp_path, "127.0.0.1", UNIT_PHONE, ring_ms=300, audio=handler_tone),
        AgentPhone(tmp_path, "127.0.0.1", CITIZEN, ring_ms=300, audio=citizen_tone),
    ):
        got, started = await call_api(centre, token, path, {"purpose": purpose})
        assert got == 201, started
        await unit_call_talking(centre)
        yield started["call_id"]


async def test_a_unit_s_first_contact_call_reaches_the_citizen_recorded_on_the_step(
    centre: Centre, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The lead unit's handler calls a confidential citizen through the centre: its phone
    first, then the citizen; reached, the order is CONTACTED with the call on the step and its
    recording attached. The assisting unit's handler is refused (403), an unrelated unit's
    does not see the order (404), a handler without a phone is told so; the number is in no
    answer, log line or trail entry."""
    number = "13955556666"
    caplog.set_level(logging.DEBUG)
    order_id, units = await accepted_order(centre, number, "FC")
    path = f"/api/orders/{order_id}/unit-calls"
    first = {"purpose": "first_contact"}
    handler_tone = tone_pcap(tmp_path / "handler.pcap", 660, SPEAK_S)
    citizen_tone = tone_pcap(tmp_path / "citizen.pcap", 880, SPEAK_S)
    answers: list[dict[str, Any]] = []
    async with (
        http_app_here(centre) as base,
        AgentPhone(tmp_path, "127.0.0.1", UNIT_PHONE, ring_ms=300, audio=handler_tone),
        AgentPhone(tmp_path, "127.0.0.1", CITIZEN, ring_ms=300, audio=citizen_tone),
        asterisk_witness(centre) as witness,
    ):
        for token, status, code in ((units.assist, 403, "not_lead_unit"),
                                    (units.stranger, 404, "order_not_found"),
                                    (units.phoneless, 409, "no_phone")):  # fmt: skip
            got, refused = await call_api(centre, token, path, first, base)
            answers.append(refused)
            assert (got, refused["error"]["code"]) == (status, code), refused
        got, started = await call_api(centre, units.lead, path, first, base)
        answers.append(started)
        assert got == 201 and set(started) == {"order_id", "call_id", "purpose"}, started
        call_id = started["call_id"]
        await unit_call_talking(centre)
        citizen_rang_after_agent_answered(witness, call_id)
        got, busy = await call_api(centre, units.lead, path, first, base)
        answers.append(busy)
        assert (got, busy["error"]["code"]) == (409, "callback_busy"), busy
        result = {"result": "reached", "note": "已电话联系市民，约定明日现场查看"}
        got, done = await call_api(centre, units.lead, f"{path}/{call_id}/result", result, base)
        answers.append(done)
        assert (got, done["status"]) == (200, "contacted"), done

        async def hung_up() -> bool:
            channels = await centre.hotline.ami.action_list("CoreShowChannels")
            return not any(c["Channel"].startswith(("PJSIP/trunk-outbound-", "PJSIP/8101"))
                           for c in channels)  # fmt: skip

        await eventually(hung_up, 10, "the result hung the call up")
    recording, entry = await attached(centre, order_id, call_id)
    assert (centre.hotline.layout.monitor / recording.path).stat().st_size > 44
    async with centre.hotline.sessions() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None and order.status is Status.CONTACTED
        trail = list(await session.scalars(
            select(AuditEntry).where(AuditEntry.order_id == order_id)))  # fmt: skip
        step = next(e for e in trail if e.action == "log_contact")
        assert step.detail == {"note": result["note"], "call_id": call_id}
        record = await session.get(CallRecord, call_id)
        assert record is not None and record.outcome is CallOutcome.ANSWERED
        assert (record.agent_extension, record.ivr_label) == ("8101", "unit_contact")
        link = await session.scalar(select(OrderCall).where(OrderCall.linkedid == call_id))
        assert link is not None and link.recording == recording.path == entry.detail["path"]
    assert f"calls order id {order_id} from 8101 for first_contact" in caplog.text
    assert number not in caplog.text
    assert number not in repr(answers) + repr([e.detail for e in trail])


async def test_a_unit_s_reply_call_not_answered_is_an_attempt_that_moves_nothing(
    centre: Centre,
) -> None:
    """Nobody answers the reply call (in Asterisk: the call over, its trunk leg never Up): the
    attempt is on the order's trail, the order still CONTACTED; the reply is then logged by
    other means (the transition)."""
    order_id, units = await accepted_order(centre, "13944443333", "RP")
    path = f"/api/orders/{order_id}/unit-calls"
    contact = {"action": "log_contact", "note": "已当面联系"}
    got, _ = await call_api(centre, units.lead, f"/api/orders/{order_id}/transitions", contact)
    assert got == 200
    async with (
        AgentPhone(centre.workdir, "127.0.0.1", UNIT_PHONE, ring_ms=300),
        asterisk_witness(centre) as witness,
    ):
        got, started = await call_api(centre, units.lead, path, {"purpose": "reply"})
        assert got == 201, started
        call_id = started["call_id"]

        async def over_unanswered() -> bool:
            ups = [e for e in witness.events if e.get("Event") == "Newstate"
                   and e.get("ChannelStateDesc") == "Up"]  # fmt: skip
            assert not [e for e in ups if e.get("Channel", "").startswith("PJSIP/trunk-outb")]
            return any(e.get("Uniqueid") == call_id for e in ups) and any(
                e.get("Event") == "Hangup" and e.get("Uniqueid") == call_id for e in witness.events
            )

        await eventually(over_unanswered, 20, "the handler's call over, the trunk unanswered")
        body = {"result": "no_answer"}
        got, done = await call_api(centre, units.lead, f"{path}/{call_id}/result", body)
        assert (got, done["status"]) == (200, "contacted"), done
        got, again = await call_api(centre, units.lead, f"{path}/{call_id}/result", body)
        assert (got, again["error"]["code"]) == (409, "callback_done"), again
    async with centre.hotline.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "reply_attempt"))  # fmt: skip
        assert entry is not None and entry.detail["call_id"] == call_id
        assert entry.from_status is entry.to_status is Status.CONTACTED
    reply = {"action": "reply", "result": "已书面答复：路灯已修复"}
    got, replied = await call_api(centre, units.lead, f"/api/orders/{order_id}/transitions", reply)
    assert (got, replied["status"]) == (200, "replied"), replied


async def lead_unit_order(centre: Centre, order_id: int, number: str) -> int:
    """Another order dispatched to `order_id`'s lead unit alone, signed for by `units.lead`
    (setup): ACCEPTED, visible to the same handlers."""
    async with centre.hotline.sessions() as session:
        first = await session.get(WorkOrder, order_id)
        assert first is not None and first.lead_unit_id is not None
        lead_unit = first.lead_unit_id
    agent = await crm_user(centre, "受理员", Role.AGENT)
    order = await post_order(base_of(centre), agent, {
        "order_type": "complaint", "text": "投诉：井盖缺失", "caller_name": "周先生",
        "caller_number": number, "confidential": False,
    })  # fmt: skip
    path = f"/api/orders/{order['id']}/transitions"
    status, answer = await call_api(centre, agent, path, {"action": "dispatch",
                                                          "lead_unit_id": lead_unit})  # fmt: skip
    assert status == 200, answer
    return int(order["id"])


async def test_a_unit_s_reply_call_reached_is_the_reply_only_its_phone_reports(
    centre: Centre, tmp_path: Path
) -> None:
    """The lead's reply call while the citizen talks: the assisting unit's handler and a lead
    handler at no phone are refused its result (403), an unrelated unit learns nothing even
    of a made-up call id (404 order_not_found), the call's id on another order of the unit is
    no call of that order (404), and the lead's phone cannot place a second call meanwhile
    (409 phone_busy). Reached, the order is REPLIED with the note as its result and the call
    on the reply's audit entry."""
    order_id, units = await accepted_order(centre, "13933332222", "RR")
    contact = {"action": "log_contact", "note": "已当面联系"}
    got, _ = await call_api(centre, units.lead, f"/api/orders/{order_id}/transitions", contact)
    assert got == 200
    other_id = await lead_unit_order(centre, order_id, "13933331111")
    got, _ = await call_api(centre, units.lead, f"/api/orders/{other_id}/transitions",
                            {"action": "accept"})  # fmt: skip
    assert got == 200
    path = f"/api/orders/{order_id}/unit-calls"
    async with talking_unit_call(centre, tmp_path, units.lead, path, "reply") as call_id:
        result = {"result": "reached", "note": "路灯已修复，市民表示认可"}
        for token, order, call, status, code in (
            (units.assist, order_id, call_id, 403, "not_your_callback"),
            (units.phoneless, order_id, call_id, 403, "not_your_callback"),
            (units.stranger, order_id, "1700000000.42", 404, "order_not_found"),
            (units.lead, other_id, call_id, 404, "no_callback"),
        ):
            got, refused = await call_api(
                centre, token, f"/api/orders/{order}/unit-calls/{call}/result", result
            )
            assert (got, refused["error"]["code"]) == (status, code), (token, refused)
        got, busy = await call_api(centre, units.lead, f"/api/orders/{other_id}/unit-calls",
                                   {"purpose": "first_contact"})  # fmt: skip
        assert (got, busy["error"]["code"]) == (409, "phone_busy"), busy
        got, done = await call_api(centre, units.lead, f"{path}/{call_id}/result", result)
        assert (got, done["status"], done["refused"]) == (200, "replied", ""), done
    async with centre.hotline.sessions() as session:
        replied = await session.get(WorkOrder, order_id)
        assert replied is not None and replied.status is Status.REPLIED
        assert replied.result == result["note"]
        step = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "reply"))  # fmt: skip
        assert step is not None and step.detail == {"result": result["note"], "call_id": call_id}
        record = await session.get(CallRecord, call_id)
        assert record is not None and record.outcome is CallOutcome.ANSWERED


async def test_a_reached_call_whose_step_was_taken_meanwhile_ends_as_an_attempt(
    centre: Centre, tmp_path: Path
) -> None:
    """The first contact is logged by other means while the handler's call is on: reporting
    it reached is refused as the step (said so), yet hangs the call up and ends its record as
    an attempt, so the phone places the next call (the reply)."""
    order_id, units = await accepted_order(centre, "13922221111", "RF")
    path = f"/api/orders/{order_id}/unit-calls"
    async with talking_unit_call(centre, tmp_path, units.lead, path, "first_contact") as call_id:
        contact = {"action": "log_contact", "note": "市民来电，已当面沟通"}
        transitions = f"/api/orders/{order_id}/transitions"
        got, _ = await call_api(centre, units.lead, transitions, contact)
        assert got == 200
        result = {"result": "reached", "note": "已联系市民"}
        got, done = await call_api(centre, units.lead, f"{path}/{call_id}/result", result)
        assert (got, done["status"]) == (200, "contacted"), done
        assert "记为尝试" in done["refused"], done

        async def hung_up() -> bool:
            channels = await centre.hotline.ami.action_list("CoreShowChannels")
            return not any(c["Uniqueid"] == call_id for c in channels)

        await eventually(hung_up, 10, "the result hung the call up")
        got, again = await call_api(centre, units.lead, path, {"purpose": "reply"})
        assert got == 201, again
        got, _ = await call_api(centre, units.lead, f"{path}/{again['call_id']}/result",
                                {"result": "no_answer"})  # fmt: skip
        assert got == 200
    async with centre.hotline.sessions() as session:
        record = await session.get(CallRecord, call_id)
        assert record is not None and record.outcome is CallOutcome.ANSWERED
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "contact_attempt"))  # fmt: skip
        assert entry is not None and entry.detail["call_id"] == call_id
        assert entry.detail["result"] == "reached" and "记为尝试" in entry.detail["refused"]


async def test_a_call_left_unreported_no_longer_holds_its_order_or_phone(
    centre: Centre,
) -> None:
    """The handler who placed a call is unbound before reporting it: another handler of the
    lead unit closes it as not reached (audited for the phone), never as reached. A record
    still open after ring time and an hour's talk (the process that placed it long gone)
    blocks no new call on its order, and a supervisor closes it."""
    order_id, units = await accepted_order(centre, "13911110000", "ST")
    path = f"/api/orders/{order_id}/unit-calls"
    async with AgentPhone(centre.workdir, "127.0.0.1", UNIT_PHONE, ring_ms=300):
        got, started = await call_api(centre, units.lead, path, {"purpose": "first_contact"})
        assert got == 201, started
        call_id = started["call_id"]
        async with centre.hotline.sessions() as session, session.begin():
            lead = await directory.active_user_at(session, "8101")
            assert lead is not None
            lead_id = lead.id
            await change_user(session, None, utc_now(), lead, agent_extension=None, rebind=True)
        result = f"{path}/{call_id}/result"
        reached = {"result": "reached", "note": "已联系"}
        got, refused = await call_api(centre, units.phoneless, result, reached)
        assert (got, refused["error"]["code"]) == (403, "not_your_callback"), refused
        got, closed = await call_api(centre, units.phoneless, result, {"result": "no_answer"})
        assert (got, closed["status"]) == (200, "accepted"), closed
    async with centre.hotline.sessions() as session:
        record = await session.get(CallRecord, call_id)
        assert record is not None and record.outcome is CallOutcome.FAILED
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == order_id, AuditEntry.action == "contact_attempt"))  # fmt: skip
        assert entry is not None and entry.detail["closed_for"] == "8101"
        assert entry.actor_id != lead_id

    order_id, units = await accepted_order(centre, "13911112222", "OL")
    path = f"/api/orders/{order_id}/unit-calls"
    async with AgentPhone(centre.workdir, "127.0.0.1", UNIT_PHONE, ring_ms=300):
        got, started = await call_api(centre, units.lead, path, {"purpose": "first_contact"})
        assert got == 201, started
        async with centre.hotline.sessions() as session, session.begin():
            record = await session.get(CallRecord, started["call_id"])
            assert record is not None
            record.started_at = utc_now() - timedelta(hours=1, minutes=1)
        got, again = await call_api(centre, units.lead, path, {"purpose": "first_contact"})
        assert got == 201, again
        got, _ = await call_api(centre, units.lead, f"{path}/{again['call_id']}/result",
                                {"result": "no_answer"})  # fmt: skip
        assert got == 200
        supervisor = await crm_user(centre, "值班长", Role.SUPERVISOR)
        old = f"{path}/{started['call_id']}/result"
        got, closed = await call_api(centre, supervisor, old, {"result": "no_answer"})
        assert (got, closed["status"]) == (200, "accepted"), closed


@asynccontextmanager
async def silent_listener(accepted: list[asyncio.StreamWriter]) -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word (an AMI hung at login)."""

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_unit_call_waiting_on_the_ami_login_holds_no_lock_on_the_order(
    centre: Centre,
) -> None:
    """The dialler's AMI session hangs at its login: the call is refused (503) once the
    login's wait is over, and meanwhile the order is not locked: its contact logged by other
    means (the centre's HTTP process) does not wait for it."""
    order_id, units = await accepted_order(centre, "13900001111", "LK")
    accepted: list[asyncio.StreamWriter] = []
    async with silent_listener(accepted) as port, http_app_here(centre, port) as base:
        placing = asyncio.create_task(call_api(
            centre, units.lead, f"/api/orders/{order_id}/unit-calls",
            {"purpose": "first_contact"}, base,
        ))  # fmt: skip

        async def logging_in() -> bool:
            return bool(accepted)

        await eventually(logging_in, 10, "the dialler connected to the silent AMI")
        contact = {"action": "log_contact", "note": "市民来电，已当面沟通"}
        began = time.monotonic()
        got, moved = await call_api(
            centre, units.lead, f"/api/orders/{order_id}/transitions", contact
        )
        waited = time.monotonic() - began
        assert waited < CONNECT_S / 2, f"the step waited {waited:.1f} s for the dialler's login"
        assert (got, moved["status"]) == (200, "contacted"), moved
        got, refused = await placing
        assert (got, refused["error"]["code"]) == (503, "asterisk_unavailable"), refused
