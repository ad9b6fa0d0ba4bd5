"""What the exchange must send, stored with the change that calls for it.

A TRANSFER to 110/119/120/122 stores the structured hand-over (`HandoverMessage`) in the
transfer's own transaction, status pending: it exists exactly when the transfer does, and the
sender job (`crm.jobs.handover_sender`) delivers it, or marks it `no_peer` when that line has no
exchange configured. An order made from a matter a receiving centre handed us gets our outcome
sent back to it (`ReplyMessage`) when it reaches one. Times are naive UTC; the messages'
are UTC with their offset.
"""

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.exchange_models import Handover
from crm.db.models import OrderCall, WorkOrder
from crm.domain import exchange_format as fmt
from crm.domain.enums import (
    Channel,
    HandoverDirection,
    HandoverStatus,
    Role,
    Status,
    TransferTarget,
)
from crm.domain.masking import caller_view

log = logging.getLogger(__name__)

# The lines a hand-over is exchanged with; the emergency centre (no line) needs a supervisor's
# recorded decision instead.
EXCHANGED_LINES = frozenset({"110", "119", "120", "122"})
# An order from a matter reaches an outcome the receiving centre is told of.
REPLIED_STATUSES = frozenset({Status.CLOSED, Status.NOT_ACCEPTED, Status.ANSWERED})


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC)


def new_message_id() -> str:
    return str(uuid.uuid4())


async def _calls(session: AsyncSession, order_id: int) -> tuple[fmt.CallReference, ...]:
    rows = await session.scalars(
        select(OrderCall).where(OrderCall.order_id == order_id).order_by(OrderCall.id)
    )
    return tuple(fmt.CallReference(linkedid=r.linkedid, recording=r.recording) for r in rows)


def handover_message(
    order: WorkOrder, line: str, calls: tuple[fmt.CallReference, ...], now: datetime
) -> fmt.HandoverMessage:
    """The hand-over of `order` to `line`: the caller as a receiving centre may see them."""
    caller = caller_view(order.caller_name, order.caller_number, order.confidential, Role.PEER)
    return fmt.HandoverMessage(
        format_version=fmt.FORMAT_VERSION, message_id=new_message_id(), sent_at=_utc(now),
        line=line,  # type: ignore[arg-type]
        order_number=order.number,
        caller=fmt.Caller(name=caller.name, number=caller.number, confidential=order.confidential),
        location=order.location, order_type=order.order_type, severity=order.severity,
        urgency=order.urgency, stability_clue=order.stability_clue, summary=order.text,
        registered_at=_utc(order.registered_at),
        transfer_due_at=_utc(order.transfer_due_at) if order.transfer_due_at else None,
        calls=calls,
    )  # fmt: skip


def _outbound(order: WorkOrder, line: str, message: fmt.HandoverMessage | fmt.ReplyMessage,
              now: datetime, linkedid: str = "") -> Handover:  # fmt: skip
    return Handover(
        order_id=order.id, direction=HandoverDirection.OUTBOUND, line=line,
        message_id=message.message_id, format_version=fmt.FORMAT_VERSION,
        payload=message.model_dump(mode="json"), status=HandoverStatus.PENDING, attempts=0,
        next_attempt_at=now, last_error="", linkedid=linkedid, created_at=now,
    )  # fmt: skip


async def store_handover(
    session: AsyncSession, order: WorkOrder, target: TransferTarget, now: datetime
) -> Handover | None:
    """The hand-over a transfer to `target` sends (None: no line to exchange with)."""
    if target.value not in EXCHANGED_LINES:
        return None
    calls = await _calls(session, order.id)
    message = handover_message(order, target.value, calls, now)
    row = _outbound(order, target.value, message, now, calls[0].linkedid if calls else "")
    session.add(row)
    log.info("hand-over %s of order %s to %s stored", row.message_id, order.number, target)
    return row


async def store_reply(session: AsyncSession, order: WorkOrder, now: datetime) -> Handover | None:
    """Our outcome of an order made from a receiving centre's matter, for that centre."""
    matter = await session.scalar(
        select(Handover).where(
            Handover.order_id == order.id, Handover.direction == HandoverDirection.INBOUND
        )
    )
    if matter is None:
        return None
    message = fmt.ReplyMessage(
        format_version=fmt.FORMAT_VERSION, message_id=new_message_id(), sent_at=_utc(now),
        remote_number=matter.remote_number,
        order_number=order.number, status=order.status, result=order.result,
    )  # fmt: skip
    row = _outbound(order, matter.line, message, now)
    session.add(row)
    log.info("reply %s of order %s to %s stored", row.message_id, order.number, matter.line)
    return row


async def after_transition(
    session: AsyncSession,
    order: WorkOrder,
    target: TransferTarget | None,
    source: Status,
    now: datetime,
) -> None:
    """Called by `apply_command` once an order moved (from `source` to `order.status`):
    stores what the exchange must send because of it. `target` is a transfer's target."""
    if target is not None:
        await store_handover(session, order, target, now)
    if (
        order.channel is Channel.POLICE_HANDOVER
        and order.status in REPLIED_STATUSES
        and source is not order.status
    ):
        await store_reply(session, order, now)
