"""Settings load once, typed and frozen; a bad key stops start-up with its name in the message."""

from __future__ import annotations

import re
from pathlib import Path

import pydantic
import pytest

from config.settings import SEAT_PENALTY, Gateway, SettingsError, load_settings, parse_settings


def test_the_packaged_settings_load() -> None:
    s = load_settings(environ={})
    assert s.centre.inbound_number == "12345"
    assert {q.name for q in s.queues} == {"hotline", "complaint"}
    assert s.trunks["police"].number == "110" and s.trunks["police"].backup
    assert s.ivr.operator_queue == "hotline"


def test_settings_are_frozen() -> None:
    s = load_settings(environ={})
    with pytest.raises(pydantic.ValidationError):
        s.sip.port = 1


def test_environment_overrides_and_secret_stays_hidden() -> None:
    secret = "t0p-secret-of-the-env"
    s = load_settings(environ={"HOTLINE_AMI__SECRET": secret, "HOTLINE_SIP__PORT": "5099"})
    assert s.ami.secret.get_secret_value() == secret and s.sip.port == 5099
    assert secret not in repr(s) and secret not in str(s.model_dump())


def test_overflow_seats_get_the_fixed_overflow_penalty() -> None:
    s = load_settings(environ={})
    hotline = next(q for q in s.queues if q.name == "hotline")
    members = {a.extension: p for a, p in s.queue_members(hotline)}
    assert members == {"1001": 0, "1002": 0, "1003": 0, "1901": 100}


def test_agents_ring_by_their_own_penalty_and_overflow_seats_after_all_of_them() -> None:
    data = load_settings(environ={}).model_dump()
    data["agents"][1]["penalties"] = {"general": 2}  # 1002: general's last, complaint's first
    s = parse_settings(data)
    hotline, complaint = s.queues  # the packaged ones, in this order
    assert {a.extension: p for a, p in s.queue_members(hotline)} == {
        "1001": 0, "1002": 2, "1003": 0, "1901": 100}  # fmt: skip
    assert {a.extension: p for a, p in s.queue_members(complaint)}["1002"] == 0


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"sip": {"port": 70000}}, "sip.port"),
        ({"sip": {"host": "10.0.0.1"}}, "sip.host"),
        ({"ami": {"username": "bad user"}}, "ami.username"),
        ({"agentz": []}, "agentz"),
        (
            {"queues": [{"name": "q", "skill": "general", "strategy": "fastest"}]},
            "queues.0.strategy",
        ),
        (
            {"agents": [{"extension": "1x", "name": "a", "contact": "sip:1@127.0.0.1:5"}]},
            "agents.0.extension",
        ),
        (
            {"agents": [{"extension": "1001", "name": 'a"b', "contact": "sip:1@127.0.0.1:5"}]},
            "agents.0.name",
        ),
        (
            {"trunks": {"police": {"number": "110", "primary": "8.8.8.8:5060"}}},
            "trunks.police.primary",
        ),
        ({"ivr": {"queues": {"consult": "nowhere"}}}, "ivr.queues.consult"),
        (  # 99 is the threshold seats' (config.settings.SEAT_PENALTY)
            {
                "agents": [
                    {
                        "extension": "1001",
                        "name": "a",
                        "contact": "sip:1@127.0.0.1:5",
                        "penalties": {"general": SEAT_PENALTY},
                    }
                ]
            },
            "agents.0.penalties.general",
        ),
        ({"ivr": {"queues": {"sing": "hotline"}}}, "ivr.queues.sing"),
        ({"ami": {"port": 5060}}, "ami.port: 5060 is used twice"),
    ],
)
def test_bad_settings_name_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={}, overrides=overrides)
    assert key in str(err.value)


def test_a_settings_tree_is_validated_whole() -> None:
    with pytest.raises(SettingsError, match=r"agents\.0\.contact"):
        parse_settings({"agents": [{"extension": "1001", "name": "a", "contact": "tel:1"}]})


def test_unreadable_file_is_a_settings_error(tmp_path: Path) -> None:
    bad = tmp_path / "hotline.toml"
    bad.write_text("[sip\nport = ", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(bad, environ={})


def test_desktop_tickets_live_about_a_minute() -> None:
    """A leaked ticket (it travels in a URL) is worth a minute, once; the issue asks for it."""
    assert load_settings(environ={}).gateway.ticket_ttl_s <= 60
    assert Gateway().ticket_ttl_s <= 60  # also where a settings file says nothing


@pytest.mark.parametrize(
    ("key", "environ", "why"),
    [
        ("ami.secret", {"HOTLINE_AMI__SECRET": "change-me-in-env"}, "placeholder"),
        ("gateway.secret", {"HOTLINE_GATEWAY__SECRET": "change-me-in-env"}, "placeholder"),
        ("gateway.secret", {"HOTLINE_GATEWAY__SECRET": "short-secret"}, "shorter than 16"),
        ("redis.password", {"HOTLINE_REDIS__PASSWORD": "fifteen-chars!!"}, "shorter than 16"),
        ("ami.secret", {"HOTLINE_AMI__SECRET": "a long secret with blanks"}, "blanks"),
        ("ami.secret", {"HOTLINE_AMI__SECRET": "long-enough;but-a-comment"}, "';'"),
    ],
)
def test_placeholder_short_or_unrenderable_secrets_are_refused(
    key: str, environ: dict[str, str], why: str
) -> None:
    with pytest.raises(SettingsError, match=f"{re.escape(key)}: [^;]*{re.escape(why)}"):
        load_settings(environ=environ)


def test_a_placeholder_phone_password_is_refused() -> None:
    agent = {"extension": "1001", "name": "王芳", "contact": "sip:1001@127.0.0.1:5071",
             "sip_password": "change-me-in-env"}  # fmt: skip
    with pytest.raises(SettingsError, match=r"agents\.0\.sip_password: is a published placeholder"):
        parse_settings({"agents": [agent]})


def test_a_callback_offered_only_past_every_queue_s_longest_wait_is_refused() -> None:
    outbound = {"primary": "127.0.0.1:5091"}
    longest = max(q.max_wait_s for q in load_settings(environ={}, overrides={}).queues)
    with pytest.raises(SettingsError, match=r"callback\.offer_after_s"):
        load_settings(environ={}, overrides={"outbound": outbound,
                                             "callback": {"offer_after_s": longest}})  # fmt: skip
    offered = {"outbound": outbound, "callback": {"offer_after_s": longest - 1}}
    kept = load_settings(environ={}, overrides=offered)
    assert kept.callback.offer_after_s == longest - 1
    assert load_settings(environ={}, overrides={"callback": {"offer_after_s": longest}})  # no trunk


def test_a_callback_retried_sooner_than_30_s_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"callback\.retry_after_s"):
        load_settings(environ={}, overrides={"callback": {"retry_after_s": 29}})
    assert load_settings(environ={}, overrides={"callback": {"retry_after_s": 30}})
