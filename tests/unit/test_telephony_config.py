"""The telephony document: seeded from the settings, applied back onto them unchanged, checked
as a whole with every bad field named, its secrets masked and kept when sent back masked."""

from __future__ import annotations

from typing import Any

import pytest

from config.settings import SettingsError, load_settings
from config.telephony_config import (
    MASK,
    DocumentInvalid,
    document_from,
    masked_json,
    parse_document,
    settings_with,
    stored_json,
    unmask,
)

AGENT_SECRET = "agent-1002-digest-pass"
TRUNK_SECRET = "police-trunk-password"


def _settings_data() -> dict[str, Any]:
    return stored_json(document_from(load_settings(environ={})))


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(data)
    return {p.field: p.message for p in caught.value.problems}


def test_the_settings_round_trip_through_the_document() -> None:
    settings = load_settings(environ={}, overrides={
        "centre": {"more_inbound_numbers": ["96345"]},
        "overflow": [{"queue": "hotline", "skill": "overflow"}],
        "hours": {"weekly": {"mon": [{"start": "08:00", "end": "18:00"}]}},
        "nuisance": [{"number": "13800138000", "reason": "骚扰"}],
    })  # fmt: skip
    assert settings_with(settings, document_from(settings)) == settings
    assert document_from(settings).inbound_numbers == ("12345", "96345")
    assert parse_document(stored_json(document_from(settings))) == document_from(settings)


def test_settings_with_applies_the_document_onto_the_infrastructure() -> None:
    settings = load_settings(environ={})
    data = _settings_data()
    data["inbound_numbers"] = ["12345", "96345"]
    data["queues"][0]["wrapup_s"] = 42
    applied = settings_with(settings, parse_document(data))
    assert applied.centre.inbound_number == "12345"
    assert applied.centre.more_inbound_numbers == ("96345",)
    assert applied.queues[0].wrapup_s == 42
    assert (applied.ami, applied.sip, applied.database) == (
        settings.ami, settings.sip, settings.database)  # fmt: skip


def test_settings_with_refuses_a_document_the_infrastructure_cannot_run() -> None:
    settings = load_settings(
        environ={"HOTLINE_EXCHANGE__PEERS__110__URL": "http://127.0.0.1:8091/x"}
    )
    data = _settings_data()
    del data["trunks"]["police"]
    with pytest.raises(SettingsError, match=r"exchange\.peers\.110"):
        settings_with(settings, parse_document(data))


def test_a_queue_naming_a_skill_no_agent_has() -> None:
    data = _settings_data()
    data["queues"][1]["skill"] = "xyz"
    assert _problems(data) == {"queues.1.skill": '未知技能 "xyz"：没有坐席具备此技能'}


def test_an_emergency_trunk_without_a_backup() -> None:
    data = _settings_data()
    data["trunks"]["fire"]["backup"] = None
    data["trunks"]["city"] = {"number": "96100", "primary": "127.0.0.1:5090"}  # not emergency
    assert _problems(data) == {"trunks.fire.backup": "紧急线路 119 必须配置备用线路"}


def test_duplicate_extensions_across_agents_colleagues_and_inbound_numbers() -> None:
    data = _settings_data()
    data["agents"][1]["extension"] = "1001"
    data["colleagues"] = [{"extension": "12345", "name": "水务局值班室",
                           "contact": "sip:8001@127.0.0.1:5091"}]  # fmt: skip
    data["inbound_numbers"] = ["12345", "1003"]
    problems = _problems(data)
    assert set(problems) == {"agents.1.extension", "agents.2.extension",
                             "colleagues.0.extension"}  # fmt: skip
    assert problems["agents.1.extension"] == '号码 "1001" 重复（已用于 agents.0.extension）'
    assert problems["agents.2.extension"] == '号码 "1003" 重复（已用于 inbound_numbers.1）'


def test_an_ivr_choice_to_an_unknown_queue() -> None:
    data = _settings_data()
    data["ivr"]["queues"]["help"] = "nowhere"
    assert _problems(data) == {"ivr.queues.help": '未知队列 "nowhere"'}


