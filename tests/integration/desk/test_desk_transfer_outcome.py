"""A call blind-transferred to another agent gets its outcome from the agent who has the
caller last: through the desk's verb table on a real Redis and a real CRM database (SQLite and
PostgreSQL), the agent who passed the call on is not asked for one, the one who took it is."""

from __future__ import annotations

from dataclasses import replace

from agent_gateway.edge.protocol import PresenceState
from crm.domain.calls import Disposition
from telephony.events import CallTransferred, DialAnswered
from telephony.tracker import Call, CallChanged, CallState
from tests.integration.crm.conftest import (  # noqa: F401  (the fixtures, for both databases)
    database_url,
    postgres_template,
    postgres_url,
    sqlite_template,
)
from tests.integration.desk.test_desk_outcome import ORDER, Desk, _record, desk  # noqa: F401


async def _passed_on(desk: Desk, linkedid: str) -> Call:  # noqa: F811
    """A call answered at 1001 and blind-transferred to 1002, who took it."""
    call = await desk.answered(linkedid, "1001")
    # 1001 sends the caller to 1002 (BlindTransfer), the dialplan's Dial reaches 1002's phone
    sent = replace(call, state=CallState.TRANSFERRED, transfer_target="1002")
    desk.tracker.calls[call.linkedid] = sent
    blind = CallTransferred(20.0, call.linkedid, call.uniqueid, call.channel, "blind", "1002")
    await desk.service.on_call(CallChanged(sent, CallState.TALKING, blind))
    taken = replace(sent, transfer_answered_by="PJSIP/1002")
    desk.tracker.calls[call.linkedid] = taken
    dial = DialAnswered(22.0, call.linkedid, call.uniqueid, call.channel, "PJSIP/1002-00000009")
    await desk.service.on_call(CallChanged(taken, CallState.TRANSFERRED, dial))
    return taken


async def test_the_agent_who_took_a_blind_transfer_owns_the_outcome(desk: Desk) -> None:  # noqa: F811
    taken = await _passed_on(desk, "1764590000.7")
    call = taken
    assert desk.state("1002") is PresenceState.TALKING
    assert desk.service.presences["1002"].call_id == call.linkedid

    await desk.ended(taken)
    assert desk.state("1002") is PresenceState.WRAP_UP

    # 1001 passed the call on: not asked for its outcome, and may not give it
    assert await desk.refused("dispose", "1001", call_id=call.linkedid,
                              disposition="test") == "not_your_call"  # fmt: skip
    assert desk.state("1001") is PresenceState.WRAP_UP
    assert await desk.run("wrapup_done", "1001") == {}
    assert desk.state("1001") is PresenceState.AVAILABLE

    # 1002 has the caller last: asked, and its disposition is the call's (it may also save
    # the call's order, which 1001 answered: an order would do as well)
    assert await desk.refused("wrapup_done", "1002") == "outcome_required"
    result = await desk.run("dispose", "1002", call_id=call.linkedid,
                            disposition="answered_at_once")  # fmt: skip
    assert result["disposition"] == "answered_at_once"
    assert await desk.run("wrapup_done", "1002") == {}
    assert desk.state("1002") is PresenceState.AVAILABLE
    record = await _record(desk, call.linkedid)
    assert record is not None and record.disposition is Disposition.ANSWERED_AT_ONCE
    assert record.disposed_by == desk.users["1002"]


async def test_the_agent_who_took_a_blind_transfer_may_save_its_order(desk: Desk) -> None:  # noqa: F811
    taken = await _passed_on(desk, "1764590000.8")
    saved = await desk.run("save_order", "1002", order={**ORDER, "call_id": taken.linkedid})
    assert saved["call_id"] == taken.linkedid
    await desk.ended(taken)
    assert await desk.run("wrapup_done", "1002") == {}  # the order is the call's outcome
