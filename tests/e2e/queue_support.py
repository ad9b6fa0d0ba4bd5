"""What the E2E tests of queues, overflow seats and refused callers share: a queue as
app_queue holds it, the overflow switches the supervisors were told of, a call's record."""

from __future__ import annotations

from sqlalchemy import select

from agent_gateway.edge.protocol import SUPERVISORS
from crm.db.call_models import CallEvent, CallRecord
from crm.domain.calls import CallEventKind, CallOutcome
from tests.e2e.harness import Centre
from tests.support.polling import eventually


async def queue_status(centre: Centre, queue: str = "hotline") -> tuple[str, set[str], set[str]]:
    """The queue as app_queue holds it: strategy, members (state interfaces), callers waiting."""
    items = await centre.hotline.ami.action_list("QueueStatus", Queue=queue)
    strategy = next(i["Strategy"] for i in items if i.get("Event") == "QueueParams")
    members = {i["StateInterface"] for i in items if i.get("Event") == "QueueMember"}
    waiting = {i["CallerIDNum"] for i in items if i.get("Event") == "QueueEntry"}
    return strategy, members, waiting


async def member_is(
    centre: Centre, interface: str, member: bool, what: str, timeout: float = 5
) -> None:
    """Wait until `interface` is (or is no longer) a member of the hotline queue."""

    async def holds() -> bool:
        return (interface in (await queue_status(centre))[1]) is member

    await eventually(holds, timeout, what)


async def overflow_switches(centre: Centre, after_seq: int) -> list[tuple[bool, str]]:
    """The overflow switches told to the supervisors after `after_seq`: (on, text)."""
    found = await centre.hotline.bus.since(after_seq, [SUPERVISORS])
    return [(m.body["on"], m.body["text"]) for m in found if m.body.get("type") == "overflow"]


async def call_record(centre: Centre, linkedid: str) -> tuple[CallRecord, list[CallEventKind]]:
    async with centre.hotline.sessions() as session:
        row = await session.get(CallRecord, linkedid)
        kinds = await session.scalars(select(CallEvent.kind).where(CallEvent.linkedid == linkedid))
        assert row is not None, f"no call record for {linkedid}"
        return row, list(kinds)


async def ended_record(centre: Centre, linkedid: str) -> CallRecord:
    async def over() -> bool:
        return (await call_record(centre, linkedid))[0].outcome is not CallOutcome.IN_PROGRESS

    await eventually(over, 20, f"the record of {linkedid} ended")
    return (await call_record(centre, linkedid))[0]
