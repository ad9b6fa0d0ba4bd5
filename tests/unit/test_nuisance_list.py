"""The nuisance list's matching: the forms one number arrives in, entries that expired, caller
IDs that are no phone number; and the IVR's screen over it (logged, the number masked)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from config.nuisance_list import listed, national_number, why_no_number
from config.telephony_sections import NuisanceNumber
from hotline_cli.nuisance_screen import NuisanceScreen

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MOBILE = "13800138000"
LANDLINE = "037912345678"  # Luoyang, with its area code


def entry(number: str = MOBILE, until: datetime | None = None) -> NuisanceNumber:
    return NuisanceNumber(number=number, reason="多次辱骂话务员", until=until)


@pytest.mark.parametrize(
    ("caller_id", "expected"),
    [
        (MOBILE, MOBILE),
        ("+8613800138000", MOBILE),
        ("008613800138000", MOBILE),
        ("8613800138000", MOBILE),
        ("013800138000", MOBILE),  # a trunk's 0 before a mobile
        ("+86 138-0013-8000", MOBILE),
        (" 13800138000 ", MOBILE),
        (LANDLINE, LANDLINE),
        ("+8637912345678", LANDLINE),
        ("008637912345678", LANDLINE),
        ("(0379) 1234-5678", LANDLINE),
        ("01012345678", "01012345678"),  # Beijing's 010 is not a 0 before a mobile
        ("+14155550123", "0014155550123"),  # abroad: 00 and the country code
        ("12345", "12345"),
    ],
)
def test_one_number_in_the_forms_carriers_send(caller_id: str, expected: str) -> None:
    assert national_number(caller_id) == expected


@pytest.mark.parametrize(
    "caller_id",
    [
        "",
        "unknown",  # Asterisk's agi_callerid when there is none
        "anonymous",
        "12",
        "1380013800O",  # a letter O
        "１３８００１３８０００",  # full-width digits
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits
        "13800138000\x00",
        "13800138000\r\nVERBOSE x",
        "13800138000;x",
        "++8613800138000",
        "+",
        "9" * 5000,
        "1" * 33,
        '"; EXEC Dial(PJSIP/evil)',
    ],
)
def test_a_caller_id_that_is_no_phone_number_matches_nothing(caller_id: str) -> None:
    assert national_number(caller_id) is None
    assert listed([entry(), entry("1" * 20)], caller_id, NOW) is None


@pytest.mark.parametrize(
    ("caller_id", "why"),
    [
        (MOBILE, None),
        ("+86 138-0013-8000", None),
        ("", "empty"),
        ("  ", "empty"),
        ("anonymous", "withheld"),
        ("Unknown", "withheld"),
        ("9" * 80, "longer than 32 characters"),
        ("139\x7f0000\t0302", "control characters"),
        ("139\u20280303", "control characters"),
        ("139\x00", "control characters"),
        ("１３９００００", "non-ASCII characters"),  # full-width digits
        ("12", "too few or too many digits"),
        ("1'OR'1'='1--", "letters or symbols"),
        ("<script>alert(1)</script>", "letters or symbols"),
        ("1390000%s%n", "letters or symbols"),
    ],
)
def test_what_is_wrong_with_a_caller_id_in_words_a_log_may_say(
    caller_id: str, why: str | None
) -> None:
    assert why_no_number(caller_id) == why


def test_the_screen_logs_what_was_wrong_with_a_caller_id_never_the_caller_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hotline_cli.nuisance_screen")
    screen = NuisanceScreen([entry()], clock=lambda: NOW)
    hostile = "<script>13800138000</script>"
    assert screen(hostile, "1700000000.11") is False
    assert screen("anonymous", "1700000000.12") is False
    bad, withheld = caplog.records
    assert (bad.levelno, withheld.levelno) == (logging.WARNING, logging.INFO)
    assert "'1700000000.11'" in bad.message and "letters or symbols" in bad.message
    assert f"{len(hostile)} characters" in bad.message
    assert "script" not in bad.message and "8000" not in bad.message
    assert "'1700000000.12'" in withheld.message and "withheld" in withheld.message


def test_a_listed_number_in_another_form_is_refused() -> None:
    mobile, landline = entry(), entry(LANDLINE)
    assert listed([mobile, landline], "+8613800138000", NOW) == mobile
    assert listed([mobile, landline], "+8637912345678", NOW) == landline
    # the list's own entry written with a prefix matches the bare caller ID too
    prefixed = entry("008613800138000")
    assert listed([prefixed], MOBILE, NOW) == prefixed


def test_an_unlisted_caller_is_not_refused() -> None:
    assert listed([entry(), entry(LANDLINE)], "13800138001", NOW) is None
    assert listed([entry()], "3800138000", NOW) is None  # a part of a listed number
    assert listed([], MOBILE, NOW) is None


def test_until_not_passed_refuses_until_passed_does_not() -> None:
    assert listed([entry(until=None)], MOBILE, NOW) is not None  # until removed
    assert listed([entry(until=NOW + timedelta(seconds=1))], MOBILE, NOW) is not None
    assert listed([entry(until=NOW)], MOBILE, NOW) is None  # its time has come
    assert listed([entry(until=NOW - timedelta(days=1))], MOBILE, NOW) is None


def test_an_expired_entry_does_not_hide_a_live_one_for_the_same_number() -> None:
    live = entry("008613800138000", until=NOW + timedelta(days=7))
    assert listed([entry(until=NOW - timedelta(days=1)), live], MOBILE, NOW) == live


def test_the_screen_logs_a_refusal_with_the_number_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hotline_cli.nuisance_screen")
    screen = NuisanceScreen([entry(until=NOW + timedelta(days=1))], clock=lambda: NOW)
    assert screen("+8613800138000", "1700000000.9") is True
    [record] = caplog.records
    assert "1700000000.9" in record.message and "138****8000" in record.message
    assert "多次辱骂话务员" in record.message
    assert MOBILE not in record.message and "8613800138000" not in record.message
    caplog.clear()
    assert screen("13800138001", "1700000000.10") is False
    assert not caplog.records  # nothing logged of a caller let through


def test_the_screen_reads_the_entries_it_holds_now() -> None:
    screen = NuisanceScreen([], clock=lambda: NOW)
    assert screen(MOBILE, "1.1") is False
    screen.entries = [entry()]  # what `follow` does when a change is applied live
    assert screen(MOBILE, "1.2") is True
    later = NuisanceScreen([entry(until=NOW + timedelta(hours=1))],
                           clock=lambda: NOW + timedelta(hours=2))  # fmt: skip
    assert later(MOBILE, "1.3") is False
