"""Time limits of work orders (办理时限), counted in Chinese working days; no I/O.

Counting starts the working day after intake (the intake day never counts), so an order taken
on a Saturday or during a holiday starts on the next working day. A due date is inclusive: the
order is overdue from the next calendar day.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm.domain.calendar import WorkCalendar
from crm.domain.enums import EMERGENCY_TYPES, OrderType, Urgency

EMERGENCY_TRANSFER_LIMIT = timedelta(minutes=10)


@dataclass(frozen=True)
class LimitPolicy:
    """Normal limit and how far approved extensions may stretch it."""

    base_days: int
    max_total_days: int | None = None  # cap on base + extensions (consultation, help, suggestion)
    max_extensions: int | None = None  # complaint/report: count of extensions ...
    extension_days: int | None = None  # ... each of exactly this many working days

    @property
    def extendable(self) -> bool:
        return self.max_total_days is not None or self.max_extensions is not None


_POLICIES: dict[OrderType, LimitPolicy] = {
    OrderType.CONSULTATION: LimitPolicy(base_days=1, max_total_days=3),
    OrderType.HELP: LimitPolicy(base_days=3, max_total_days=5),
    OrderType.SUGGESTION: LimitPolicy(base_days=3, max_total_days=5),
    OrderType.OTHER: LimitPolicy(base_days=3, max_total_days=5),
    OrderType.COMPLAINT: LimitPolicy(base_days=15, max_extensions=2, extension_days=10),
    OrderType.REPORT: LimitPolicy(base_days=15, max_extensions=2, extension_days=10),
}


class ExtensionRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# What a provisional due date means, for the agents and handlers who read it.
PROVISIONAL_NOTE = "预估：按法定节假日规则推算，未含尚未公布的调休安排"


@dataclass(frozen=True)
class DueDate:
    day: date
    provisional: bool  # some counted day lies in a year the calendar does not know


def policy_for(
    order_type: OrderType, urgency: Urgency, statutory_days: int | None = None
) -> LimitPolicy | None:
    """The limit policy, or None when the order has no working-day limit.

    Emergencies run on the transfer clock and immediate (即办) orders are due the same day; a
    limit set by law replaces the hotline's and cannot be extended here.
    """
    if order_type in EMERGENCY_TYPES or urgency is Urgency.IMMEDIATE:
        return None
    if statutory_days is not None:
        return LimitPolicy(base_days=statutory_days)
    return _POLICIES[order_type]


def add_working_days(start: date, days: int, calendar: WorkCalendar) -> DueDate:
    """The `days`-th working day after `start` (exclusive of `start`)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day = start
    provisional = not calendar.knows(day)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        provisional = provisional or not calendar.knows(day)
        if calendar.is_workday(day):
            counted += 1
    return DueDate(day, provisional)


def due_date(
    intake_day: date,
    order_type: OrderType,
    urgency: Urgency,
    calendar: WorkCalendar,
    *,
    extension_days: int = 0,
    statutory_days: int | None = None,
) -> DueDate | None:
    """Due date of an order taken on `intake_day`, counting approved extension days."""
    if urgency is Urgency.IMMEDIATE and order_type not in EMERGENCY_TYPES:
        return DueDate(intake_day, not calendar.knows(intake_day))
    policy = policy_for(order_type, urgency, statutory_days)
    if policy is None:
        return None
    return add_working_days(intake_day, policy.base_days + extension_days, calendar)


def grant_extension(
    policy: LimitPolicy | None, extensions_granted: int, extension_days: int, requested_days: int
) -> int:
    """Working days to add for an approved request, or raise why the rules forbid it.

    `extensions_granted` and `extension_days` are what was already approved on this order.
    """
    if policy is None or not policy.extendable:
        raise ExtensionRefused("this order's time limit cannot be extended")
    if requested_days < 1:
        raise ExtensionRefused("an extension is at least one working day")
    if policy.max_extensions is not None and policy.extension_days is not None:
        if extensions_granted >= policy.max_extensions:
            raise ExtensionRefused(
                f"at most {policy.max_extensions} extensions are allowed for this type"
            )
        if requested_days != policy.extension_days:
            raise ExtensionRefused(
                f"each extension for this type is {policy.extension_days} working days"
            )
        return requested_days
    assert policy.max_total_days is not None
    total = policy.base_days + extension_days + requested_days
    if total > policy.max_total_days:
        raise ExtensionRefused(
            f"the limit for this type may not exceed {policy.max_total_days} working days"
        )
    return requested_days


def transfer_due_at(intake_at: datetime) -> datetime:
    """Emergencies must be handed to 110 or the emergency centre within 10 minutes of intake."""
    return intake_at + EMERGENCY_TRANSFER_LIMIT


def is_overdue(due: date | None, today: date) -> bool:
    return due is not None and today > due
