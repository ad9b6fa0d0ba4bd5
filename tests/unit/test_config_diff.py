"""The diff between two telephony documents: by key, not by place; secrets masked; one line."""

from __future__ import annotations

from typing import Any

from config.config_diff import diff, summary
from config.settings import load_settings
from config.telephony_config import (
    MASK,
    TelephonyConfig,
    document_from,
    parse_document,
    stored_json,
)


def _data() -> dict[str, Any]:
    return stored_json(document_from(load_settings(environ={})))


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(c.path, c.old, c.new) for c in diff(parse_document(old), parse_document(new))]


def test_reordered_agents_and_queues_are_no_change() -> None:
    old, new = _data(), _data()
    new["agents"].reverse()
    new["queues"].reverse()
    assert _changes(old, new) == []
    assert summary([]) == "无改动"


def test_changes_are_named_by_key() -> None:
    old, new = _data(), _data()
    new["agents"].reverse()
    new["agents"][0]["skills"] = ["overflow", "complaint"]  # 1901, now first
    new["queues"][1]["strategy"] = "ringall"  # complaint
    new["trunks"]["police"]["primary"] = "127.0.0.1:5091"
    assert _changes(old, new) == [
        ("agents[1901].skills", ["overflow"], ["overflow", "complaint"]),
        ("queues[complaint].strategy", "leastrecent", "ringall"),
        ("trunks.police.primary", "127.0.0.1:5081", "127.0.0.1:5091"),
    ]


def test_added_and_removed_items() -> None:
    old, new = _data(), _data()
    removed = new["agents"].pop(0)
    added = {"extension": "1005", "name": "新坐席", "skills": ["general"],
             "contact": "sip:1005@127.0.0.1:5075"}  # fmt: skip
    new["agents"].append(added)
    new["nuisance"] = [{"number": "13800138000", "reason": "骚扰"}]
    changes = _changes(old, new)
    assert [(path, o is None, n is None) for path, o, n in changes] == [
        ("agents[1001]", False, True),
        ("agents[1005]", True, False),
        ("nuisance[13800138000]", True, False),
    ]
    assert changes[0][1]["name"] == removed["name"] == "王芳"
    assert changes[1][2]["name"] == "新坐席"
    line = summary(diff(parse_document(old), parse_document(new)))
    assert line == "改动 3 处：agents[1001] 删除、agents[1005] 新增、nuisance[13800138000] 新增"


def test_a_changed_secret_shows_masked() -> None:
    old, new = _data(), _data()
    old["agents"][1]["sip_password"] = "first-secret-of-1002"
    new["agents"][1]["sip_password"] = "second-secret-of-1002"
    new["agents"][2]["sip_password"] = "a-new-secret-for-1003"
    assert _changes(old, new) == [
        ("agents[1002].sip_password", MASK, MASK),
        ("agents[1003].sip_password", "", MASK),
    ]


def test_a_long_summary_names_the_first_paths() -> None:
    old, new = _data(), _data()
    for queue in new["queues"]:
        queue.update(wrapup_s=9, ring_timeout_s=20, service_level_s=20)
    changes = diff(parse_document(old), parse_document(new))
    assert len(changes) == 6
    assert summary(changes) == (
        "改动 6 处：queues[hotline].ring_timeout_s、queues[hotline].wrapup_s、"
        "queues[hotline].service_level_s、queues[complaint].ring_timeout_s 等 6 处"
    )


def test_an_empty_document_diffs_against_the_seed() -> None:
    changes = diff(TelephonyConfig(), parse_document(_data()))
    assert {c.path for c in changes} >= {"agents[1001]", "queues[hotline]", "trunks.police"}


def test_the_outbound_trunk_added_changed_and_its_password_masked() -> None:
    old, new = _data(), _data()
    new["outbound"] = {"primary": "127.0.0.1:5091"}
    (path, was, now), *rest = _changes(old, new)
    assert (path, was, now["primary"], rest) == ("outbound", None, "127.0.0.1:5091", [])
    assert summary(diff(parse_document(old), parse_document(new))) == "改动 1 处：outbound 新增"
    credentials = {"username": "c", "password": "first-outbound-pass-1"}
    old = {**new, "outbound": {**new["outbound"], **credentials}}
    moved = {"backup": "127.0.0.1:5092", "password": "second-outbound-pass-2"}
    new = {**new, "outbound": {**old["outbound"], **moved}}
    assert _changes(old, new) == [
        ("outbound.backup", None, "127.0.0.1:5092"),
        ("outbound.password", MASK, MASK),
    ]
