"""Reading an AMI message's headers, and the error for one that lacks what we need (pure).

Shared by the translation of events (`events.py`) and of list items (`list_items.py`).
"""

from __future__ import annotations

from collections.abc import Mapping


class MalformedEvent(ValueError):
    """An AMI event lacked a header or held a value we cannot read."""


def required(headers: Mapping[str, str], key: str) -> str:
    value = headers.get(key)
    if value is None:
        raise MalformedEvent(f"{headers.get('Event', '?')} without {key}")
    return value


def integer(headers: Mapping[str, str], key: str, default: int = 0) -> int:
    value = headers.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise MalformedEvent(f"{headers.get('Event', '?')}: {key}={value[:40]!r}") from None


def timestamp(headers: Mapping[str, str]) -> float:
    value = required(headers, "Timestamp")
    try:
        return float(value)
    except ValueError:
        raise MalformedEvent(f"bad Timestamp {value[:40]!r}") from None


def known(value: str | None) -> str:
    """A caller ID header, "" for Asterisk's `<unknown>`."""
    return "" if value in (None, "<unknown>") else str(value)
