"""The order-status self-service's decisions, pure: what a keyed entry means, which order is
offered, whether the caller's identity holds, and the prompts that read an order back.

Identity is the order's phone number (national form, so ``+86``/``0086`` prefixes compare
equal): the caller ID, or the whole number keyed in. Not its last four digits: the CRM's
masking shows exactly those (138****5678) wherever a number is masked, so they prove nothing.
A confidential order (安全保密) is never offered by caller ID nor read on it: its caller keys
the number in. Someone who fails the check hears the same sentence whether or not the order
exists (工单编号或电话号码不正确), and the phone number is asked for even when the order
number is unknown, so the line cannot be used to find out which orders exist.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from typing import Protocol

from ivr.order_status_prompts import (
    DUE,
    STAGE_PROMPTS,
    UNIT,
    day_prompt,
    month_prompt,
)

AGENT_KEY = "0"
ORDER_DIGITS = 14  # the order number after the centre's code: its date (8) and sequence (6)
PHONE_LENGTHS = range(7, 21)  # a local landline's 7 digits up to 0086 + area code + number
MAX_ENTRY = 24  # keys GET DATA collects at most: a longer run is cut there and refused


class Stage(StrEnum):
    """Where an order stands, as a caller is told it (the CRM's statuses map onto these)."""

    RECEIVED = "received"  # registered or returned: a unit is being chosen
    HANDLING = "handling"  # a unit works on it: its deadline runs
    REPLIED = "replied"
    CLOSED = "closed"
    NOT_ACCEPTED = "not_accepted"
    ANSWERED = "answered"
    TRANSFERRED = "transferred"


_UNIT_STAGES = frozenset({Stage.HANDLING, Stage.REPLIED, Stage.CLOSED})


@dataclass(frozen=True)
class OrderFacts:
    """What the line may say of one order, and what proves the caller's identity."""

    phone: str  # the order's phone number, national (OrderLookup.national); "" for none
    confidential: bool
    stage: Stage
    registered: date  # the intake day, as in the order number
    unit: str = ""  # the lead handling unit's name
    due: date | None = None


class OrderLookup(Protocol):
    """The port to the CRM (implemented at the wiring root); each lookup is logged there."""

    def national(self, number: str) -> str | None:
        """A phone number as dialled inside China, None when it is no phone number."""

    async def open_order_of(self, caller_id: str, uniqueid: str) -> OrderFacts | None:
        """The newest open order registered with the caller's number, if any."""

    async def order(self, digits: str, uniqueid: str) -> OrderFacts | None:
        """The order whose number ends in these ORDER_DIGITS digits, if any."""


class EntryKind(Enum):
    VALUE = "value"
    AGENT = "agent"
    AGAIN = "again"  # `*` (start again), a wrong length: ask once more
    NOTHING = "nothing"  # no key (or `#` alone): like the main menu, straight to an agent


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    digits: str = ""


def read_entry(raw: str, valid: Callable[[str], bool]) -> Entry:
    """What keys collected by GET DATA (``#`` ends them and is not in ``raw``) ask for."""
    if not raw:
        return Entry(EntryKind.NOTHING)
    if raw == AGENT_KEY:
        return Entry(EntryKind.AGENT)
    if raw.isascii() and raw.isdigit() and valid(raw):
        return Entry(EntryKind.VALUE, raw)
    return Entry(EntryKind.AGAIN)


def valid_order_digits(digits: str) -> bool:
    """Fourteen digits: an existing date (YYYYMMDD) and a sequence from 000001."""
    if len(digits) != ORDER_DIGITS or int(digits[8:]) == 0:
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def valid_phone_digits(digits: str) -> bool:
    return len(digits) in PHONE_LENGTHS


def identity_holds(order: OrderFacts, caller: str | None, keyed: str | None) -> bool:
    """The keyed number is the order's; or, for an order that is not confidential, the
    caller ID is. Both already national; an order with no number can never be read."""
    if not order.phone:
        return False
    if keyed is not None and keyed == order.phone:
        return True
    return not order.confidential and caller is not None and caller == order.phone


def offered(own: OrderFacts | None, caller: str | None) -> OrderFacts | None:
    """The caller's own open order, offered first when their caller ID proves it theirs."""
    if own is None or not identity_holds(own, caller, None):
        return None
    return own


def date_words(day: date) -> tuple[str, str]:
    """十月 九日 (the year is left out: an intake or a deadline is weeks away, not years)."""
    return month_prompt(day.month), day_prompt(day.day)


def readout(order: OrderFacts, unit_prompt: str | None) -> tuple[str, ...]:
    """The prompts that say where the order stands: its stage, its unit once it has one
    (``unit_prompt``: the name's synthesised prompt, None if none could be made), and the
    deadline while a unit still owes work."""
    said = [STAGE_PROMPTS[order.stage][0]]
    if unit_prompt is not None and order.stage in _UNIT_STAGES:
        said += [UNIT, unit_prompt]
    if order.due is not None and order.stage is Stage.HANDLING:
        said += [DUE, *date_words(order.due)]
    return tuple(said)
