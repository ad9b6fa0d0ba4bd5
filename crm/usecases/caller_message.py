"""A caller nobody could answer, as a work order: the message they left (recorded as
the call's recording, attached to the order), or their request to be called back.

An order, not a disposition, for both: it is on the desk's lists and on the deadline clock
with the supervision sweeps, so a message or a callback is followed up like any matter, and
the agent who listens reclassifies it (amendable until dispatched). One call, one order
(`save_call_order`): a second report of the same call changes nothing.
"""

import re
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.domain.calendar import WorkCalendar
from crm.domain.enums import OrderType
from crm.domain.lifecycle import Actor
from crm.repo.call_records import add_recording
from crm.usecases.call_disposition import ensure_call_record
from crm.usecases.call_order import TakenCall, save_call_order

MESSAGE_TEXT = "来电时无人接听，来电人留言（见本通话录音），请收听后处理并回复。"
CALLBACK_TEXT = "来电时无人接听，来电人请求回电，请尽快回电。"
_DIALLABLE = re.compile(r"[0-9+*#-]{1,32}")


async def take_caller_message(
    session: AsyncSession, call: TakenCall, actor: Actor, *, centre_code: str, now: datetime,
    calendar: WorkCalendar,
) -> dict[str, Any]:  # fmt: skip
    """Register the order of `call` (`recording` "": a callback request); a caller ID that
    is no phone number is left out (hostile or withheld). The message is the call's recording
    (PENDING: the recording checker checks it once the call has ended and attaches it to the
    order, as for an answered call's). The caller commits."""
    if call.recording:
        await ensure_call_record(session, call.linkedid, now)
        await add_recording(session, call.linkedid, call.recording, now)
    number = call.caller_number if _DIALLABLE.fullmatch(call.caller_number) else ""
    form = {
        "text": MESSAGE_TEXT if call.recording else CALLBACK_TEXT,
        "order_type": OrderType.CONSULTATION.value,
        "caller_number": number,
    }
    return await save_call_order(
        session, form, call, actor, centre_code=centre_code, now=now, calendar=calendar
    )
