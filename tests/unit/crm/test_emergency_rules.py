"""The emergency loop's pure rules: who runs on the clock, what the clock raises when, what
severity raises at once, the line, and how the figures count hand-overs in time."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from crm.domain.centre_alerts import CENTRE_KINDS
from crm.domain.emergency import (
    ClockFacts,
    EmergencyRules,
    HandoverRow,
    alert_message,
    clock_alerts,
    emergency_figures,
    is_emergency,
    line_for,
    registration_alerts,
    transfer_due,
)
from crm.domain.enums import AlertKind, Channel, OrderType, Severity, TransferTarget

INTAKE = datetime(2026, 12, 1, 8, 0, 0)
LIMIT = datetime(2026, 12, 1, 8, 10, 0)  # intake + 10 minutes, written out
RULES = EmergencyRules(warn_before_s=120, result_due_h=24)
ON_CLOCK = ClockFacts(
    transfer_due_at=LIMIT,
    handed_over_at=None,
    warned=False,
    escalated=False,
    result_due_at=None,
    result_overdue_raised=False,
    closed=False,
)


def at(minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 1, 8, minute, second)


@pytest.mark.parametrize(
    ("order_type", "clue", "expected"),
    [
        (OrderType.POLICE, False, True),
        (OrderType.FIRE, False, True),
        (OrderType.MEDICAL, False, True),
        (OrderType.DISASTER, False, True),
        (OrderType.COMPLAINT, True, True),
        (OrderType.COMPLAINT, False, False),
        (OrderType.CONSULTATION, False, False),
    ],
)
def test_who_runs_on_the_ten_minute_clock(
    order_type: OrderType, clue: bool, expected: bool
) -> None:
    assert is_emergency(order_type, clue) is expected
    assert transfer_due(order_type, clue, INTAKE) == (LIMIT if expected else None)


def test_the_clock_walks_warning_then_escalation_each_once() -> None:
    assert clock_alerts(ON_CLOCK, at(7, 59), RULES) == ()
    assert clock_alerts(ON_CLOCK, at(8, 0), RULES) == (AlertKind.TRANSFER_WARNING,)
    warned = replace(ON_CLOCK, warned=True)
    assert clock_alerts(warned, at(9, 59), RULES) == ()
    assert clock_alerts(warned, at(10, 0), RULES) == (AlertKind.TRANSFER_ESCALATION,)
    escalated = replace(warned, escalated=True)
    assert clock_alerts(escalated, at(30), RULES) == ()


def test_a_clock_looked_at_late_escalates_without_a_stale_warning() -> None:
    assert clock_alerts(ON_CLOCK, at(12), RULES) == (AlertKind.TRANSFER_ESCALATION,)


def test_the_warning_follows_warn_before_s() -> None:
    early = EmergencyRules(warn_before_s=300)
    assert clock_alerts(ON_CLOCK, at(5, 0), early) == (AlertKind.TRANSFER_WARNING,)
    assert clock_alerts(ON_CLOCK, at(4, 59), early) == ()


def test_a_confirmed_hand_over_stops_the_clock_and_starts_the_results() -> None:
    handed = replace(ON_CLOCK, handed_over_at=at(6), result_due_at=at(6) + timedelta(hours=24))
    assert clock_alerts(handed, at(10), RULES) == ()
    assert clock_alerts(handed, at(6) + timedelta(hours=23, minutes=59), RULES) == ()
    due = at(6) + timedelta(hours=24)
    assert clock_alerts(handed, due, RULES) == (AlertKind.RESULT_OVERDUE,)
    raised = replace(handed, result_overdue_raised=True)
    assert clock_alerts(raised, due + timedelta(hours=5), RULES) == ()


def test_a_closed_order_raises_nothing() -> None:
    closed = replace(ON_CLOCK, closed=True)
    assert clock_alerts(closed, at(30), RULES) == ()


def test_an_order_off_the_clock_raises_nothing() -> None:
    assert clock_alerts(replace(ON_CLOCK, transfer_due_at=None), at(30), RULES) == ()


@pytest.mark.parametrize(
    ("severity", "clue", "expected"),
    [
        (Severity.GENERAL, False, ()),
        (Severity.MAJOR, False, (AlertKind.SEVERITY,)),
        (Severity.SERIOUS, False, (AlertKind.SEVERITY,)),
        (Severity.ESPECIALLY_SERIOUS, False, (AlertKind.SEVERITY,)),
        (Severity.GENERAL, True, (AlertKind.STABILITY_CLUE,)),
        (Severity.MAJOR, True, (AlertKind.SEVERITY, AlertKind.STABILITY_CLUE)),
    ],
)
def test_major_and_above_and_stability_clues_alert_at_registration(
    severity: Severity, clue: bool, expected: tuple[AlertKind, ...]
) -> None:
    assert registration_alerts(severity, clue) == expected


def test_a_matter_handed_over_by_110_alerts_at_registration() -> None:
    assert registration_alerts(Severity.GENERAL, False, Channel.POLICE_HANDOVER) == (
        AlertKind.INBOUND_MATTER,
    )
    assert registration_alerts(Severity.MAJOR, False, Channel.POLICE_HANDOVER) == (
        AlertKind.INBOUND_MATTER,
        AlertKind.SEVERITY,
    )
    assert registration_alerts(Severity.GENERAL, False, Channel.PHONE) == ()


def test_the_line_is_the_transfer_target_else_the_type() -> None:
    assert line_for(OrderType.FIRE, None) is TransferTarget.FIRE_119
    assert line_for(OrderType.MEDICAL, None) is TransferTarget.MEDICAL_120
    assert line_for(OrderType.POLICE, None) is TransferTarget.POLICE_110
    assert line_for(OrderType.COMPLAINT, None) is TransferTarget.POLICE_110  # a stability clue
    assert line_for(OrderType.DISASTER, None) is TransferTarget.EMERGENCY_CENTRE
    assert line_for(OrderType.FIRE, TransferTarget.POLICE_110) is TransferTarget.POLICE_110


def test_every_alert_kind_has_a_chinese_message() -> None:
    for kind in set(AlertKind) - CENTRE_KINDS:  # the centre's have no order (centre_alerts)
        text = alert_message(kind, "HL0001", Severity.SERIOUS, TransferTarget.FIRE_119, RULES)
        assert "HL0001" in text
    warning = alert_message(
        AlertKind.TRANSFER_WARNING, "HL0001", Severity.GENERAL, TransferTarget.POLICE_110, RULES
    )
    assert "2 分钟" in warning
    severity = alert_message(
        AlertKind.SEVERITY, "HL0001", Severity.SERIOUS, TransferTarget.POLICE_110, RULES
    )
    assert severity.startswith("重大")


def test_figures_count_in_time_late_open_and_results_by_line() -> None:
    def row(
        line: TransferTarget, handed: datetime | None, *, open_: bool, back: bool
    ) -> HandoverRow:
        return HandoverRow(line, LIMIT, handed, open_, back)

    rows = [
        row(TransferTarget.POLICE_110, at(4), open_=False, back=True),  # in time, closed
        row(TransferTarget.POLICE_110, at(10), open_=True, back=False),  # at the limit: in time
        row(TransferTarget.POLICE_110, at(10, 1), open_=True, back=False),  # late
        row(TransferTarget.FIRE_119, None, open_=True, back=False),  # limit passed, unconfirmed
        row(TransferTarget.MEDICAL_120, at(2), open_=False, back=True),
    ]
    figures = emergency_figures(rows, now=at(30))
    total = figures.total
    assert (total.emergency_orders, total.handed_over, total.in_time, total.late) == (5, 4, 3, 1)
    assert (total.unconfirmed_overdue, total.still_open, total.result_back) == (1, 3, 2)
    police = figures.by_line["110"]
    assert (police.emergency_orders, police.in_time, police.late, police.result_back) == (
        3,
        2,
        1,
        1,
    )
    assert figures.by_line["119"].unconfirmed_overdue == 1
    assert figures.by_line["120"].in_time == 1
    before_limit = emergency_figures(rows[3:4], now=at(9))
    assert before_limit.total.unconfirmed_overdue == 0
