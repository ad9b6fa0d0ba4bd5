"""The telephony document's field refusals read in Chinese by the admins, each at its field."""

from __future__ import annotations

from typing import Any

import pytest

from config.settings import load_settings
from config.telephony_config import DocumentInvalid, document_from, parse_document, stored_json


def _problems(change: dict[str, Any]) -> dict[str, str]:
    data = stored_json(document_from(load_settings(environ={})))
    data["queues"][0] |= change
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(data)
    return {p.field: p.message for p in caught.value.problems}


def test_pydantics_refusals_are_said_in_chinese_with_their_bounds() -> None:
    assert _problems({"ring_timeout_s": 200, "wrapup_s": -1, "service_level_s": "soon"}) == {
        "queues.0.ring_timeout_s": "不能大于 120",
        "queues.0.wrapup_s": "不能小于 0",
        "queues.0.service_level_s": "必须是整数",
    }
    problems = _problems({"strategy": "fastest", "name": "队列", "colour": "red"})
    assert problems["queues.0.strategy"].startswith("只能是 'ringall'")
    assert problems["queues.0.name"].startswith("格式不正确（应符合 ^[A-Za-z]")
    assert problems["queues.0.colour"] == "未知字段"


def test_a_models_own_check_keeps_its_message() -> None:
    data = stored_json(document_from(load_settings(environ={})))
    data["trunks"]["police"]["primary"] = "127.0.0.1"
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(data)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("trunks.police.primary", "'127.0.0.1' is not host:port")
    ]
