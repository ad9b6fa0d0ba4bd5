"""Time limits on the Chinese calendar, extension limits and the emergency clock."""

from datetime import date, datetime, timedelta

import pytest

from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.deadlines import (
    DueDate,
    ExtensionRefused,
    add_working_days,
    due_date,
    grant_extension,
    is_overdue,
    policy_for,
    transfer_due_at,
)
from crm.domain.enums import EMERGENCY_TYPES, OrderType, Urgency

CAL = ChineseWorkCalendar()


def test_national_day_2025_holiday_is_skipped() -> None:
    # 2025: Oct 1-8 off, Sun Sep 28 and Sat Oct 11 adjusted working days
    assert due_date(date(2025, 9, 30), OrderType.CONSULTATION, Urgency.NORMAL, CAL) == DueDate(
        date(2025, 10, 9), provisional=False
    )


def test_adjusted_saturday_counts_as_working_day() -> None:
    # taken Thu Oct 9: Fri 10 (1), Sat 11 adjusted working day (2), Mon 13 (3)
    due = due_date(date(2025, 10, 9), OrderType.HELP, Urgency.NORMAL, CAL)
    assert due == DueDate(date(2025, 10, 13), provisional=False)


def test_adjusted_sunday_before_the_holiday_counts() -> None:
    # taken Sat Sep 27: Sun 28 is a working day
    due = due_date(date(2025, 9, 27), OrderType.CONSULTATION, Urgency.NORMAL, CAL)
    assert due is not None and due.day == date(2025, 9, 28)


def test_complaint_spanning_national_day() -> None:
    # taken Mon Sep 29; working days: 9/30, 10/9, 10/10, 10/11(Sat), 10/13-17, 10/20-24, 10/27
    due = due_date(date(2025, 9, 29), OrderType.COMPLAINT, Urgency.NORMAL, CAL)
    assert due == DueDate(date(2025, 10, 27), provisional=False)


@pytest.mark.parametrize(
    ("order_type", "days"),
    [
        (OrderType.CONSULTATION, 1),
        (OrderType.HELP, 3),
        (OrderType.SUGGESTION, 3),
        (OrderType.COMPLAINT, 15),
        (OrderType.REPORT, 15),
    ],
)
def test_base_limits_per_type(order_type: OrderType, days: int) -> None:
    policy = policy_for(order_type, Urgency.NORMAL)
    assert policy is not None and policy.base_days == days


def test_intake_on_weekend_starts_counting_next_working_day() -> None:
    # Sat 2025-03-08 -> Mon 10 is day 1
    assert add_working_days(date(2025, 3, 8), 1, CAL).day == date(2025, 3, 10)


def test_zero_days_is_the_start_day_and_negative_is_refused() -> None:
    assert add_working_days(date(2025, 3, 8), 0, CAL).day == date(2025, 3, 8)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 3, 8), -1, CAL)


@pytest.mark.parametrize("order_type", sorted(EMERGENCY_TYPES))
def test_emergencies_have_no_working_day_limit(order_type: OrderType) -> None:
    assert due_date(date(2025, 3, 3), order_type, Urgency.NORMAL, CAL) is None
    assert due_date(date(2025, 3, 3), order_type, Urgency.IMMEDIATE, CAL) is None


def test_immediate_orders_are_due_the_same_day_even_on_holidays() -> None:
    due = due_date(date(2025, 10, 3), OrderType.HELP, Urgency.IMMEDIATE, CAL)
    assert due == DueDate(date(2025, 10, 3), provisional=False)


def test_statutory_limit_overrides_and_cannot_be_extended() -> None:
    due = due_date(date(2025, 3, 3), OrderType.COMPLAINT, Urgency.NORMAL, CAL, statutory_days=2)
    assert due is not None and due.day == date(2025, 3, 5)
    with pytest.raises(ExtensionRefused):
        grant_extension(policy_for(OrderType.COMPLAINT, Urgency.NORMAL, 2), 0, 0, 1)


