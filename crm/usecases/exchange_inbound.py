"""A receiving centre's message, carried out in one transaction as its peer user.

`accepted` / `rejected` / `result` concern one of our hand-overs (found by our order number
among the hand-overs sent to that line): the hand-over's status and the order's lifecycle
(HandoverAccepted, HandoverRejected, TransferFeedback) move together. `matter` registers an
order (channel 110 hand-over) and keeps the matter as an inbound hand-over, whose remote number
our reply carries back. The message id is stored as a receipt, with the body's digest, in the
same transaction: the same id with the same body again (the peer lost our answer and re-sends)
gets the first answer again, marked a duplicate, and changes nothing; the same id with another
body is refused (a replay); a message refused changes nothing.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.exchange_models import ExchangeReceipt, Handover
from crm.db.models import WorkOrder
from crm.domain import commands as c
from crm.domain import exchange_format as fmt
from crm.domain.calendar import WorkCalendar
from crm.domain.emergency import DEFAULT_RULES, EmergencyRules
from crm.domain.enums import Channel, HandoverDirection, HandoverStatus
from crm.errors import Conflict, NotFound
from crm.usecases.exchange_peers import peer_actor
from crm.usecases.register import NewOrder, register_order
from crm.usecases.transition import apply_command

log = logging.getLogger(__name__)

# A reply may come before we saw the peer's acknowledgement of the hand-over itself.
_OPEN = {
    "accepted": {HandoverStatus.PENDING, HandoverStatus.DELIVERED},
    "rejected": {HandoverStatus.PENDING, HandoverStatus.DELIVERED},
    "result": {HandoverStatus.ACCEPTED},
}
# A hand-over a supervisor recorded (HandoverDecision) while 110 had only acknowledged
# receipt: the order is handed over, the row still delivered; 110's result still closes it.
_RESULT_AFTER_DECISION = {HandoverStatus.DELIVERED}


def body_digest(body: bytes) -> str:
    """What a receipt keeps of the body: enough to tell a re-send from an altered message."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Received:
    """What the endpoint answers: the order concerned, and whether one was created."""

    kind: str
    order_id: int
    order_number: str
    handover_id: int
    created: bool = False
    duplicate: bool = False  # a re-send of a message carried out before: nothing done now


async def _resent(
    session: AsyncSession, peer: str, message_id: str, digest: str
) -> Received | None:
    """The first answer to a message seen before with this very body; None if never seen;
    a replay (409) if seen with another body."""
    seen = await session.scalar(
        select(ExchangeReceipt).where(
            ExchangeReceipt.peer == peer, ExchangeReceipt.message_id == message_id
        )
    )
    if seen is None:
        return None
    if seen.body_digest != digest or seen.handover_id is None:
        raise Conflict("replayed_message", f"message {message_id} was received already")
    number = await session.scalar(
        select(WorkOrder.number)
        .join(Handover, Handover.order_id == WorkOrder.id)
        .where(Handover.id == seen.handover_id)
    )
    row = await session.get(Handover, seen.handover_id)
    assert number is not None and row is not None and row.order_id is not None, "kept together"
    return Received(seen.kind, row.order_id, number, row.id, created=seen.kind == "matter",
                    duplicate=True)  # fmt: skip


async def _our_handover(session: AsyncSession, peer: str, order_number: str) -> Handover:
    """The newest hand-over of our order `order_number` sent to `peer`; 404 if none."""
    rows = await session.scalars(
        select(Handover)
        .join(WorkOrder, WorkOrder.id == Handover.order_id)
        .where(
            WorkOrder.number == order_number,
            Handover.direction == HandoverDirection.OUTBOUND,
            Handover.line == peer,
        )
        .order_by(Handover.id.desc())
        .with_for_update()
    )
    for row in rows:
        if row.payload.get("kind") == "handover":
            return row
    raise NotFound("unknown_order", f"no hand-over of order {order_number} to {peer}")


