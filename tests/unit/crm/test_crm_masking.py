"""Confidential callers are hidden from everyone but the centre."""

import pytest

from crm.domain.enums import Role
from crm.domain.masking import CallerView, caller_view, mask_name, mask_number


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_centre_roles_see_confidential_callers(role: Role) -> None:
    assert caller_view("张三丰", "13812345678", True, role) == CallerView("张三丰", "13812345678")


@pytest.mark.parametrize("role", [Role.HANDLER, None])
def test_handlers_and_logs_see_masked_confidential_callers(role: Role | None) -> None:
    assert caller_view("张三丰", "13812345678", True, role) == CallerView("张**", "138****5678")


@pytest.mark.parametrize("role", [*Role, None])
def test_ordinary_callers_are_not_masked(role: Role | None) -> None:
    assert caller_view("李四", "13812345678", False, role) == CallerView("李四", "13812345678")


@pytest.mark.parametrize(
    ("number", "masked"),
    [("", ""), ("110", "***"), ("5551234", "***1234"), ("02161234567", "021****4567")],
)
def test_mask_number_keeps_no_more_than_prefix_and_last_four(number: str, masked: str) -> None:
    assert mask_number(number) == masked


def test_mask_name_short_and_empty() -> None:
    assert mask_name("") == ""
    assert mask_name("王") == "王*"
    assert mask_name("欧阳娜娜") == "欧***"