def test_extension_days_move_the_due_date() -> None:
    due = due_date(date(2025, 3, 3), OrderType.HELP, Urgency.NORMAL, CAL, extension_days=2)
    assert due is not None and due.day == date(2025, 3, 10)  # Mon 3 + (3 + 2) wd


def test_emergency_transfer_clock_is_ten_minutes() -> None:
    intake = datetime(2025, 3, 3, 1, 0)
    assert transfer_due_at(intake) - intake == timedelta(minutes=10)


def test_overdue_from_the_day_after_the_due_date() -> None:
    assert not is_overdue(date(2025, 3, 3), date(2025, 3, 3))
    assert is_overdue(date(2025, 3, 3), date(2025, 3, 4))
    assert not is_overdue(None, date(2030, 1, 1))


class TestExtensionLimits:
    def test_consultation_up_to_three_days_in_total(self) -> None:
        policy = policy_for(OrderType.CONSULTATION, Urgency.NORMAL)
        assert grant_extension(policy, 0, 0, 2) == 2
        assert grant_extension(policy, 1, 1, 1) == 1
        with pytest.raises(ExtensionRefused):
            grant_extension(policy, 0, 0, 3)
        with pytest.raises(ExtensionRefused):
            grant_extension(policy, 1, 2, 1)

    @pytest.mark.parametrize("order_type", [OrderType.HELP, OrderType.SUGGESTION])
    def test_help_and_suggestion_up_to_five_days(self, order_type: OrderType) -> None:
        policy = policy_for(order_type, Urgency.NORMAL)
        assert grant_extension(policy, 0, 0, 2) == 2
        with pytest.raises(ExtensionRefused):
            grant_extension(policy, 0, 0, 3)
        with pytest.raises(ExtensionRefused):
            grant_extension(policy, 1, 2, 1)

    @pytest.mark.parametrize("order_type", [OrderType.COMPLAINT, OrderType.REPORT])
    def test_complaint_two_extensions_of_ten_days(self, order_type: OrderType) -> None:
        policy = policy_for(order_type, Urgency.NORMAL)
        assert grant_extension(policy, 0, 0, 10) == 10
        assert grant_extension(policy, 1, 10, 10) == 10
        with pytest.raises(ExtensionRefused, match="at most 2"):
            grant_extension(policy, 2, 20, 10)
        with pytest.raises(ExtensionRefused, match="10 working days"):
            grant_extension(policy, 0, 0, 5)

    def test_no_extension_for_emergency_or_immediate_or_zero_days(self) -> None:
        with pytest.raises(ExtensionRefused):
            grant_extension(policy_for(OrderType.FIRE, Urgency.NORMAL), 0, 0, 1)
        with pytest.raises(ExtensionRefused):
            grant_extension(policy_for(OrderType.HELP, Urgency.IMMEDIATE), 0, 0, 1)
        with pytest.raises(ExtensionRefused):
            grant_extension(policy_for(OrderType.HELP, Urgency.NORMAL), 0, 0, 0)


