"""The exchange door over real HTTP on SQLite and PostgreSQL, for what a peer does after the
first exchange: re-sending a message whose answer it lost, and closing with its result a
hand-over a supervisor recorded by decision."""

from sqlalchemy import func, select

from crm.db.engine import SessionFactory
from crm.db.exchange_models import ExchangeReceipt, Handover
from crm.db.models import AuditEntry, WorkOrder
from tests.integration.crm.test_exchange import World, deliver, handovers, sender, transferred
from tests.integration.crm.test_exchange import world as world


async def _counts(sessions: SessionFactory) -> tuple[int, ...]:
    async with sessions() as session:
        return tuple([
            await session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Handover, ExchangeReceipt, WorkOrder, AuditEntry)
        ])  # fmt: skip


async def test_a_resent_reply_gets_its_first_answer_and_changes_nothing(world: World) -> None:
    api, centre, sessions, endpoint = world
    order = await transferred(api)
    accepted = centre.message("accepted", order_number=order["number"], incident_number="JJ-3")
    status, first = await centre.post(endpoint, accepted)
    assert (status, first["duplicate"]) == (200, False), first
    before = await _counts(sessions)
    status, again = await centre.post(endpoint, accepted)  # signed anew, same id and body
    assert status == 200, again
    assert again == {**first, "duplicate": True}
    assert await _counts(sessions) == before
    [row] = await handovers(sessions)
    assert (row.status.value, row.incident_number) == ("accepted", "JJ-3")
    altered = {**accepted, "incident_number": "JJ-4"}
    status, refused = await centre.post(endpoint, altered)
    assert (status, refused["error"]["code"]) == (409, "replayed_message")
    assert await _counts(sessions) == before


async def test_a_resent_matter_gets_its_order_again_not_a_second_one(world: World) -> None:
    _, centre, sessions, endpoint = world
    matter = centre.message("matter", remote_number="JJ-21", order_type="help", summary="非警务")
    status, first = await centre.post(endpoint, matter)
    assert status == 201, first
    before = await _counts(sessions)
    status, again = await centre.post(endpoint, matter)
    assert (status, again) == (201, {**first, "duplicate": True})
    assert await _counts(sessions) == before


async def test_the_result_closes_a_handover_a_supervisor_recorded(world: World) -> None:
    api, centre, sessions, endpoint = world
    order = await transferred(api)
    await deliver(sender(sessions, centre), centre, kept=1)  # delivered, never accepted
    await api.ok(order["id"], "handover_decision", "supervisor", note="110 接警员电话确认")
    result = centre.message("result", order_number=order["number"], result="民警到场，已处置")
    status, body = await centre.post(endpoint, result)
    assert (status, body.get("order_number")) == (200, order["number"]), body
    _, got = await api.get(f"/api/orders/{order['id']}", "supervisor")
    assert (got["status"], got["result"], got["handover_confirmed_by"]) == (
        "closed", "民警到场，已处置", "supervisor")  # fmt: skip
    [row] = await handovers(sessions)
    assert (row.status.value, row.result) == ("closed", "民警到场，已处置")


async def test_a_result_before_any_hand_over_is_still_refused(world: World) -> None:
    api, centre, sessions, endpoint = world
    order = await transferred(api)
    await deliver(sender(sessions, centre), centre, kept=1)
    result = centre.message("result", order_number=order["number"], result="已处置")
    status, body = await centre.post(endpoint, result)
    assert (status, body["error"]["code"]) == (409, "handover_not_open")
    _, got = await api.get(f"/api/orders/{order['id']}", "supervisor")
    assert got["status"] == "transferred"
