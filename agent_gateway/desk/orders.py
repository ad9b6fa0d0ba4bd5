"""The CRM as agent desktops use it: the caller summary for pops, the order of a call, the
call's outcome (its order or disposition) and the pauses of its recording.

A thin adapter: a session per unit of work around the CRM's use cases
(crm.usecases.call_order, call_disposition, recording_pause), the CRM's refusals as
`OrderRejected` (a bad order form) or `CallRefused` (the rest, with the CRM's code).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from crm.db.engine import SessionFactory
from crm.db.models import WorkOrder
from crm.domain import commands
from crm.domain.caller import CallerSummary
from crm.domain.calls import DISPOSITION_LABELS, Disposition
from crm.domain.clock import utc_now
from crm.domain.emergency import is_emergency
from crm.domain.enums import Role, Status, TransferTarget
from crm.domain.lifecycle import Actor
from crm.errors import CrmError
from crm.repo.calendar import CalendarCache
from crm.usecases import call_disposition, call_order, recording_pause, transition
from telephony.call import Call


class OrderRejected(ValueError):
    """The order form does not make a valid order; `field` names the first bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CallRefused(ValueError):
    """The CRM refused a change to a call (`code`: has_order, not_paused, invalid_note …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DeskOrders:
    def __init__(
        self,
        sessions: SessionFactory,
        centre_code: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self.centre_code = centre_code
        self.clock = clock
        self.calendar = CalendarCache()  # read again only after a calendar edit

    async def caller_summary(self, number: str) -> CallerSummary:
        """What the screen pop shows of the caller (the CRM decides: crm.domain.caller)."""
        async with self.sessions() as session:
            return await call_order.caller_summary(session, number)

    async def save(
        self,
        user_id: int,
        role: str,
        form: dict[str, Any],
        call: Call,
        emergency_line: str | None = None,
    ) -> dict[str, Any]:
        """Register the order of `call` from the desktop's form (the call fills in the caller),
        or, if the call has its order already, amend it with the form's fields (one call, one
        order: see crm.usecases.call_order). OrderRejected for a bad form or an order that may
        no longer be amended. `emergency_line`: the line (110/119/120) whose operator the
        agent reached on this call; an emergency order still registered is transferred to it
        in the same transaction (`transferred_to` in the result), so the hand-over follows."""
        taken = call_order.TakenCall(
            call.linkedid, call.caller_number, call.caller_name, call.recording
        )
        actor = Actor(user_id=user_id, role=Role(role), unit_id=None)
        now = self.clock()
        try:
            async with self.sessions() as session, session.begin():
                calendar = await self.calendar.get(session)
                saved = await call_order.save_call_order(
                    session, form, taken, actor,
                    centre_code=self.centre_code, now=now, calendar=calendar,
                )  # fmt: skip
                order = await session.get(WorkOrder, saved["order_id"])
                assert order is not None  # saved in this transaction
                if emergency_line is not None and _to_transfer(order):
                    note = f"坐席已与 {emergency_line} 接警员通话并转接"
                    command = commands.Transfer(TransferTarget(emergency_line), note)
                    await transition.apply_command(
                        session, order.id, command, actor, now=now, calendar=calendar
                    )
                    saved["transferred_to"] = emergency_line
                due = order.transfer_due_at
                return {**saved, "transfer_due_at": None if due is None else _epoch(due)}
        except CrmError as exc:
            raise OrderRejected(exc.field or "order", exc.message) from None

    async def outcome(self, linkedid: str) -> str | None:
        """"order", "disposition" or None: whether the call has its outcome yet."""
        async with self.sessions() as session:
            return await call_disposition.call_outcome(session, linkedid)

    async def dispose(
        self, user_id: int, role: str, extension: str, linkedid: str, disposition: str,
        note: str, started_at: float | None, emergency: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Store the disposition chosen at `extension` on the call (`started_at`: its arrival,
        epoch seconds, if the desk knows it; `emergency`: the desk saw a consult of it to
        110/119/120). CallRefused with the CRM's code."""
        actor = Actor(user_id=user_id, role=Role(role), unit_id=None)
        chosen = Disposition(disposition)
        try:
            async with self.sessions() as session, session.begin():
                await call_disposition.dispose_call(
                    session, linkedid, chosen, note, actor, self.clock(),
                    agent=extension, started_at=_naive_utc(started_at), emergency=emergency,
                )  # fmt: skip
        except CrmError as exc:
            raise CallRefused(exc.code, exc.message) from None
        return {"call_id": linkedid, "disposition": chosen.value,
                "label": DISPOSITION_LABELS[chosen]}  # fmt: skip

    async def recording_paused(self, linkedid: str) -> bool:
        async with self.sessions() as session:
            return await recording_pause.recording_paused(session, linkedid)

    async def record_recording_pause(
        self, user_id: int, extension: str, linkedid: str, paused: bool, started_at: float
    ) -> bool:
        """The pause (or resume) as an event on the call; False if it was paused already.
        CallRefused (not_paused) for a resume of a recording that is not paused."""
        try:
            async with self.sessions() as session, session.begin():
                return await recording_pause.record_recording_pause(
                    session, linkedid, paused, self.clock(),
                    agent=extension, user_id=user_id, started_at=_naive_utc(started_at),
                )  # fmt: skip
        except CrmError as exc:
            raise CallRefused(exc.code, exc.message) from None


def _to_transfer(order: WorkOrder) -> bool:
    """An emergency matter (its type, or a clue threatening social stability) still waiting
    for its transfer."""
    emergency = is_emergency(order.order_type, bool(order.stability_clue))
    return emergency and order.status in (Status.REGISTERED, Status.RETURNED)


def _epoch(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=UTC).timestamp()


def _naive_utc(epoch_s: float | None) -> datetime | None:
    """The CRM keeps naive UTC times."""
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, UTC).replace(tzinfo=None)
