"""The emergency loop's rules (rules §2, §3, §8), with no I/O: which orders run on the
10-minute clock, which line they go to, what the clock job must raise now, what severity
raises at once, and how the figures count a hand-over in time.

The clock stops only at a confirmed hand-over (`handed_over_at`: the receiving centre's
acceptance or a supervisor's recorded decision); a transfer not yet confirmed still counts.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crm.domain.deadlines import transfer_due_at
from crm.domain.enums import (
    EMERGENCY_TYPES,
    AlertKind,
    Channel,
    OrderType,
    Severity,
    TransferTarget,
)

# The lines a transfer hands a matter to on the 10-minute clock (122 and the utilities are
# ordinary referrals).
EMERGENCY_LINES = frozenset(
    {
        TransferTarget.POLICE_110,
        TransferTarget.FIRE_119,
        TransferTarget.MEDICAL_120,
        TransferTarget.EMERGENCY_CENTRE,
    }
)
MAJOR_OR_ABOVE = frozenset({Severity.MAJOR, Severity.SERIOUS, Severity.ESPECIALLY_SERIOUS})
_LINE_OF_TYPE = {
    OrderType.FIRE: TransferTarget.FIRE_119,
    OrderType.MEDICAL: TransferTarget.MEDICAL_120,
    OrderType.DISASTER: TransferTarget.EMERGENCY_CENTRE,
}


@dataclass(frozen=True)
class EmergencyRules:
    """The `[emergency]` settings the CRM needs, passed in by the wiring root."""

    warn_before_s: int = 120
    result_due_h: float = 24.0
    duty_leaders: tuple[int, ...] = ()  # CRM user ids

    @property
    def warn_before(self) -> timedelta:
        return timedelta(seconds=self.warn_before_s)

    @property
    def result_due(self) -> timedelta:
        return timedelta(hours=self.result_due_h)


DEFAULT_RULES = EmergencyRules()


def is_emergency(order_type: OrderType, stability_clue: bool) -> bool:
    """An emergency type, or a clue threatening social stability (pushed to 110 at once)."""
    return order_type in EMERGENCY_TYPES or stability_clue


def transfer_due(
    order_type: OrderType,
    stability_clue: bool,
    intake_at: datetime,
    *,
    emergency_call: bool = False,
) -> datetime | None:
    """The hand-over limit (intake + 10 minutes, rules §2) of an order on the clock; None
    otherwise. On the clock: an emergency matter, or the order of a call that reached or was
    sent towards 110/119/120 (`emergency_call`) whatever its type."""
    on_clock = emergency_call or is_emergency(order_type, stability_clue)
    return transfer_due_at(intake_at) if on_clock else None


def line_for(order_type: OrderType, target: TransferTarget | None) -> TransferTarget:
    """Where the order is (to be) handed: its transfer's target, else its type's line; police
    matters and stability clues go to 110."""
    if target is not None:
        return target
    return _LINE_OF_TYPE.get(order_type, TransferTarget.POLICE_110)


def registration_alerts(
    severity: Severity, stability_clue: bool, channel: Channel | None = None
) -> tuple[AlertKind, ...]:
    """Alerts raised at once when an order is registered (or amended into them): a matter
    110 handed us, one major or above, a stability clue."""
    kinds: list[AlertKind] = []
    if channel is Channel.POLICE_HANDOVER:
        kinds.append(AlertKind.INBOUND_MATTER)
    if severity in MAJOR_OR_ABOVE:
        kinds.append(AlertKind.SEVERITY)
    if stability_clue:
        kinds.append(AlertKind.STABILITY_CLUE)
    return tuple(kinds)


@dataclass(frozen=True)
class ClockFacts:
    """What the clock job reads of one order."""

    transfer_due_at: datetime | None
    handed_over_at: datetime | None
    warned: bool
    escalated: bool
    result_due_at: datetime | None
    result_overdue_raised: bool
    closed: bool


def clock_alerts(facts: ClockFacts, now: datetime, rules: EmergencyRules) -> tuple[AlertKind, ...]:
    """The clock's alerts due now, each raised once: the warning `warn_before_s` before the
    limit, the escalation at it (a job that was down raises only the escalation), and the
    result overdue once a handed-over order's result is past due."""
    if facts.closed:
        return ()
    if facts.handed_over_at is None and facts.transfer_due_at is not None:
        if now >= facts.transfer_due_at:
            return () if facts.escalated else (AlertKind.TRANSFER_ESCALATION,)
        if now >= facts.transfer_due_at - rules.warn_before and not facts.warned:
            return (AlertKind.TRANSFER_WARNING,)
        return ()
    if (
        facts.handed_over_at is not None
        and facts.result_due_at is not None
        and now >= facts.result_due_at
        and not facts.result_overdue_raised
    ):
        return (AlertKind.RESULT_OVERDUE,)
    return ()


