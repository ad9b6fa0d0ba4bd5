"""Hiding confidential callers (安全保密) from everyone outside the hotline centre.

One function decides, so API answers, CSV exports and log lines cannot disagree about who sees
a caller's name and number.
"""

from dataclasses import dataclass
from typing import Any

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


_CALLER_FIELDS = {"caller_name": mask_name, "caller_number": mask_number}


def mask_audit_detail(
    detail: dict[str, Any], confidential: bool, role: Role | None
) -> dict[str, Any]:
    """An audit entry's detail for `role`: a confidential caller's name and number masked
    wherever the trail records them (an amend's before/after values, or a field itself)."""
    if not confidential or sees_confidential(role):
        return detail
    masked = dict(detail)
    for name, mask in _CALLER_FIELDS.items():
        if isinstance(masked.get(name), str):
            masked[name] = mask(masked[name])
    changes = detail.get("changes")
    if isinstance(changes, dict):
        masked["changes"] = {field: _masked_values(field, v) for field, v in changes.items()}
    return masked


def _masked_values(field: str, values: Any) -> Any:
    mask = _CALLER_FIELDS.get(field)
    if mask is None or not isinstance(values, list):
        return values
    return [mask(v) if isinstance(v, str) else v for v in values]
