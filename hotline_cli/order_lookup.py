"""The IVR's order-status port (`ivr.order_status_rules.OrderLookup`) over the CRM: the
order number rebuilt from the keyed digits and the centre's code, numbers read in their
national form (the nuisance list's normaliser), each lookup logged with the number masked."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from config.nuisance_list import national_number
from crm.db.engine import SessionFactory
from crm.domain.enums import Status
from crm.domain.masking import mask_number
from crm.usecases.order_status import OrderStatusFacts, newest_open_order, order_status
from ivr.order_status_rules import ORDER_DIGITS, OrderFacts, Stage

log = logging.getLogger(__name__)

STAGES: Mapping[Status, Stage] = {
    Status.REGISTERED: Stage.RECEIVED,
    Status.RETURNED: Stage.RECEIVED,  # back at the centre to be dispatched again
    Status.DISPATCHED: Stage.HANDLING,
    Status.ACCEPTED: Stage.HANDLING,
    Status.CONTACTED: Stage.HANDLING,
    Status.REOPENED: Stage.HANDLING,
    Status.REPLIED: Stage.REPLIED,
    Status.CLOSED: Stage.CLOSED,
    Status.NOT_ACCEPTED: Stage.NOT_ACCEPTED,
    Status.ANSWERED: Stage.ANSWERED,
    Status.TRANSFERRED: Stage.TRANSFERRED,
}


def order_facts(found: OrderStatusFacts) -> OrderFacts:
    return OrderFacts(
        phone=national_number(found.caller_number) or "",
        confidential=found.confidential,
        stage=STAGES[found.status],
        registered=found.registered_on,
        unit=found.unit_name,
        due=found.due_date,
    )


class OrderStatusLookup:
    """Reads in a session of its own per lookup: a call's IVR holds no transaction open."""

    def __init__(self, sessions: SessionFactory, centre_code: str) -> None:
        self._sessions = sessions
        self._centre_code = centre_code

    def national(self, number: str) -> str | None:
        return national_number(number)

    async def open_order_of(self, caller_id: str, uniqueid: str) -> OrderFacts | None:
        number = national_number(caller_id)
        if number is None:  # withheld or hostile: the caller keys the order and the phone in
            log.info("IVR %r: caller ID is no phone number: no order offered", uniqueid)
            return None
        async with self._sessions() as session:
            # the order keeps the number as the call or the agent gave it
            found = await newest_open_order(session, {number, caller_id.strip()})
        log.info(
            "IVR %r: open order of caller %s: %s",
            uniqueid, mask_number(number), found.number if found else "none",
        )  # fmt: skip
        return None if found is None else order_facts(found)

    async def order(self, digits: str, uniqueid: str) -> OrderFacts | None:
        if len(digits) != ORDER_DIGITS or not digits.isdigit():
            raise ValueError(f"not {ORDER_DIGITS} digits of an order number: {digits!r}")
        number = f"{self._centre_code}-{digits[:8]}-{digits[8:]}"
        async with self._sessions() as session:
            found = await order_status(session, number)
        facts = None if found is None else order_facts(found)
        log.info(
            "IVR %r: order %s looked up: %s (phone %s)",
            uniqueid, number, "found" if facts else "unknown",
            mask_number(facts.phone) if facts else "-",
        )  # fmt: skip
        return facts
