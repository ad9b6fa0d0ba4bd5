"""Secrets: an empty one is generated once into the state directory (owner only) and kept;
a configured one wins; a stored file others can read is refused."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from redis.asyncio import Redis

from agent_gateway.edge.__main__ import main as gateway_main
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from config.secrets import resolve_secrets
from config.settings import Settings, SettingsError, load_settings


def _settings(state: Path, **environ: str) -> Settings:
    return load_settings(environ={"HOTLINE_PATHS__STATE_DIR": str(state), **environ})


def _values(s: Settings) -> dict[str, str]:
    values = {
        "ami": s.ami.secret.get_secret_value(),
        "gateway": s.gateway.secret.get_secret_value(),
        "redis": s.redis.password.get_secret_value(),
    }
    values.update({f"sip-{a.extension}": a.sip_password.get_secret_value() for a in s.agents})
    return values


def test_the_packaged_settings_ship_no_secret() -> None:
    assert set(_values(load_settings(environ={})).values()) == {""}


def test_missing_secrets_are_generated_privately_once_and_kept(tmp_path: Path) -> None:
    first = _values(resolve_secrets(_settings(tmp_path)))
    assert set(first) == {"ami", "gateway", "redis", "sip-1001", "sip-1002", "sip-1003", "sip-1901"}
    assert all(len(v) >= 32 for v in first.values())
    assert len(set(first.values())) == len(first)  # each its own
    directory = tmp_path / "secrets"
    assert directory.stat().st_mode & 0o777 == 0o700
    for name, value in first.items():
        path = directory / name
        assert path.stat().st_mode & 0o777 == 0o600, name
        assert path.read_text().strip() == value
    assert _values(resolve_secrets(_settings(tmp_path))) == first  # a restart keeps them


def test_a_configured_secret_wins_over_a_generated_one(tmp_path: Path) -> None:
    generated = _values(resolve_secrets(_settings(tmp_path)))
    mine = "my-own-ami-secret-0123456789"
    again = _values(resolve_secrets(_settings(tmp_path, HOTLINE_AMI__SECRET=mine)))
    assert again == {**generated, "ami": mine}


def test_an_external_redis_gets_no_generated_password(tmp_path: Path) -> None:
    s = resolve_secrets(_settings(tmp_path, HOTLINE_REDIS__URL="redis://:pw@127.0.0.1:7000/0"))
    assert s.redis.password.get_secret_value() == ""
    assert not (tmp_path / "secrets" / "redis").exists()


def test_a_stored_secret_others_can_read_is_refused(tmp_path: Path) -> None:
    resolve_secrets(_settings(tmp_path))
    (tmp_path / "secrets" / "gateway").chmod(0o644)
    with pytest.raises(SettingsError, match="gateway"):
        resolve_secrets(_settings(tmp_path))


def test_a_stored_placeholder_secret_is_refused(tmp_path: Path) -> None:
    resolve_secrets(_settings(tmp_path))
    (tmp_path / "secrets" / "gateway").write_text("change-me-in-env\n", encoding="ascii")
    with pytest.raises(SettingsError, match=r"gateway.*published placeholder"):
        resolve_secrets(_settings(tmp_path))


def test_the_standalone_gateway_refuses_the_placeholder_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("X", "change-me-in-env")  # exactly 16 characters: long enough
    with pytest.raises(SystemExit) as exited:
        gateway_main(["--redis-url", "redis://127.0.0.1:1/0", "--secret-env", "X"])
    assert "X" in str(exited.value.code)
    assert "published placeholder" in str(exited.value.code)


def test_the_standalone_gateway_refuses_a_stored_placeholder(tmp_path: Path) -> None:
    resolve_secrets(_settings(tmp_path))
    (tmp_path / "secrets" / "gateway").write_text("change-me-in-env\n", encoding="ascii")
    with pytest.raises(SystemExit, match="published placeholder"):
        gateway_main(["--redis-url", "redis://127.0.0.1:1/0", "--state-dir", str(tmp_path)])


@pytest.mark.parametrize("secret", [b"change-me-in-env", b"short"])
def test_the_gateway_server_refuses_a_weak_secret(secret: bytes) -> None:
    with pytest.raises(ValueError, match="ticket secret"):
        GatewayServer(
            cast(Bus, None), cast(Redis, None), host="127.0.0.1", port=0,
            secret=secret, allowed_origins=(),
        )  # fmt: skip
