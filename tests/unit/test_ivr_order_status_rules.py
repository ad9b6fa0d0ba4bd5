"""The order-status self-service's pure decisions."""

from datetime import date

import pytest

from crm.domain.enums import Status
from hotline_cli.order_lookup import STAGES
from ivr.order_status_prompts import ORDER_STATUS_PROMPTS, STAGE_PROMPTS, chinese_number
from ivr.order_status_rules import (
    EntryKind,
    OrderFacts,
    Stage,
    identity_holds,
    offered,
    read_entry,
    readout,
    valid_order_digits,
    valid_phone_digits,
)

OWNER = "13800138000"
OPEN = OrderFacts(OWNER, False, Stage.HANDLING, date(2026, 3, 2), "市城管局", date(2026, 3, 20))
SECRET = OrderFacts(OWNER, True, Stage.HANDLING, date(2026, 3, 2), "市城管局", date(2026, 3, 20))


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("", EntryKind.NOTHING),  # timeout, or # alone
        ("0", EntryKind.AGENT),
        ("20260302000001", EntryKind.VALUE),
        ("*", EntryKind.AGAIN),
        ("2026*0302000001", EntryKind.AGAIN),
        ("1" * 24, EntryKind.AGAIN),  # GET DATA's cut of a longer run
        ("2026030200000", EntryKind.AGAIN),  # one short
        ("２０２６０３０２００００01", EntryKind.AGAIN),  # full-width digits are no keys
    ],
)
def test_what_an_order_entry_asks_for(raw: str, kind: EntryKind) -> None:
    assert read_entry(raw, valid_order_digits).kind is kind


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("20260302000001", True),
        ("20260230000001", False),  # no 30 February
        ("20261302000001", False),
        ("20260302000000", False),  # sequences start at 1
    ],
)
def test_order_digits_are_a_date_and_a_sequence(digits: str, ok: bool) -> None:
    assert valid_order_digits(digits) is ok


def test_phone_lengths() -> None:
    assert valid_phone_digits("1234567") and valid_phone_digits("008613800138000")
    assert not valid_phone_digits("123456") and not valid_phone_digits("1" * 21)


def test_caller_id_proves_an_order_that_is_not_confidential() -> None:
    assert identity_holds(OPEN, OWNER, None)
    assert not identity_holds(OPEN, "13900139000", None)
    assert identity_holds(OPEN, "13900139000", OWNER)  # another phone, number keyed
    assert not identity_holds(OPEN, None, "13900139000")


def test_a_confidential_order_needs_its_number_keyed_in() -> None:
    assert not identity_holds(SECRET, OWNER, None)
    assert not offered(SECRET, OWNER)
    assert identity_holds(SECRET, OWNER, OWNER)


def test_an_order_without_a_phone_is_never_read() -> None:
    nobody = OrderFacts("", False, Stage.CLOSED, date(2026, 3, 2))
    assert not identity_holds(nobody, "", "")
    assert not identity_holds(nobody, None, None)


def test_own_order_offered_only_to_its_phone() -> None:
    assert offered(OPEN, OWNER) is OPEN
    assert offered(OPEN, "13900139000") is None
    assert offered(None, OWNER) is None


def test_readout_of_an_order_in_hand() -> None:
    assert readout(OPEN, "hotline-os-unit-abc") == (
        "hotline-os-handling", "hotline-os-unit", "hotline-os-unit-abc",
        "hotline-os-due", "hotline-os-month-3", "hotline-os-day-20",
    )  # fmt: skip


def test_readout_without_unit_prompt_or_deadline() -> None:
    assert readout(OPEN, None) == (
        "hotline-os-handling", "hotline-os-due", "hotline-os-month-3", "hotline-os-day-20",
    )  # fmt: skip
    received = OrderFacts(OWNER, False, Stage.RECEIVED, date(2026, 3, 2), "", None)
    assert readout(received, None) == ("hotline-os-received",)
    closed = OrderFacts(OWNER, False, Stage.CLOSED, date(2026, 3, 2), "市城管局", date(2026, 3, 9))
    assert readout(closed, "u") == ("hotline-os-closed", "hotline-os-unit", "u")  # no deadline


def test_every_crm_status_has_a_stage_with_a_prompt() -> None:
    assert set(STAGES) == set(Status)
    assert set(STAGE_PROMPTS) == {str(s) for s in Stage}
    assert all(name in ORDER_STATUS_PROMPTS for name, _ in STAGE_PROMPTS.values())


@pytest.mark.parametrize(
    ("n", "said"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (31, "三十一")]
)
def test_numbers_of_dates(n: int, said: str) -> None:
    assert chinese_number(n) == said