_MESSAGES = {
    AlertKind.TRANSFER_WARNING: "紧急工单 {number} 距移交时限不足 {minutes} 分钟，尚未确认移交",
    AlertKind.TRANSFER_ESCALATION: "紧急工单 {number} 已超过10分钟移交时限，尚未确认移交",
    AlertKind.SEVERITY: "{severity}事件工单 {number}，请值班领导及时掌握",
    AlertKind.STABILITY_CLUE: "工单 {number} 涉及影响社会稳定的线索，须即时推送{line}",
    AlertKind.HANDOVER_REJECTED: "工单 {number} 被{line}退回，请重新处置",
    AlertKind.HANDOVER_UNDELIVERED: "工单 {number} 向{line}移交多次未送达",
    AlertKind.RESULT_OVERDUE: "工单 {number} 已移交{line}，处置结果逾期未反馈",
    AlertKind.INBOUND_MATTER: "{line}转来事项，已生成工单 {number}",
}
SEVERITY_LABELS = {
    Severity.GENERAL: "一般",
    Severity.MAJOR: "较大",
    Severity.SERIOUS: "重大",
    Severity.ESPECIALLY_SERIOUS: "特别重大",
}
_LINE_LABELS = {TransferTarget.EMERGENCY_CENTRE: "应急指挥中心"}


def alert_message(
    kind: AlertKind, number: str, severity: Severity, line: TransferTarget, rules: EmergencyRules
) -> str:
    """The Chinese text a supervisor's desk shows for an alert."""
    return _MESSAGES[kind].format(
        number=number,
        minutes=max(1, rules.warn_before_s // 60),
        severity=SEVERITY_LABELS[severity],
        line=_LINE_LABELS.get(line, line.value),
    )


@dataclass(frozen=True)
class HandoverRow:
    """One emergency order as the figures count it."""

    line: TransferTarget
    transfer_due_at: datetime
    handed_over_at: datetime | None
    open: bool
    result_back: bool


@dataclass
class LineFigures:
    emergency_orders: int = 0
    handed_over: int = 0
    in_time: int = 0  # confirmed within 10 minutes of intake
    late: int = 0  # confirmed after the limit
    unconfirmed_overdue: int = 0  # no confirmed hand-over and the limit passed
    still_open: int = 0
    result_back: int = 0

    def count(self, row: HandoverRow, now: datetime) -> None:
        self.emergency_orders += 1
        if row.handed_over_at is not None:
            self.handed_over += 1
            if row.handed_over_at <= row.transfer_due_at:
                self.in_time += 1
            else:
                self.late += 1
        elif now > row.transfer_due_at:
            self.unconfirmed_overdue += 1
        self.still_open += row.open
        self.result_back += row.result_back


@dataclass
class EmergencyFigures:
    total: LineFigures = field(default_factory=LineFigures)
    by_line: dict[str, LineFigures] = field(default_factory=dict)


def emergency_figures(rows: Iterable[HandoverRow], now: datetime) -> EmergencyFigures:
    """Counts over emergency orders, in total and by line."""
    figures = EmergencyFigures()
    for row in rows:
        figures.total.count(row, now)
        figures.by_line.setdefault(row.line.value, LineFigures()).count(row, now)
    return figures