class TestCalendarBeyondThePackage:
    """chinese-calendar 1.11 stops at 2026; admins supply later years, the rules predict them."""

    def test_unknown_year_falls_back_to_weekdays_and_is_provisional(self) -> None:
        due = add_working_days(date(2027, 1, 1), 1, CAL)  # Fri -> Mon
        assert due == DueDate(date(2027, 1, 4), provisional=True)

    def test_new_year_2027_is_not_a_working_day(self) -> None:
        # Thu Dec 31 2026 (known) + 1: Fri Jan 1 2027 is 元旦, so Mon Jan 4
        due = due_date(date(2026, 12, 31), OrderType.CONSULTATION, Urgency.NORMAL, CAL)
        assert due == DueDate(date(2027, 1, 4), provisional=True)

    def test_complaint_from_mid_january_2027_skips_the_spring_festival(self) -> None:
        # 2027: 除夕 Fri Feb 5, 初一~初三 Sat Feb 6 - Mon Feb 8, made up Tue 9 and Wed 10 for the
        # weekend. From Fri Jan 15: Jan 18-22 (5), Jan 25-29 (10), Feb 1-4 (14), Feb 11 (15).
        # Counted Monday to Friday it fell due on 除夕 itself.
        due = due_date(date(2027, 1, 15), OrderType.COMPLAINT, Urgency.NORMAL, CAL)
        assert due == DueDate(date(2027, 2, 11), provisional=True)

    def test_complaint_registered_after_the_new_year_runs_past_the_festival_week(self) -> None:
        # From Mon Jan 25: Jan 26-29 (4), Feb 1-4 (8), Feb 11-12 (10), Feb 15-19 (15)
        due = due_date(date(2027, 1, 25), OrderType.COMPLAINT, Urgency.NORMAL, CAL)
        assert due == DueDate(date(2027, 2, 19), provisional=True)

    def test_predicted_days_off_in_2027_and_weekends_stay_off(self) -> None:
        off = [date(2027, 4, 5), date(2027, 5, 3), date(2027, 6, 9), date(2027, 9, 15),
               date(2027, 10, 4), date(2027, 10, 5), date(2027, 2, 13)]  # fmt: skip
        assert not any(CAL.is_workday(d) for d in off)
        assert CAL.is_workday(date(2027, 4, 6)) and CAL.is_workday(date(2027, 10, 6))
        assert not CAL.knows(date(2027, 4, 5))

    def test_a_published_year_is_counted_without_predictions(self) -> None:
        # the admin's schedule moves the make-up day of Dragon Boat 2028 (Sun May 28) to Fri
        # May 26: the rule's Monday May 29 is then a working day
        days = {date(2028, 5, 26): False, date(2028, 5, 28): False}
        cal = ChineseWorkCalendar(days, published_years={2028})
        assert cal.knows(date(2028, 5, 29)) and cal.is_workday(date(2028, 5, 29))
        assert not cal.is_workday(date(2028, 5, 26))
        assert not CAL.is_workday(date(2028, 5, 29)) and CAL.is_workday(date(2028, 5, 26))

    def test_counting_into_an_unknown_year_is_provisional(self) -> None:
        due = due_date(date(2026, 12, 24), OrderType.COMPLAINT, Urgency.NORMAL, CAL)
        assert due is not None and due.provisional

    def test_admin_days_win_and_publishing_makes_the_year_known(self) -> None:
        # a made-up 2027 New Year: Jan 1-3 off, Sat Jan 2 a working day
        days = {date(2027, 1, 1): False, date(2027, 1, 2): True}
        cal = ChineseWorkCalendar(days)
        assert add_working_days(date(2026, 12, 31), 1, cal) == DueDate(date(2027, 1, 2), True)
        cal = ChineseWorkCalendar(days, published_years={2027})
        assert add_working_days(date(2026, 12, 31), 1, cal) == DueDate(date(2027, 1, 2), False)

    def test_one_entered_day_keeps_the_other_predicted_holidays_and_the_year_unknown(
        self,
    ) -> None:
        # an admin enters one adjusted working Saturday of 2027, and nothing else yet
        cal = ChineseWorkCalendar({date(2027, 2, 20): True})
        assert cal.is_workday(date(2027, 2, 20))
        spring_festival = [date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9)]  # 除夕, 初三, 补假
        assert not any(cal.is_workday(d) for d in [date(2027, 1, 1), *spring_festival])
        assert not cal.knows(date(2027, 1, 1)) and not cal.knows(date(2027, 2, 20))
        due = due_date(date(2027, 1, 15), OrderType.COMPLAINT, Urgency.NORMAL, cal)
        assert due == DueDate(date(2027, 2, 11), provisional=True)

    def test_overrides_also_correct_known_years(self) -> None:
        cal = ChineseWorkCalendar({date(2025, 3, 4): False})
        assert add_working_days(date(2025, 3, 3), 1, cal).day == date(2025, 3, 5)
        assert cal.knows(date(2025, 3, 4)) and not CAL.knows(date(2027, 6, 1))