def test_overflow_thresholds_must_not_be_inverted() -> None:
    data = _settings_data()
    data["overflow"] = [{"queue": "hotline", "skill": "overflow", "start_wait_s": 30,
                         "start_waiting": 3, "stop_wait_s": 30, "stop_waiting": 5}]  # fmt: skip
    problems = _problems(data)
    assert set(problems) == {"overflow.0.stop_wait_s", "overflow.0.stop_waiting"}
    assert "必须小于启动阈值（30 秒）" in problems["overflow.0.stop_wait_s"]
    data["overflow"][0].update(stop_wait_s=10, stop_waiting=0)
    assert parse_document(data).overflow[0].stop_wait_s == 10


def test_overflow_seats_must_exist() -> None:
    data = _settings_data()
    data["overflow"] = [{"queue": "nope", "extensions": ["1999"]}, {"queue": "hotline"}]
    assert _problems(data) == {
        "overflow.0.queue": '未知队列 "nope"',
        "overflow.0.extensions.0": '未知坐席分机 "1999"',
        "overflow.1": "请指定支援席位：技能（skill）或分机（extensions）",
    }


def test_a_nuisance_number_that_is_not_digits() -> None:
    data = _settings_data()
    data["nuisance"] = [
        {"number": "1380013800a", "reason": "反复骚扰"},
        {"number": "13800138000", "reason": "辱骂坐席", "until": "2026-12-31T00:00:00+08:00"},
    ]
    problems = _problems(data)
    assert set(problems) == {"nuisance.0.number"}
    assert "只能是 3 到 20 位数字" in problems["nuisance.0.number"]
    data["nuisance"][0]["number"] = "13800138000"
    assert _problems(data) == {
        "nuisance.1.number": '号码 "13800138000" 重复（已用于 nuisance.0.number）'
    }


def test_a_nuisance_entry_until_a_naive_time_is_refused() -> None:
    data = _settings_data()
    data["nuisance"] = [{"number": "13800138000", "reason": "x", "until": "2026-12-31T00:00"}]
    assert set(_problems(data)) == {"nuisance.0.until"}


def test_working_hours_and_the_duty_group() -> None:
    data = _settings_data()
    data["hours"] = {
        "weekly": {"mon": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}],
                   "tue": [{"start": "18:00", "end": "08:00"}]},
        "duty_group": {"extensions": ["1001", "7777"], "user_ids": [3]},
    }  # fmt: skip
    problems = _problems(data)
    assert set(problems) == {"hours.weekly.tue.0"}
    assert "结束时间必须晚于开始时间" in problems["hours.weekly.tue.0"]
    data["hours"]["weekly"]["tue"] = [{"start": "08:00", "end": "18:00"}]
    assert set(_problems(data)) == {"hours.weekly.mon.1", "hours.duty_group.extensions.1"}


def test_penalties_name_the_agents_own_skills() -> None:
    data = _settings_data()
    data["agents"][0]["penalties"] = {"general": 1, "complaint": 2}
    assert set(_problems(data)) == {"agents.0.penalties.complaint"}


def test_every_problem_is_reported_at_once() -> None:
    data = _settings_data()
    data["queues"][0]["skill"] = "xyz"
    data["trunks"]["police"]["backup"] = None
    data["queues"][1]["ring_timeout_s"] = 1  # a field's own range
    assert set(_problems(data)) == {"queues.1.ring_timeout_s"}  # fields first, then the whole
    data["queues"][1]["ring_timeout_s"] = 15
    assert set(_problems(data)) == {"queues.0.skill", "trunks.police.backup"}


def _with_secrets() -> dict[str, Any]:
    data = _settings_data()
    data["agents"][1]["sip_password"] = AGENT_SECRET
    data["trunks"]["police"].update(username="hotline", password=TRUNK_SECRET)
    return data


def test_secrets_are_masked_and_a_generated_one_shows_empty() -> None:
    shown = masked_json(parse_document(_with_secrets()))
    assert shown["agents"][1]["sip_password"] == MASK
    assert shown["agents"][0]["sip_password"] == ""
    assert shown["trunks"]["police"]["password"] == MASK
    assert AGENT_SECRET not in str(shown) and TRUNK_SECRET not in str(shown)


