"""Order numbers have one stable, exchangeable format."""

from datetime import date

import pytest

from crm.domain.commands import Callback
from crm.domain.enums import Action, Satisfaction
from crm.domain.numbering import order_number


def test_format() -> None:
    assert order_number("SZ12345", date(2025, 10, 9), 42) == "SZ12345-20251009-000042"


@pytest.mark.parametrize(
    ("code", "seq"), [("sz", 1), ("S", 1), ("SZ-1", 1), ("SZ", 0), ("SZ", 10**6)]
)
def test_bad_code_or_sequence_is_refused(code: str, seq: int) -> None:
    with pytest.raises(ValueError):
        order_number(code, date(2025, 1, 1), seq)


@pytest.mark.parametrize(
    ("satisfaction", "action"),
    [
        (Satisfaction.SATISFIED, Action.CALLBACK),
        (Satisfaction.BASICALLY_SATISFIED, Action.CALLBACK),
        (Satisfaction.UNSATISFIED, Action.REWORK),
    ],
)
def test_unsatisfied_callback_means_rework(satisfaction: Satisfaction, action: Action) -> None:
    assert Callback(satisfaction).action is action