async def _reply_to_handover(
    session: AsyncSession,
    peer: str,
    message: fmt.AcceptedMessage | fmt.RejectedMessage | fmt.ResultMessage,
    now: datetime,
    calendar: WorkCalendar,
    rules: EmergencyRules,
) -> Received:
    row = await _our_handover(session, peer, message.order_number)
    decided = message.kind == "result" and row.status in _RESULT_AFTER_DECISION and (
        await session.scalar(select(WorkOrder.handed_over_at).where(WorkOrder.id == row.order_id))
    ) is not None  # fmt: skip
    if row.status not in _OPEN[message.kind] and not decided:
        raise Conflict(
            "handover_not_open", f"the hand-over is {row.status.value}: no {message.kind} now"
        )
    command: c.Command
    match message:
        case fmt.AcceptedMessage():
            command = c.HandoverAccepted(message.incident_number, message.note)
            row.status, row.accepted_at = HandoverStatus.ACCEPTED, now
            row.incident_number = message.incident_number
            row.delivered_at = row.delivered_at or now
        case fmt.RejectedMessage():
            command = c.HandoverRejected(message.reason)
            row.status, row.last_error = HandoverStatus.REJECTED, message.reason[:300]
            row.delivered_at = row.delivered_at or now
        case fmt.ResultMessage():
            command = c.TransferFeedback(message.result)
            row.status, row.result, row.result_at = HandoverStatus.CLOSED, message.result, now
    assert row.order_id is not None, "an outbound hand-over belongs to an order"
    actor = await peer_actor(session, peer)
    order = await apply_command(
        session, row.order_id, command, actor, now=now, calendar=calendar, rules=rules
    )
    return Received(message.kind, order.id, order.number, row.id)


async def _matter(
    session: AsyncSession,
    peer: str,
    message: fmt.MatterMessage,
    now: datetime,
    calendar: WorkCalendar,
    centre_code: str,
) -> Received:
    known = await session.scalar(
        select(Handover.id).where(
            Handover.direction == HandoverDirection.INBOUND,
            Handover.line == peer,
            Handover.remote_number == message.remote_number,
        )
    )
    if known is not None:
        raise Conflict("matter_known", f"matter {message.remote_number} was handed over already")
    actor = await peer_actor(session, peer)
    new = NewOrder(
        channel=Channel.POLICE_HANDOVER, text=message.summary, order_type=message.order_type,
        caller_name=message.caller.name, caller_number=message.caller.number,
        confidential=message.caller.confidential, location=message.location,
        urgency=message.urgency, severity=message.severity,
    )  # fmt: skip
    order = await register_order(
        session, new, actor, centre_code=centre_code, now=now, calendar=calendar
    )
    matter = Handover(
        order_id=order.id, direction=HandoverDirection.INBOUND, line=peer,
        message_id=message.message_id, format_version=message.format_version,
        payload=message.model_dump(mode="json"), status=HandoverStatus.ACCEPTED, attempts=0,
        created_at=now, accepted_at=now, remote_number=message.remote_number, last_error="",
        linkedid="", incident_number="", result="",
    )  # fmt: skip
    session.add(matter)
    await session.flush()
    return Received(message.kind, order.id, order.number, matter.id, created=True)


async def receive(
    session: AsyncSession,
    peer: str,
    message: fmt.AcceptedMessage | fmt.RejectedMessage | fmt.ResultMessage | fmt.MatterMessage,
    *,
    digest: str,
    now: datetime,
    calendar: WorkCalendar,
    centre_code: str,
    rules: EmergencyRules = DEFAULT_RULES,
) -> Received:
    """Carry out one verified message of `peer` (`digest`: of its body, see `body_digest`);
    raises (changing nothing) if refused. `rules` (the `[emergency]` settings) time the
    result due after an acceptance."""
    if (again := await _resent(session, peer, message.message_id, digest)) is not None:
        log.info("exchange %s %s from %s again (same body): answered as before", message.kind,
                 message.message_id, peer)  # fmt: skip
        return again
    if isinstance(message, fmt.MatterMessage):
        done = await _matter(session, peer, message, now, calendar, centre_code)
    else:
        done = await _reply_to_handover(session, peer, message, now, calendar, rules)
    session.add(ExchangeReceipt(
        peer=peer, message_id=message.message_id, kind=message.kind, received_at=now,
        handover_id=done.handover_id, body_digest=digest,
    ))  # fmt: skip
    await session.flush()
    log.info("exchange %s %s from %s: order %s", message.kind, message.message_id, peer,
             done.order_number)  # fmt: skip
    return done