def test_a_mask_sent_back_keeps_the_stored_secret_of_the_same_agent() -> None:
    stored = parse_document(_with_secrets())
    edited = masked_json(stored)
    edited["agents"].reverse()  # matched by extension, not by place
    edited["queues"][0]["wrapup_s"] = 9
    document = parse_document(unmask(edited, stored))
    by_extension = {a.extension: a.sip_password.get_secret_value() for a in document.agents}
    assert by_extension["1002"] == AGENT_SECRET and by_extension["1001"] == ""
    assert document.trunks["police"].password is not None
    assert document.trunks["police"].password.get_secret_value() == TRUNK_SECRET


def test_a_mask_with_no_stored_secret_is_refused() -> None:
    stored = parse_document(_settings_data())
    edited = masked_json(stored)
    new = {"extension": "1005", "name": "新坐席", "skills": ["general"],
           "contact": "sip:1005@127.0.0.1:5075", "sip_password": MASK}  # fmt: skip
    edited["agents"].append(new)
    with pytest.raises(DocumentInvalid) as caught:
        unmask(edited, stored)
    assert [p.field for p in caught.value.problems] == ["agents.4.sip_password"]


def test_a_moved_trunk_sent_with_the_mask_must_retype_its_password() -> None:
    stored = parse_document(_with_secrets())
    for leg, far_end in (("primary", "127.0.0.1:5091"), ("backup", "127.0.0.2:5082")):
        edited = masked_json(stored)
        edited["trunks"]["police"][leg] = far_end
        with pytest.raises(DocumentInvalid) as caught:
            unmask(edited, stored)
        assert [p.field for p in caught.value.problems] == ["trunks.police.password"]
        assert "中继地址已改" in caught.value.problems[0].message


def test_a_document_missing_sections_is_refused_with_each_named() -> None:
    data = _settings_data()
    partial = {name: data[name] for name in ("agents", "queues", "trunks")}
    missing = ("inbound_numbers", "outbound", "colleagues", "ivr", "overflow", "hours", "nuisance")
    assert _problems(partial) == {name: "缺少此部分：文档须包含全部配置部分" for name in missing}


OUTBOUND = {"primary": "127.0.0.1:5091", "backup": "127.0.0.1:5092", "caller_id": "96123"}
OUTBOUND_SECRET = "outbound-trunk-password"


def test_the_outbound_trunk_is_in_the_document_and_runs() -> None:
    settings = load_settings(environ={}, overrides={"outbound": OUTBOUND})
    assert stored_json(document_from(settings))["outbound"]["caller_id"] == "96123"
    assert settings_with(settings, document_from(settings)) == settings
    data = _settings_data()
    assert data["outbound"] is None  # none configured: the centre calls nobody back
    data["outbound"] = {**OUTBOUND, "dial_timeout_s": 20}
    applied = settings_with(load_settings(environ={}), parse_document(data))
    assert applied.outbound is not None and applied.outbound.dial_timeout_s == 20


def test_an_outbound_trunk_may_go_without_a_backup_but_not_with_its_primary_again() -> None:
    data = _settings_data()
    data["outbound"] = {"primary": "127.0.0.1:5091"}
    assert parse_document(data).outbound is not None
    data["outbound"]["backup"] = "127.0.0.1:5091"
    data["outbound"]["dial_timeout_s"] = 1
    assert _problems(data) == {"outbound.dial_timeout_s": "不能小于 3"}
    data["outbound"]["dial_timeout_s"] = 10
    assert _problems(data) == {"outbound.backup": "备用线路不能与主用线路相同"}


def test_the_outbound_password_is_masked_and_kept_unless_the_trunk_moved() -> None:
    data = _settings_data()
    data["outbound"] = {**OUTBOUND, "username": "centre", "password": OUTBOUND_SECRET}
    stored = parse_document(data)
    shown = masked_json(stored)
    assert shown["outbound"]["password"] == MASK and OUTBOUND_SECRET not in str(shown)
    kept = parse_document(unmask(shown, stored)).outbound
    assert kept is not None and kept.password is not None
    assert kept.password.get_secret_value() == OUTBOUND_SECRET
    shown["outbound"]["backup"] = "127.0.0.1:5093"
    with pytest.raises(DocumentInvalid) as caught:
        unmask(shown, stored)
    assert [p.field for p in caught.value.problems] == ["outbound.password"]
    none_stored = parse_document(_settings_data())
    with pytest.raises(DocumentInvalid):  # a MASK for an outbound trunk that had none
        unmask({**masked_json(none_stored), "outbound": shown["outbound"]}, none_stored)
