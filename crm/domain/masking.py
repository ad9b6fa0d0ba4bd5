"""Hiding confidential callers (安全保密) from everyone outside the hotline centre.

One function decides, so API answers, CSV exports and log lines cannot disagree about who sees
a caller's name and number.
"""

from dataclasses import dataclass

from crm.domain.enums import CENTRE_ROLES, Role


@dataclass(frozen=True)
class CallerView:
    name: str
    number: str


def mask_name(name: str) -> str:
    """Keep the family name only: '张三丰' -> '张**'."""
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_number(number: str) -> str:
    """Keep the carrier prefix and last four digits: '13812345678' -> '138****5678'."""
    if len(number) <= 4:
        return "*" * len(number)
    if len(number) <= 7:
        return "*" * (len(number) - 4) + number[-4:]
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def sees_confidential(role: Role | None) -> bool:
    """Only the centre's own staff; `None` stands for logs and other anonymous readers."""
    return role in CENTRE_ROLES


def caller_view(name: str, number: str, confidential: bool, role: Role | None) -> CallerView:
    if not confidential or sees_confidential(role):
        return CallerView(name, number)
    return CallerView(mask_name(name), mask_number(number))
