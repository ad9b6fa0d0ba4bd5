"""No emergency slips out through a disposition, through the desk's verb table on a real
Redis and a real CRM database (SQLite and PostgreSQL): a call that reached or was being sent
towards 110/119/120 takes no disposition, and `emergency_referred` is refused for any call;
each refusal leaves the call without a disposition, and its order can still be saved."""

from __future__ import annotations

from datetime import datetime

from crm.usecases.call_disposition import ensure_call_record
from telephony.call_control import Consult, ConsultMode, ConsultState, ControlState, TargetKind
from tests.integration.crm.conftest import (  # noqa: F401  (the fixtures, for both databases)
    database_url,
    postgres_template,
    postgres_url,
    sqlite_template,
)
from tests.integration.desk.test_desk_outcome import ORDER, Desk, _record
from tests.integration.desk.test_desk_outcome import desk as desk  # the fixture

AT = datetime(2025, 12, 1, 11, 54)


async def _stored(desk: Desk, linkedid: str, *, started: bool, line: str) -> None:
    """The call log's record of the call, as its writer stores a consult to 110."""
    async with desk.sessions() as session, session.begin():
        record = await ensure_call_record(session, linkedid, AT)
        record.emergency_started_at = AT if started else None
        record.emergency_line = line


async def test_a_call_sent_towards_110_takes_no_disposition(desk: Desk) -> None:
    started = await desk.answered("1764590000.31", "1001")
    await _stored(desk, started.linkedid, started=True, line="")
    reached = await desk.answered("1764590000.32", "1002")
    await _stored(desk, reached.linkedid, started=False, line="119")
    for call, ext in ((started, "1001"), (reached, "1002")):
        await desk.ended(call)
        for disposition in ("wrong_number", "answered_at_once", "emergency_referred"):
            code = await desk.refused("dispose", ext, call_id=call.linkedid,
                                      disposition=disposition)  # fmt: skip
            assert code == "emergency_needs_order"
        record = await _record(desk, call.linkedid)
        assert record is not None and record.disposition is None
        assert await desk.refused("wrapup_done", ext) == "outcome_required"
        await desk.run("save_order", ext, order={**ORDER, "call_id": call.linkedid})
        assert await desk.run("wrapup_done", ext) == {}


async def test_a_consult_the_desk_saw_before_the_call_log_stored_it(desk: Desk) -> None:
    call = await desk.answered("1764590000.33", "1001")
    consult = Consult("110", TargetKind.EMERGENCY, "110", ConsultMode.HOLD,
                      ConsultState.RINGING, "", 1_764_590_010.0)  # fmt: skip
    desk.service.control.changed(ControlState(call.linkedid, held=True, conference=True,
                                              consult=consult))  # fmt: skip
    assert await desk.refused("dispose", "1001", call_id=call.linkedid,
                              disposition="dropped") == "emergency_needs_order"  # fmt: skip
    record = await _record(desk, call.linkedid)
    assert record is None or record.disposition is None


async def test_emergency_referred_is_refused_for_any_call(desk: Desk) -> None:
    call = await desk.answered("1764590000.34", "1002")
    await desk.ended(call)
    code = await desk.refused("dispose", "1002", call_id=call.linkedid,
                              disposition="emergency_referred")  # fmt: skip
    assert code == "emergency_needs_order"
    assert await _record(desk, call.linkedid) is None  # nothing stored by the refusal
    result = await desk.run("dispose", "1002", call_id=call.linkedid, disposition="silent")
    assert result["label"] == "无声电话"
