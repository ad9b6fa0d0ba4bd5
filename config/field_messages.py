"""The field checks' refusals in Chinese, for the admins who read them (the admin page, the
`hotline config` command): pydantic's own (a range, a pattern, a missing field) by their
error type; the models' own checks keep their message (most are Chinese already)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Ctx = Mapping[str, Any]

_NUMBER = "必须是整数"
_TIME = "时间格式不正确（如 08:30）"
_BY_TYPE: dict[str, Callable[[Ctx], str]] = {
    "missing": lambda _: "必填",
    "extra_forbidden": lambda _: "未知字段",
    "greater_than_equal": lambda c: f"不能小于 {c['ge']}",
    "less_than_equal": lambda c: f"不能大于 {c['le']}",
    "greater_than": lambda c: f"必须大于 {c['gt']}",
    "less_than": lambda c: f"必须小于 {c['lt']}",
    "int_type": lambda _: _NUMBER,
    "int_parsing": lambda _: _NUMBER,
    "int_from_float": lambda _: _NUMBER,
    "string_type": lambda _: "必须是文字",
    "string_pattern_mismatch": lambda c: f"格式不正确（应符合 {c['pattern']}）",
    "string_too_short": lambda c: f"至少 {c['min_length']} 个字符",
    "string_too_long": lambda c: f"最多 {c['max_length']} 个字符",
    "too_short": lambda c: f"至少 {c['min_length']} 项",
    "too_long": lambda c: f"最多 {c['max_length']} 项",
    "literal_error": lambda c: f"只能是 {c['expected']}",
    "bool_type": lambda _: "必须是 是/否",
    "bool_parsing": lambda _: "必须是 是/否",
    "list_type": lambda _: "必须是列表",
    "tuple_type": lambda _: "必须是列表",
    "dict_type": lambda _: "必须是键值表",
    "time_type": lambda _: _TIME,
    "time_parsing": lambda _: _TIME,
    "datetime_type": lambda _: "日期时间格式不正确",
    "datetime_parsing": lambda _: "日期时间格式不正确",
    "timezone_aware": lambda _: "日期时间须带时区",
}


def chinese(item: Mapping[str, Any]) -> str:
    """The message of one of pydantic's errors (`ValidationError.errors()` items)."""
    said = _BY_TYPE.get(str(item.get("type")))
    if said is not None:
        try:
            return said(item.get("ctx") or {})
        except KeyError:  # a ctx without the bound: say it as pydantic did
            pass
    return str(item["msg"]).removeprefix("Value error, ")
